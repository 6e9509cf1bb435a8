import Foundation
import Postgres

/// How results are written: CLI.md's `--format`.
public enum OutputFormat: String, CaseIterable, Sendable {
  case table, csv, json
}

/// One value in a result row, typed so each format can write it its own way.
public enum Cell: Sendable, Equatable {
  case text(String?)
  case integer(Int?)
  case boolean(Bool?)
  case instant(Date?)
  case date(CalendarDate?)
  /// Several words, such as labels: space-separated in tables and CSV, an array in JSON.
  case words([String]?)
}

/// Writes results to standard output (or any sink) in the chosen format.
///
/// CSV and JSON rows are written as they arrive; a table waits for its rows to size its columns.
public final class ResultWriter {
  public let format: OutputFormat
  public let zone: Zone
  private let sink: (String) -> Void
  private var columns: [String] = []
  private var tableRows: [[String]] = []
  private var rowCount = 0

  public init(format: OutputFormat, zone: Zone, sink: @escaping (String) -> Void = StandardOutput.write) {
    self.format = format
    self.zone = zone
    self.sink = sink
  }

  /// Starts a list with these columns (their names are the CSV header and the JSON keys).
  public func begin(columns: [String]) {
    self.columns = columns
    switch format {
    case .csv: sink(columns.map(Self.csvField).joined(separator: ",") + "\r\n")
    case .json: sink("[")
    case .table: tableRows = []
    }
  }

  public func write(row: [Cell]) {
    switch format {
    case .csv:
      sink(row.map(csvText).map(Self.csvField).joined(separator: ",") + "\r\n")
    case .json:
      sink((rowCount == 0 ? "\n  " : ",\n  ") + jsonObject(zip(columns, row)))
    case .table:
      tableRows.append(row.map(tableText))
    }
    rowCount += 1
  }

  /// Ends the list; returns how many rows were written.
  @discardableResult
  public func end() -> Int {
    switch format {
    case .csv: break
    case .json: sink(rowCount == 0 ? "]\n" : "\n]\n")
    case .table: sink(Self.table(header: columns, rows: tableRows))
    }
    return rowCount
  }

  /// Writes one object: `key: value` lines in a table, one row in CSV, an object in JSON.
  public func record(_ fields: [(String, Cell)]) {
    switch format {
    case .json:
      sink(jsonObject(fields) + "\n")
    case .csv:
      begin(columns: fields.map(\.0))
      write(row: fields.map(\.1))
    case .table:
      let width = fields.map(\.0.count).max() ?? 0
      for (key, value) in fields {
        let label = key.replacing("_", with: " ")
        sink(label + ":" + String(repeating: " ", count: width - key.count + 1) + tableText(value) + "\n")
      }
    }
  }

  // MARK: - Formatting

  private func plain(_ cell: Cell) -> String {
    switch cell {
    case .text(let value): return value ?? ""
    case .integer(let value): return value.map(String.init) ?? ""
    case .boolean(let value): return value.map { $0 ? "true" : "false" } ?? ""
    case .instant(let value): return value.map(zone.rfc3339) ?? ""
    case .date(let value): return value?.description ?? ""
    case .words(let value): return value?.joined(separator: " ") ?? ""
    }
  }

  /// The cell as CSV holds it: text as recorded, but made safe to open in a spreadsheet.
  private func csvText(_ cell: Cell) -> String {
    guard case .text(let value) = cell, let value else { return plain(cell) }
    return Self.spreadsheetSafe(value)
  }

  /// A text that a spreadsheet would run as a formula (it begins with =, +, -, @, a tab or a
  /// carriage return) gets a leading ', so the spreadsheet shows it instead.
  static func spreadsheetSafe(_ text: String) -> String {
    guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
    return "'" + text
  }

  /// The cell as a table shows it: local times without seconds, "-" for nothing.
  public func tableText(_ cell: Cell) -> String {
    switch cell {
    case .instant(let value): return value.map(zone.short) ?? "-"
    case .boolean(let value): return value.map { $0 ? "yes" : "no" } ?? "-"
    default:
      let text = plain(cell)
      return text.isEmpty ? "-" : text.map { $0.isNewline ? " " : $0 }.reduce(into: "") { $0.append($1) }
    }
  }

  private func jsonObject(_ fields: some Sequence<(String, Cell)>) -> String {
    JSON.object(fields.map { ($0.0, json($0.1)) }).serialized()
  }

  /// The cell as JSON: instants in RFC 3339 with the zone's offset, dates as YYYY-MM-DD.
  public func json(_ cell: Cell) -> JSON {
    switch cell {
    case .text(let value): return value.map(JSON.string) ?? .null
    case .integer(let value): return value.map(JSON.int) ?? .null
    case .boolean(let value): return value.map(JSON.bool) ?? .null
    case .instant(let value): return value.map { .string(zone.rfc3339($0)) } ?? .null
    case .date(let value): return value.map { .string($0.description) } ?? .null
    case .words(let value): return value.map { .array($0.map(JSON.string)) } ?? .null
    }
  }

  /// Writes a whole JSON document (for results with nested parts).
  public func document(_ value: JSON) {
    sink(value.serialized() + "\n")
  }

  /// Writes text as it is (table-format prose).
  public func text(_ value: String) {
    sink(value)
  }

  /// RFC 4180: quote a field holding a comma, a quote or a line break; double inner quotes.
  static func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
    return "\"" + text.replacing("\"", with: "\"\"") + "\""
  }

  /// Lays out a table. When `width` is given and a row is wider, column `shrinking` gives way,
  /// its long values ending in "…".
  static func table(header: [String], rows: [[String]], width: Int? = nil, shrinking: Int? = nil) -> String {
    let titles = header.map { $0.replacing("_", with: " ").uppercased() }
    var widths = titles.map(\.displayWidth)
    for row in rows {
      for (index, value) in row.enumerated() where index < widths.count {
        widths[index] = max(widths[index], value.displayWidth)
      }
    }
    if let width, let shrinking, shrinking < widths.count {
      let total = widths.reduce(0, +) + 2 * (widths.count - 1)
      if total > width {
        widths[shrinking] = max(titles[shrinking].displayWidth, 8, widths[shrinking] - (total - width))
      }
    }
    // Widths are terminal columns: wide characters and emoji take two.
    func fit(_ value: String, _ width: Int) -> String {
      value.displayWidth <= width ? value : value.prefix(fittingColumns: width - 1) + "…"
    }
    func line(_ values: [String]) -> String {
      values.enumerated().map { index, value in
        let cell = fit(value, widths[index])
        return index == values.count - 1
          ? cell : cell + String(repeating: " ", count: widths[index] - cell.displayWidth)
      }.joined(separator: "  ") + "\n"
    }
    return line(titles) + rows.map(line).joined()
  }
}

// A stdio stream over descriptor 1, used from the one thread that runs a command.
nonisolated(unsafe) private let cStandardOutput = fdopen(1, "w")

/// Buffered writes to standard output.
public enum StandardOutput {
  public static func write(_ text: String) {
    fputs(text, cStandardOutput)
  }

  public static func flush() {
    fflush(cStandardOutput)
  }
}

/// Writes to standard error.
public enum StandardError {
  public static func write(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }
}
