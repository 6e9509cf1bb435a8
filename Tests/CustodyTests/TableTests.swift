import Testing

@testable import Custody

@Suite("Tables line up in terminal columns, whatever the script")
struct TableTests {
  /// The terminal column at which each line's last column (its last word) starts.
  static func lastColumnStarts(_ table: String) -> [Int] {
    table.split(separator: "\n").map { line in
      let last = line.split(separator: " ").last ?? ""
      return String(line.dropLast(last.count)).displayWidth
    }
  }

  @Test("wide characters and emoji count two columns, combining marks none")
  func widths() {
    #expect("NTH-000001".displayWidth == 10)
    #expect("法院".displayWidth == 4)
    #expect("📁".displayWidth == 2)
    #expect("👩‍⚖️".displayWidth == 2)
    #expect("e\u{301}".displayWidth == 1)
    #expect("Łódź".displayWidth == 4)
    #expect("محكمة".displayWidth == 5)
  }

  @Test("columns after wide text and emoji start at the same terminal column")
  func alignment() {
    let table = ResultWriter.table(
      header: ["where", "label"],
      rows: [["法院", "A-1"], ["court", "A-2"], ["📁 box", "A-3"], ["Café\u{301}", "A-4"]])
    let starts = Self.lastColumnStarts(table)
    #expect(starts.count == 5)
    #expect(Set(starts).count == 1, "\(table)")
  }

  @Test("a shrinking column cuts wide text at a column boundary and keeps the row within the width")
  func shrinking() {
    let long = String(repeating: "法", count: 30)
    let table = ResultWriter.table(header: ["label", "whereabouts"], rows: [["A-1", long]], width: 30, shrinking: 1)
    for line in table.split(separator: "\n") {
      #expect(String(line).displayWidth <= 30, "\(table)")
    }
    #expect(table.contains("…"))
  }
}
