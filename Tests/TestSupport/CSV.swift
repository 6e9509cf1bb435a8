/// A strict RFC 4180 reader for checking what `--format csv` writes: CRLF line ends, fields with
/// commas, quotes or line breaks in double quotes, inner quotes doubled.
public enum CSV {
  public struct Malformed: Error, CustomStringConvertible {
    public let description: String
  }

  public static func parse(_ text: String) throws -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text)[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" {
          if chars.first == "\"" {
            field.append("\"")
            chars.removeFirst()
          } else {
            quoted = false
            guard let next = chars.first, next == "," || next == "\r\n" else {
              throw Malformed(description: "text after a closing quote in \(field)")
            }
          }
        } else {
          field.append(c)
        }
      } else if c == "\"" {
        guard field.isEmpty else { throw Malformed(description: "a quote inside an unquoted field: \(field)") }
        quoted = true
      } else if c == "," {
        record.append(field)
        field = ""
      } else if c == "\r\n" {
        record.append(field)
        records.append(record)
        record = []
        field = ""
      } else if c == "\n" || c == "\r" {
        throw Malformed(description: "a bare line break after \(field)")
      } else {
        field.append(c)
      }
    }
    guard !quoted else { throw Malformed(description: "an unclosed quote") }
    guard field.isEmpty && record.isEmpty else { throw Malformed(description: "the last record has no CRLF") }
    let width = records.first?.count ?? 0
    guard records.allSatisfy({ $0.count == width }) else { throw Malformed(description: "records of different widths") }
    return records
  }
}
