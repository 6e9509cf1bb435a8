import Foundation
import Postgres

/// The office manager's reports (CLI.md, "Reports"): each is one call of a `custody.report_*`
/// SQL function; this type names its fields and lays out its table.
public struct Report: Sendable {
  public let name: String
  /// Fields as CSV and JSON name them, in order, with how to read each from the SQL result.
  let fields: [(String, CellKind)]
  /// Table columns: a title and the text for a row (fields by name).
  let table: [(String, @Sendable ([String: Cell], Zone) -> String)]
  /// The table column that gives way (ending in "…") when a row is wider than the terminal page.
  let shrinkable: String?
  /// Said on standard error when a table report has no rows.
  public let empty: String
  /// The SQL function, `custody.report_NAME` unless that name is taken.
  var function: String? = nil
  /// Whether the report covers a period that `--since` starts (its SQL function's third argument).
  public var takesSince = false

  public static let all: [String: Report] = [
    "overdue": overdue, "out": out, "transit": transit, "arrivals": arrivals, "summary": summary,
    "closures": closures, "destruction": destruction, "missing": missing, "incidents": incidents,
  ]

  /// Breaches (policy 6.1), newest first.
  static let incidents = Report(
    name: "incidents",
    fields: [
      ("kind", .text), ("label", .text), ("case", .text), ("office", .text), ("at", .instant), ("actor", .text),
      ("details", .text),
    ],
    table: [
      ("kind", { row, zone in text(row["kind"], zone).replacing("_", with: " ") }), column("label"), column("case"),
      column("office"), column("at"), column("actor"), column("details"),
    ],
    shrinkable: "details", empty: "no incident is recorded", takesSince: true)

  /// Files recorded missing (custody.report_missing is the command that records one).
  static let missing = Report(
    name: "missing",
    fields: [
      ("label", .text), ("case", .text), ("office", .text), ("since", .instant), ("reported_by", .text),
      ("reason", .text), ("last_holder", .text),
    ],
    table: [
      column("label"), column("case"), column("office"), ("since", { row, zone in text(row["since"], zone) }),
      ("reported by", { row, zone in text(row["reported_by"], zone) }), column("reason"),
      ("last holder", { row, zone in text(row["last_holder"], zone) }),
    ],
    shrinkable: "reason", empty: "no file is missing", function: "report_missing_files")

  static let closures = Report(
    name: "closures",
    fields: [
      ("case", .text), ("office", .text), ("practitioner", .text), ("ended_on", .date), ("due_on", .date),
      ("overdue", .boolean), ("files_not_at_base", .integer),
    ],
    table: [
      column("case"), column("office"), column("practitioner"), column("ended_on"), column("due_on"),
      ("overdue", { row, _ in row["overdue"] == .boolean(true) ? "OVERDUE" : "" }),
      ("not at base", { row, zone in text(row["files_not_at_base"], zone) }),
    ],
    shrinkable: nil, empty: "no ended case is waiting for closure")

  static let destruction = Report(
    name: "destruction",
    fields: [
      ("kind", .text), ("case", .text), ("id", .integer), ("labels", .words), ("due_on", .date), ("hold", .boolean),
      ("review", .boolean),
    ],
    table: [
      column("kind"), column("case"), column("id"), column("labels"),
      ("due", { row, zone in row["review"] == .boolean(true) ? "review" : text(row["due_on"], zone) }),
      ("hold", { row, _ in row["hold"] == .boolean(true) ? "HOLD" : "" }),
    ],
    shrinkable: "labels", empty: "nothing is due for destruction")

  static let overdue = Report(
    name: "overdue",
    fields: [
      ("label", .text), ("case", .text), ("office", .text), ("holder", .text), ("holder_name", .text),
      ("whereabouts", .text), ("checked_out_at", .instant), ("expected_return", .instant), ("overdue_minutes", .integer),
      ("holder_deactivated", .boolean),
    ],
    table: [
      column("label"), column("case"), column("office"), ("holder", holderText), column("whereabouts"),
      ("due back", { row, zone in text(row["expected_return"], zone) }),
      ("overdue by", { row, _ in lateness(row["overdue_minutes"]) }),
    ],
    shrinkable: "whereabouts", empty: "no checked-out file is overdue")

  static let out = Report(
    name: "out",
    fields: [
      ("label", .text), ("case", .text), ("office", .text), ("holder", .text), ("holder_name", .text),
      ("whereabouts", .text), ("checked_out_at", .instant), ("expected_return", .instant), ("overdue", .boolean),
      ("overdue_minutes", .integer), ("holder_deactivated", .boolean),
    ],
    table: [
      column("label"), column("case"), column("office"), ("holder", holderText), column("whereabouts"),
      ("due back", { row, zone in text(row["expected_return"], zone) }),
      ("overdue by", { row, _ in row["overdue"] == .boolean(true) ? lateness(row["overdue_minutes"]) : "" }),
    ],
    shrinkable: "whereabouts", empty: "no file is checked out")

  static let transitFields: [(String, CellKind)] = [
    ("label", .text), ("case", .text), ("from", .text), ("to", .text), ("method", .text), ("carrier", .text),
    ("reference", .text), ("seal", .text), ("dispatched_at", .instant), ("expected_by", .instant), ("late", .boolean),
  ]

  /// "Pat Jones (pat)": the holder as people know them, and their login; "(pat, left)" for a
  /// holder whose login was deactivated.
  static let holderText: @Sendable ([String: Cell], Zone) -> String = { row, _ in
    guard case .text(let login?) = row["holder"] else { return "-" }
    let who = row["holder_deactivated"] == .boolean(true) ? "\(login), left" : login
    guard case .text(let name?) = row["holder_name"] else { return who }
    return "\(name) (\(who))"
  }

  static let transitTable: [(String, @Sendable ([String: Cell], Zone) -> String)] = [
    column("label"), column("case"), column("from"), column("to"),
    ("by", { row, _ in
      let method = row["method"] == .text("secure-carrier") ? "carrier" : "hand"
      if case .text(let carrier?) = row["carrier"] { return "\(method): \(carrier)" }
      return method
    }),
    column("reference"), column("seal"),
    ("expected", { row, zone in text(row["expected_by"], zone) }),
    ("late", { row, _ in row["late"] == .boolean(true) ? "LATE" : "" }),
  ]

  static let transit = Report(
    name: "transit", fields: transitFields, table: transitTable, shrinkable: "by",
    empty: "no file is in transit")

  static let arrivals = Report(
    name: "arrivals", fields: transitFields, table: transitTable, shrinkable: "by",
    empty: "no file is on its way")

  static let summary = Report(
    name: "summary",
    fields: [
      ("office", .text), ("at_base", .integer), ("checked_out", .integer), ("overdue", .integer),
      ("in_transit", .integer), ("late_transit", .integer), ("missing", .integer), ("closures_overdue", .integer),
      ("last_stocktake", .instant),
    ],
    table: [
      "office", "at_base", "checked_out", "overdue", "in_transit", "late_transit", "missing", "closures_overdue",
    ].map(column) + [("last stocktake", { @Sendable row, zone in orDash(text(row["last_stocktake"], zone)) })],
    shrinkable: nil, empty: "no office")

  /// The SQL that produces this report's fields, with $1 the office (or NULL), $2 the instant and,
  /// for a report that takes one, $3 the start of the period (or NULL).
  public var sql: String {
    let since = takesSince ? ", coalesce($3::timestamptz, '-infinity')" : ""
    return "SELECT * FROM custody.\(function ?? "report_" + name)($1::text, $2::timestamptz\(since))"
  }

  /// Runs the report and writes it; returns the number of rows.
  @discardableResult
  public func run(
    on connection: Connection, office: String?, asOf: Date, since: Date? = nil, to writer: ResultWriter
  ) throws -> Int {
    let names = fields.map(\.0)
    let parameters: [(any PostgresParameter)?] = takesSince ? [office, asOf, since] : [office, asOf]
    if writer.format == .table {
      var rows: [[String: Cell]] = []
      try connection.stream(sql, parameters) { row in
        let cells = try fields.enumerated().map { index, field in try field.1.cell(row, index) }
        rows.append(Dictionary(uniqueKeysWithValues: zip(names, cells)))
      }
      let texts = rows.map { row in table.map { $0.1(row, writer.zone) } }
      if !texts.isEmpty {
        writer.text(
          ResultWriter.table(
            header: table.map(\.0), rows: texts, width: 100, shrinking: shrinkable.flatMap { title in
              table.firstIndex { $0.0 == title }
            }))
      }
      return rows.count
    }
    writer.begin(columns: names)
    try connection.stream(sql, parameters) { row in
      writer.write(row: try fields.enumerated().map { index, field in try field.1.cell(row, index) })
    }
    return writer.end()
  }

  /// "2d 3h", "5h 20m", "45m": how long, the way people say it.
  public static func lateness(_ minutes: Int) -> String {
    let days = minutes / 1440
    let hours = minutes % 1440 / 60
    let rest = minutes % 60
    if days > 0 { return hours > 0 ? "\(days)d \(hours)h" : "\(days)d" }
    if hours > 0 { return rest > 0 ? "\(hours)h \(rest)m" : "\(hours)h" }
    return "\(rest)m"
  }

  static func lateness(_ cell: Cell?) -> String {
    guard case .integer(let minutes?) = cell else { return "" }
    return lateness(minutes)
  }

  static func orDash(_ text: String) -> String { text.isEmpty ? "-" : text }

  static func column(_ name: String) -> (String, @Sendable ([String: Cell], Zone) -> String) {
    (name.replacing("_", with: " "), { row, zone in text(row[name], zone) })
  }

  static func text(_ cell: Cell?, _ zone: Zone) -> String {
    switch cell {
    case .text(let value): return value ?? ""
    case .integer(let value): return value.map(String.init) ?? ""
    case .boolean(let value): return value.map { $0 ? "yes" : "no" } ?? ""
    case .instant(let value): return value.map(zone.short) ?? ""
    case .date(let value): return value?.description ?? ""
    case .words(let value): return value?.joined(separator: " ") ?? ""
    case nil: return ""
    }
  }
}
