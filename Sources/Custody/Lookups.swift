import Foundation
import Postgres

/// A file's state now, and its whole custody history.
public struct Whereabouts: Sendable {
  public struct Transit: Sendable {
    public let from: String
    public let to: String
    public let method: String
    public let carrier: String?
    public let reference: String?
    public let seal: String?
    public let courier: String?
    public let dispatchedAt: Date
    public let expectedBy: Date
    public let late: Bool
  }

  public let label: String
  public let caseNumber: String
  public let volume: Int
  public let kind: String
  public let status: String
  public let secureBase: String
  public let office: String
  public let statusSince: Date
  public let holder: String?
  public let whereabouts: String?
  public let checkedOutAt: Date?
  public let expectedReturn: Date?
  public let overdue: Bool?
  public let transfer: Transit?
  public let history: [Event]

  /// The file's latest `seen` event: when, and at which stocktake.
  public var lastSeen: Event? { history.last { $0.kind == "seen" } }
}

/// A file the person holds, has coming to them, or keeps at their home base.
public struct MineEntry: Sendable {
  public let label: String
  public let caseNumber: String
  public let status: String
  public let whereabouts: String?
  public let destination: String?
  /// When it is due back or due to arrive; nil for a file at the person's home base.
  public let due: Date?
  public let late: Bool?
  /// The file's secure base.
  public let secureBase: String
  /// Who holds it (the person, for a file they have out) and their name; nil otherwise.
  public let holder: String?
  public let holderName: String?
}

/// Read-only questions, answered with what the login may see.
public struct Lookups {
  public let connection: Connection

  public init(_ connection: Connection) {
    self.connection = connection
  }

  /// Refuses an office code that is not valid (65) or names no office (66).
  public func requireOffice(_ code: String) throws {
    _ = try connection.query("SELECT FROM custody.require_office($1::text)", [code])
  }

  public func whereabouts(label: String) throws -> Whereabouts {
    let rows = try connection.query(
      """
      SELECT f.id, f.label, c.number, f.volume, f.kind, f.status, f.base, f.office, f.status_since,
             r.holder, r.whereabouts, r.out_at, r.expected_return, r.expected_return < now(),
             t.from_base, t.to_base, t.method, t.carrier, t.reference, t.seal, t.courier,
             t.dispatched_at, t.expected_by, t.expected_by < now()
        FROM custody.file f
        JOIN custody.case_record c ON c.id = f.case_id
        LEFT JOIN custody.removal r ON r.id = f.open_removal
        LEFT JOIN custody.transfer t ON t.id = f.open_transfer
       WHERE f.label = $1
      """, [label])
    guard let row = rows.first else { throw try notFound("file", label) }
    let fileID: Int64 = try row.decode(0)
    var transit: Whereabouts.Transit?
    if !row.isNull(14) {
      transit = Whereabouts.Transit(
        from: try row.decode(14), to: try row.decode(15), method: try row.decode(16),
        carrier: try row.decodeIfPresent(17), reference: try row.decodeIfPresent(18),
        seal: try row.decodeIfPresent(19), courier: try row.decodeIfPresent(20),
        dispatchedAt: try row.decode(21), expectedBy: try row.decode(22), late: try row.decode(23))
    }
    let history = try connection.query(
      "SELECT \(Event.columns) FROM custody.event e \(Event.joins) WHERE e.file_id = $1 ORDER BY e.id", [fileID]
    ).map(Event.init(row:))
    return Whereabouts(
      label: try row.decode(1), caseNumber: try row.decode(2), volume: try row.decode(3), kind: try row.decode(4),
      status: try row.decode(5), secureBase: try row.decode(6), office: try row.decode(7),
      statusSince: try row.decode(8), holder: try row.decodeIfPresent(9), whereabouts: try row.decodeIfPresent(10),
      checkedOutAt: try row.decodeIfPresent(11), expectedReturn: try row.decodeIfPresent(12),
      overdue: try row.decodeIfPresent(13), transfer: transit, history: history)
  }

  /// Files the login holds, and files in transit to their home base or carried by them.
  public func mine() throws -> [MineEntry] {
    try connection.query(
      """
      SELECT f.label, c.number, f.status, r.whereabouts, NULL::text, r.expected_return, r.expected_return < now(), f.base,
             r.holder, (SELECT s.name FROM custody.staff s WHERE s.login = r.holder)
        FROM custody.removal r
        JOIN custody.file f ON f.id = r.file_id
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE r.ended_at IS NULL AND r.holder = custody.session_login()
      UNION ALL
      SELECT f.label, c.number, f.status, NULL, t.to_base, t.expected_by, t.expected_by < now(), f.base, NULL, NULL
        FROM custody.transfer t
        JOIN custody.file f ON f.id = t.file_id
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE t.ended_at IS NULL
         AND (t.to_base = 'home:' || custody.session_login() OR t.courier = custody.session_login())
      UNION ALL
      SELECT f.label, c.number, f.status, NULL, NULL, NULL, NULL, f.base, NULL, NULL
        FROM custody.file f
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE f.base = 'home:' || custody.session_login() AND f.status = 'at_base'
       ORDER BY 6 NULLS LAST, 1
      """
    ).map { row in
      MineEntry(
        label: try row.decode(0), caseNumber: try row.decode(1), status: try row.decode(2),
        whereabouts: try row.decodeIfPresent(3), destination: try row.decodeIfPresent(4),
        due: try row.decodeIfPresent(5), late: try row.decodeIfPresent(6), secureBase: try row.decode(7),
        holder: try row.decodeIfPresent(8), holderName: try row.decodeIfPresent(9))
    }
  }

  /// Streams `sql`'s rows to `writer` as cells of the given kinds.
  @discardableResult
  public func list(
    _ sql: String, _ parameters: [(any PostgresParameter)?] = [], columns: [(String, CellKind)],
    to writer: ResultWriter
  ) throws -> Int {
    writer.begin(columns: columns.map(\.0))
    try connection.stream(sql, parameters) { row in
      writer.write(row: try columns.enumerated().map { index, column in try column.1.cell(row, index) })
    }
    return writer.end()
  }

  /// 65 when the text cannot be a label or case number at all, else 66.
  func notFound(_ what: String, _ value: String) throws -> CustodyError {
    let valid = try connection.query("SELECT custody.is_label($1)", [value]).first?.decode(0, as: Bool.self)
    if valid == false {
      return .invalidValue(
        "\"\(value)\" is not a valid \(what == "file" ? "label" : "case number"): "
          + "use upper-case letters, digits, '-' and '/'")
    }
    return .notFound("no \(what) \(value)")
  }
}

/// How to read a column into a `Cell`.
public enum CellKind: Sendable {
  case text, integer, boolean, instant, date
  /// Text of space-separated words (labels never hold a space), read as a list.
  case words

  func cell(_ row: Row, _ index: Int) throws -> Cell {
    switch self {
    case .text: return .text(try row.decodeIfPresent(index))
    case .integer: return .integer(try row.decodeIfPresent(index))
    case .boolean: return .boolean(try row.decodeIfPresent(index))
    case .instant: return .instant(try row.decodeIfPresent(index))
    case .date: return .date(try row.decodeIfPresent(index))
    case .words:
      let text: String? = try row.decodeIfPresent(index)
      return .words(text.map { $0.split(separator: " ").map(String.init) })
    }
  }
}

/// A case, its children's dates of birth, its clocks, holds and police information, and its volumes.
public struct CaseSummary: Sendable {
  /// Police information held on the case's file, with the day it is due for destruction.
  public struct PoliceInfo: Sendable {
    public let id: Int64
    public let receivedOn: CalendarDate
    public let dueOn: CalendarDate?
    public let permittedUntil: CalendarDate?
    public let destroyedAt: Date?
  }

  public struct Volume: Sendable {
    public let label: String
    public let volume: Int
    public let kind: String
    public let status: String
    public let secureBase: String
    public let holder: String?
    public let expectedReturn: Date?
    public let destination: String?
  }

  public let number: String
  public let office: String
  public let law: String
  public let classification: String
  public let practitioner: String?
  public let openedAt: Date
  public let childrenBorn: [CalendarDate]
  public let endedOn: CalendarDate?
  public let proceedingsEndedOn: CalendarDate?
  /// 28 days after the end, while the case is not closed.
  public let closureDueOn: CalendarDate?
  public let closedOn: CalendarDate?
  /// The youngest child's 22nd birthday, once closed (none when closed before 1 April 2009).
  public let destructionOn: CalendarDate?
  /// The reason for an active hold, and since when.
  public let hold: String?
  public let holdSince: Date?
  public let policeInfo: [PoliceInfo]
  public let volumes: [Volume]
}

extension Lookups {
  public func caseSummary(number: String) throws -> CaseSummary {
    let rows = try connection.query(
      """
      SELECT c.id, c.number, c.office, c.law, c.classification, c.practitioner, c.opened_at,
             (SELECT string_agg(k.born::text, ',' ORDER BY k.born) FROM custody.case_child k WHERE k.case_id = c.id),
             c.ended_on, c.proceedings_ended_on, CASE WHEN c.closed_on IS NULL THEN c.ended_on + 28 END, c.closed_on,
             custody.case_destruction_on(c), h.reason, h.placed_at
        FROM custody.case_record c
        LEFT JOIN custody.hold h ON h.case_id = c.id AND h.released_at IS NULL
       WHERE c.number = $1
      """, [number])
    guard let row = rows.first else { throw try notFound("case", number) }
    let caseID: Int64 = try row.decode(0)
    let born = try row.decodeIfPresent(7, as: String.self)?.split(separator: ",").compactMap { CalendarDate(iso: $0) }
    let volumes = try connection.query(
      """
      SELECT f.label, f.volume, f.kind, f.status, f.base, r.holder, r.expected_return, t.to_base
        FROM custody.file f
        LEFT JOIN custody.removal r ON r.id = f.open_removal
        LEFT JOIN custody.transfer t ON t.id = f.open_transfer
       WHERE f.case_id = $1
       ORDER BY f.volume
      """, [caseID]
    ).map { volume in
      CaseSummary.Volume(
        label: try volume.decode(0), volume: try volume.decode(1), kind: try volume.decode(2),
        status: try volume.decode(3), secureBase: try volume.decode(4), holder: try volume.decodeIfPresent(5),
        expectedReturn: try volume.decodeIfPresent(6), destination: try volume.decodeIfPresent(7))
    }
    let policeInfo = try connection.query(
      """
      SELECT p.id, p.received_on, custody.police_info_due_on(p.received_on, p.permitted_until, c.proceedings_ended_on),
             p.permitted_until, p.destroyed_at
        FROM custody.police_info p JOIN custody.case_record c ON c.id = p.case_id
       WHERE p.case_id = $1
       ORDER BY p.id
      """, [caseID]
    ).map { item in
      CaseSummary.PoliceInfo(
        id: try item.decode(0), receivedOn: try item.decode(1), dueOn: try item.decodeIfPresent(2),
        permittedUntil: try item.decodeIfPresent(3), destroyedAt: try item.decodeIfPresent(4))
    }
    return CaseSummary(
      number: try row.decode(1), office: try row.decode(2), law: try row.decode(3),
      classification: try row.decode(4), practitioner: try row.decodeIfPresent(5), openedAt: try row.decode(6),
      childrenBorn: born ?? [], endedOn: try row.decodeIfPresent(8), proceedingsEndedOn: try row.decodeIfPresent(9),
      closureDueOn: try row.decodeIfPresent(10), closedOn: try row.decodeIfPresent(11),
      destructionOn: try row.decodeIfPresent(12), hold: try row.decodeIfPresent(13), holdSince: try row.decodeIfPresent(14),
      policeInfo: policeInfo, volumes: volumes)
  }
}
