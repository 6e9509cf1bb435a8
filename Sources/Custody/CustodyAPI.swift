import Foundation
import Postgres

/// The custody API: each method is one call of one SQL function, which appends one event.
/// The rules live in those functions; this type only passes values and reads the outcome.
public struct CustodyAPI {
  public let connection: Connection

  public init(_ connection: Connection) {
    self.connection = connection
  }

  public func addOffice(request: UUID, code: String, name: String, email: String?) throws -> Event {
    try call("office_add", request, [code, name, email], types: ["text", "text", "text"])
  }

  public func addStaff(
    request: UUID, login: String, name: String, role: String, office: String, employment: String,
    homeBased: Bool, email: String?, adoptLogin: Bool = false
  ) throws -> Event {
    try call(
      "staff_add", request, [login, name, role, office, employment, homeBased, email, adoptLogin],
      types: ["text", "text", "text", "text", "text", "boolean", "text", "boolean"])
  }

  public func deactivateStaff(request: UUID, login: String, reason: String, force: Bool) throws -> Event {
    try call("staff_deactivate", request, [login, reason, force], types: ["text", "text", "boolean"])
  }

  public func changeStaff(request: UUID, login: String, role: String?, office: String?, homeBased: Bool?) throws
    -> Event
  {
    try call(
      "staff_change", request, [login, role, office, homeBased], types: ["text", "text", "text", "boolean"])
  }

  public func openCase(
    request: UUID, number: String, office: String, law: String, classification: String,
    childrenBorn: [CalendarDate], practitioner: String?
  ) throws -> Event {
    let born = "{" + childrenBorn.map(\.description).joined(separator: ",") + "}"
    return try call(
      "case_open", request, [number, office, law, classification, born, practitioner],
      types: ["text", "text", "text", "text", "date[]", "text"])
  }

  public func allocateCase(request: UUID, number: String, practitioner: String) throws -> Event {
    try call("case_allocate", request, [number, practitioner], types: ["text", "text"])
  }

  public func classifyCase(request: UUID, number: String, classification: String, reason: String) throws -> Event {
    try call("case_classify", request, [number, classification, reason], types: ["text", "text", "text"])
  }

  public func addChild(request: UUID, number: String, born: CalendarDate) throws -> Event {
    try call("case_add_child", request, [number, born], types: ["text", "date"])
  }

  public func endCase(request: UUID, number: String, on day: CalendarDate, proceedingsEnded: CalendarDate?) throws
    -> Event
  {
    try call("case_end", request, [number, day, proceedingsEnded], types: ["text", "date", "date"])
  }

  public func closeCase(request: UUID, number: String, on day: CalendarDate) throws -> Event {
    try call("case_close", request, [number, day], types: ["text", "date"])
  }

  public func reopenCase(request: UUID, number: String, reason: String) throws -> Event {
    try call("case_reopen", request, [number, reason], types: ["text", "text"])
  }

  public func placeHold(request: UUID, number: String, reason: String) throws -> Event {
    try call("hold_place", request, [number, reason], types: ["text", "text"])
  }

  public func releaseHold(request: UUID, number: String, reason: String) throws -> Event {
    try call("hold_release", request, [number, reason], types: ["text", "text"])
  }

  public func addPoliceInfo(request: UUID, caseNumber: String, received: CalendarDate) throws -> Event {
    try call("police_info_add", request, [caseNumber, received], types: ["text", "date"])
  }

  public func permitPoliceInfo(request: UUID, item: Int64, until: CalendarDate, reference: String) throws -> Event {
    try call("police_info_permit", request, [item, until, reference], types: ["bigint", "date", "text"])
  }

  public func destroyPoliceInfo(request: UUID, item: Int64, witness: String) throws -> Event {
    try call("police_info_destroy", request, [item, witness], types: ["bigint", "text"])
  }

  public func destroy(request: UUID, label: String, witness: String, certificate: String) throws -> Event {
    try call("destroy", request, [label, witness, certificate], types: ["text", "text", "text"])
  }

  public func registerFile(request: UUID, caseNumber: String, volume: Int?, kind: String, label: String?) throws
    -> Event
  {
    try call(
      "file_register", request, [caseNumber, volume, kind, label], types: ["text", "integer", "text", "text"])
  }

  public func checkout(request: UUID, label: String, whereabouts: String, returnBy: Date) throws -> Event {
    try call("checkout", request, [label, whereabouts, returnBy], types: ["text", "text", "timestamptz"])
  }

  public func extend(request: UUID, label: String, returnBy: Date, reason: String?) throws -> Event {
    try call("extend", request, [label, returnBy, reason], types: ["text", "timestamptz", "text"])
  }

  public func returnFile(request: UUID, label: String) throws -> Event {
    try call("return_file", request, [label], types: ["text"])
  }

  public func transfer(
    request: UUID, label: String, destination: String, method: String, expectedBy: Date,
    carrier: String?, reference: String?, seal: String?, courier: String?
  ) throws -> Event {
    try call(
      "transfer", request, [label, destination, method, expectedBy, carrier, reference, seal, courier],
      types: ["text", "text", "text", "timestamptz", "text", "text", "text", "text"])
  }

  public func receive(request: UUID, label: String, seal: String?, note: String?) throws -> Event {
    try call("receive", request, [label, seal, note], types: ["text", "text", "text"])
  }

  public func cancelTransfer(request: UUID, label: String, reason: String) throws -> Event {
    try call("cancel_transfer", request, [label, reason], types: ["text", "text"])
  }

  public func reportMissing(request: UUID, label: String, reason: String) throws -> Event {
    try call("report_missing", request, [label, reason], types: ["text", "text"])
  }

  public func found(request: UUID, label: String, at place: String) throws -> Event {
    try call("found", request, [label, place], types: ["text", "text"])
  }

  /// The seal recorded when the file was last dispatched before `event`.
  public func dispatchedSeal(before event: Event) throws -> String? {
    try connection.query(
      """
      SELECT d.seal FROM custody.event r
        JOIN custody.event d ON d.file_id = r.file_id AND d.kind = 'dispatched' AND d.id < r.id
       WHERE r.id = $1 ORDER BY d.id DESC LIMIT 1
      """, [event.id]
    ).first?.decodeIfPresent(0)
  }

  /// Calls `custody.<function>(request, arguments...)` and reads the event it returns.
  private func call(
    _ function: String, _ request: UUID, _ arguments: [(any PostgresParameter)?], types: [String]
  ) throws -> Event {
    let placeholders = (["uuid"] + types).enumerated().map { "$\($0.offset + 1)::\($0.element)" }
    // Two statements: a function's writes are invisible to the statement that called it.
    let eventID = try connection.query(
      "SELECT custody.\(function)(\(placeholders.joined(separator: ", ")))", [request] + arguments
    ).first?.decode(0, as: Int64.self)
    let sql = "SELECT \(Event.columns) FROM custody.event e \(Event.joins) WHERE e.id = $1"
    guard let eventID, let row = try connection.query(sql, [eventID]).first else {
      throw PostgresError(kind: .client, message: "custody.\(function) recorded an event that cannot be read back")
    }
    return try Event(row: row)
  }
}
