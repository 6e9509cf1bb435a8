import CSV
import Foundation
import Postgres

/// One bad row of a register: its first line, the column at fault and what is wrong.
public struct ImportProblem: Sendable, Equatable {
  public let line: Int
  public let column: String
  public let problem: String

  public var text: String { "line \(line): \(column): \(problem)" }
}

/// What an import recorded (or, with problems or a dry run, would have).
public struct ImportOutcome: Sendable {
  public let rows: Int
  public let cases: Int
  public let files: Int
  public let problems: [ImportProblem]
}

/// A register kept elsewhere (RFC 4180, UTF-8, a header row), read into the custody API's staging
/// rows: every cell as text, with the line each record begins on. The rules are the API's; here
/// only what the text itself breaks (UTF-8, the number of cells) is a problem.
public struct Register {
  /// The columns of a register, in the order of `custody.import_row` after its line.
  public static let columns = [
    "case", "office", "law", "classification", "children_born", "practitioner", "label", "volume", "kind",
    "status", "secure_base", "holder", "whereabouts", "expected_return",
  ]
  static let required = ["case", "office", "law", "label"]

  let text: String
  let badLines: Set<Int>

  /// Decodes the bytes, keeping where they are not UTF-8 (each such byte reads as U+FFFD) and
  /// dropping a byte-order mark.
  public init(bytes: [UInt8]) {
    var start = 0
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
    var scalars = String.UnicodeScalarView()
    var bad = Set<Int>()
    var line = 1
    var index = start
    while index < bytes.count {
      let byte = bytes[index]
      if byte < 0x80 {
        if byte == 0x0A { line += 1 }
        scalars.append(Unicode.Scalar(byte))
        index += 1
        continue
      }
      let (scalar, length) = Self.decode(bytes, at: index)
      if let scalar {
        scalars.append(scalar)
      } else {
        bad.insert(line)
        scalars.append("\u{FFFD}")
      }
      index += length
    }
    text = String(scalars)
    badLines = bad
  }

  /// One multi-byte UTF-8 sequence at `index`: its scalar, or nil for a byte that begins none.
  static func decode(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar?, Int) {
    let first = bytes[index]
    let (length, minimum): (Int, UInt32) =
      switch first {
      case 0xC2...0xDF: (2, 0x80)
      case 0xE0...0xEF: (3, 0x800)
      case 0xF0...0xF4: (4, 0x10000)
      default: (0, 0)
      }
    guard length > 0, index + length <= bytes.count else { return (nil, 1) }
    var value = UInt32(first) & (0xFF >> (length + 1))
    for offset in 1..<length {
      let next = bytes[index + offset]
      guard next & 0xC0 == 0x80 else { return (nil, 1) }
      value = value << 6 | UInt32(next & 0x3F)
    }
    guard value >= minimum, let scalar = Unicode.Scalar(value) else { return (nil, 1) }
    return (scalar, length)
  }

  /// Reads the records in order, handing each good one to `row` as (line, cells in `columns`
  /// order, nil for an empty cell); returns the problems of the text itself. A header that names
  /// an unknown column, or lacks a needed one, throws.
  public func read(row: (Int, [String?]) throws -> Void) throws -> (rows: Int, problems: [ImportProblem]) {
    let reader = try CSVReader(string: text, hasHeaderRow: false)
    guard let header = reader.next()?.map({ $0.trimmingCharacters(in: .whitespaces) }), header != [""] else {
      throw CustodyError.invalidValue("the register is empty: its first line names the columns")
    }
    var position: [String: Int] = [:]
    for (index, name) in header.enumerated() {
      guard Self.columns.contains(name) else {
        throw CustodyError.invalidValue(
          "line 1: \"\(name)\" is not a column of a register: use \(Self.columns.joined(separator: ", "))")
      }
      guard position[name] == nil else { throw CustodyError.invalidValue("line 1: the column \(name) is named twice") }
      position[name] = index
    }
    if let missing = Self.required.first(where: { position[$0] == nil }) {
      throw CustodyError.invalidValue("line 1: a register needs the column \(missing)")
    }
    let order = Self.columns.map { position[$0] }
    var line = 1 + Self.lineBreaks(in: header)
    var rows = 0
    var problems: [ImportProblem] = []
    while let cells = reader.next() {
      let first = line + 1
      let breaks = Self.lineBreaks(in: cells)
      line = first + breaks
      if cells.allSatisfy(\.isEmpty) { continue }
      rows += 1
      if !badLines.isDisjoint(with: first...line) {
        let column = cells.firstIndex { $0.contains("\u{FFFD}") }.map { header.indices.contains($0) ? header[$0] : "" }
        problems.append(ImportProblem(line: first, column: column ?? header[0], problem: "the text is not valid UTF-8"))
        continue
      }
      guard cells.count == header.count else {
        problems.append(ImportProblem(
          line: first, column: header[min(cells.count, header.count) - 1],
          problem: "the row has \(cells.count) cells, the header \(header.count)"))
        continue
      }
      try row(first, order.map { index in index.flatMap { cells[$0].isEmpty ? nil : cells[$0] } })
    }
    if let error = reader.error { throw CustodyError.invalidValue("the register cannot be read: \(error)") }
    return (rows, problems)
  }

  /// How many line ends the cells hold (CR LF counts once).
  static func lineBreaks(in cells: [String]) -> Int {
    var count = 0
    for cell in cells {
      var afterCR = false
      for scalar in cell.unicodeScalars {
        if scalar == "\r" { count += 1 } else if scalar == "\n" && !afterCR { count += 1 }
        afterCR = scalar == "\r"
      }
    }
    return count
  }
}

/// Imports a register through the custody API: the rows are copied into a temporary staging table
/// and checked and recorded by `custody.import_register`, in one transaction.
public struct Importer {
  let connection: Connection

  public init(connection: Connection) { self.connection = connection }

  /// Records the register named `source`, or nothing when any row is bad or `dryRun`.
  /// `progress` hears how many rows have been read, then checked.
  public func run(
    _ register: Register, source: String, dryRun: Bool, progress: @escaping (String) -> Void
  ) throws -> ImportOutcome {
    try connection.query("BEGIN")
    var committed = false
    defer { if !committed { _ = try? connection.query("ROLLBACK") } }
    try connection.query("CREATE TEMPORARY TABLE import_rows OF custody.import_row ON COMMIT DROP")
    var buffer: [UInt8] = []
    buffer.reserveCapacity(1 << 16)
    var read = (rows: 0, problems: [ImportProblem]())
    var nextReport = 10_000
    try connection.copyIn("COPY import_rows FROM STDIN (FORMAT csv)") { send in
      read = try register.read { line, cells in
        buffer.append(contentsOf: String(line).utf8)
        for cell in cells {
          buffer.append(UInt8(ascii: ","))
          // An empty cell is NULL (its column's default); any other is quoted.
          guard let cell else { continue }
          buffer.append(UInt8(ascii: "\""))
          for byte in cell.utf8 {
            if byte == UInt8(ascii: "\"") { buffer.append(byte) }
            buffer.append(byte)
          }
          buffer.append(UInt8(ascii: "\""))
        }
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 {
          try send(buffer)
          buffer.removeAll(keepingCapacity: true)
        }
        if line >= nextReport { progress("reading line \(line)"); nextReport = line + 10_000 }
      }
      if !buffer.isEmpty { try send(buffer) }
    }
    connection.onNotice = { notice in
      guard notice.sqlstate == "U0P01" else { return false }
      progress(notice.message)
      return true
    }
    defer { connection.onNotice = nil }
    let row = try connection.query(
      """
      SELECT cases, files, problems::text
        FROM custody.import_register(ARRAY(SELECT (r.*)::custody.import_row FROM import_rows r), $1, $2)
      """, [source, dryRun || !read.problems.isEmpty]
    ).first
    let cases: Int = try row?.decode(0) ?? 0
    let files: Int = try row?.decode(1) ?? 0
    let found = (try? JSONDecoder().decode([JSONValue].self, from: Data((try row?.decode(2) ?? "[]").utf8))) ?? []
    let problems = read.problems + found.compactMap { value -> ImportProblem? in
      guard case .object(let fields) = value, case .number(let line)? = fields["line"] else { return nil }
      return ImportProblem(
        line: Int(line), column: fields["column"]?.string ?? "", problem: fields["problem"]?.string ?? "")
    }
    if problems.isEmpty && !dryRun {
      try connection.query("COMMIT")
      committed = true
    }
    return ImportOutcome(
      rows: read.rows, cases: cases, files: files, problems: problems.sorted { $0.line < $1.line })
  }
}
