import Foundation
import Postgres

/// One row of the custody record, as a command's outcome or a line of a file's history.
public struct Event: Sendable {
  public let id: Int64
  public let kind: String
  public let at: Date
  public let actor: String
  public let subject: String
  public let label: String?
  public let caseNumber: String?
  public let base: String?
  public let holder: String?
  public let whereabouts: String?
  public let expectedAt: Date?
  public let destination: String?
  public let method: String?
  public let carrier: String?
  public let reference: String?
  public let seal: String?
  public let courier: String?
  public let sealDiscrepancy: Bool?
  public let note: String?
  public let witness: String?
  public let certificate: String?
  public let onDate: CalendarDate?
  /// The police information item the event is about.
  public let item: Int64?
  /// The stocktake at which the file was seen.
  public let stocktake: Int64?

  /// Columns to select, in the order `init(row:)` reads them; `e` is custody.event.
  static let columns = """
    e.id, e.kind, e.at, e.actor, e.subject, f.label, c.number, e.base, e.holder, e.whereabouts,
    e.expected_at, e.destination, e.method, e.carrier, e.reference, e.seal, e.courier, e.seal_discrepancy, e.note,
    e.witness, e.certificate, e.on_date, e.item, e.stocktake_id
    """

  static let joins = """
    LEFT JOIN custody.file f ON f.id = e.file_id
    LEFT JOIN custody.case_record c ON c.id = e.case_id
    """

  init(row: Row) throws {
    id = try row.decode(0)
    kind = try row.decode(1)
    at = try row.decode(2)
    actor = try row.decode(3)
    subject = try row.decode(4)
    label = try row.decodeIfPresent(5)
    caseNumber = try row.decodeIfPresent(6)
    base = try row.decodeIfPresent(7)
    holder = try row.decodeIfPresent(8)
    whereabouts = try row.decodeIfPresent(9)
    expectedAt = try row.decodeIfPresent(10)
    destination = try row.decodeIfPresent(11)
    method = try row.decodeIfPresent(12)
    carrier = try row.decodeIfPresent(13)
    reference = try row.decodeIfPresent(14)
    seal = try row.decodeIfPresent(15)
    courier = try row.decodeIfPresent(16)
    sealDiscrepancy = try row.decodeIfPresent(17)
    note = try row.decodeIfPresent(18)
    witness = try row.decodeIfPresent(19)
    certificate = try row.decodeIfPresent(20)
    onDate = try row.decodeIfPresent(21)
    item = try row.decodeIfPresent(22)
    stocktake = try row.decodeIfPresent(23)
  }

  /// The event and its details, named as CLI.md names them; details that do not apply are left out.
  public var fields: [(String, Cell)] {
    var fields: [(String, Cell)] = [("event", .text(kind)), ("at", .instant(at)), ("actor", .text(actor))]
    if let label { fields.append(("label", .text(label))) }
    if let caseNumber { fields.append(("case", .text(caseNumber))) }
    switch kind {
    case "office_added": fields.append(("office", .text(subject)))
    case "staff_added":
      fields += [("login", .text(subject)), ("office", .text(base)), ("role", .text(note))]
      return fields
    case "staff_deactivated":
      fields += [("login", .text(subject)), ("office", .text(base)), ("reason", .text(note))]
      return fields
    case "staff_changed":
      fields += [("login", .text(subject)), ("office", .text(base)), ("changes", .text(note))]
      return fields
    case "case_classified", "case_reopened", "hold_placed", "hold_released":
      fields += [("office", .text(base)), ("reason", .text(note))]
      return fields
    case "imported" where label == nil:
      fields += [("office", .text(base))]
      if let holder { fields.append(("practitioner", .text(holder))) }
      fields.append(("details", .text(note)))
      return fields
    case "child_added":
      fields += [("office", .text(base)), ("born", .date(onDate))]
      return fields
    case "case_ended", "case_closed":
      fields += [("office", .text(base)), ("on", .date(onDate))]
      return fields
    case "police_info_added", "police_info_permitted", "police_info_destroyed":
      fields += [("id", .integer(item.map(Int.init)))]
      if kind == "police_info_added" { fields.append(("received", .date(onDate))) }
      if kind == "police_info_permitted" { fields += [("until", .date(onDate)), ("reference", .text(reference))] }
      if kind == "police_info_destroyed" { fields.append(("witness", .text(witness))) }
      return fields
    case "seen":
      fields += [("secure_base", .text(base)), ("stocktake", .integer(stocktake.map(Int.init)))]
      return fields
    case "case_opened", "case_allocated":
      fields += [("office", .text(base))]
      if let holder { fields.append(("practitioner", .text(holder))) }
      return fields
    default: break
    }
    if let base { fields.append(("secure_base", .text(base))) }
    if let holder { fields.append(("holder", .text(holder))) }
    if let whereabouts { fields.append(("whereabouts", .text(whereabouts))) }
    if let expectedAt {
      fields.append((kind == "dispatched" ? "expected_by" : "expected_return", .instant(expectedAt)))
    }
    if let destination { fields.append(("to", .text(destination))) }
    if let method { fields.append(("method", .text(method))) }
    if let carrier { fields.append(("carrier", .text(carrier))) }
    if let reference { fields.append(("reference", .text(reference))) }
    if let seal { fields.append(("seal", .text(seal))) }
    if let courier { fields.append(("courier", .text(courier))) }
    if let sealDiscrepancy { fields.append(("seal_discrepancy", .boolean(sealDiscrepancy))) }
    if let note { fields.append((kind == "received" ? "note" : kind == "imported" ? "details" : "reason", .text(note))) }
    if let witness { fields.append(("witness", .text(witness))) }
    if let certificate { fields.append(("certificate", .text(certificate))) }
    return fields
  }

  /// What happened, in a sentence, with times in `zone`.
  public func sentence(in zone: Zone) -> String {
    let file = label ?? subject
    let when = { (date: Date?) in date.map(zone.short) ?? "-" }
    switch kind {
    case "office_added": return "Office \(subject) added."
    case "staff_added": return "\(subject) added as \(note ?? "staff") at \(base ?? "-")."
    case "staff_deactivated": return "\(subject) deactivated: their login can no longer connect (\(note ?? "-"))."
    case "staff_changed": return "\(subject) changed: \(note ?? "-")."
    case "case_opened":
      return "Case \(subject) opened at \(base ?? "-")" + (holder.map { ", allocated to \($0)" } ?? "") + "."
    case "case_allocated": return "Case \(subject) allocated to \(holder ?? "-")."
    case "case_classified": return "Case \(subject) classified \(note ?? "-")."
    // The new label alone, as CLI.md promises, so scripts can capture it.
    case "registered": return file
    case "checked_out": return "\(file) checked out by \(holder ?? actor), due back \(when(expectedAt))."
    case "extended": return "\(file) is now due back \(when(expectedAt))."
    case "returned": return "\(file) returned to \(base ?? "its secure base")."
    case "dispatched":
      var how = method == "secure-carrier" ? "by secure carrier" : "by hand"
      let extras = [carrier, reference.map { "ref \($0)" }, seal.map { "seal \($0)" }, courier.map { "courier \($0)" }]
        .compactMap { $0 }
      if !extras.isEmpty { how += " (" + extras.joined(separator: ", ") + ")" }
      return "\(file) dispatched from \(base ?? "-") to \(destination ?? "-") \(how), expected by \(when(expectedAt))."
    case "received": return "\(file) received at \(base ?? "-")."
    case "transfer_cancelled": return "Transfer of \(file) cancelled; it is at \(base ?? "its secure base")."
    case "missing": return "\(file) recorded as missing."
    case "found": return "\(file) found at \(base ?? "-")."
    case "seen": return "\(file) seen at stocktake \(stocktake.map(String.init) ?? "-") of \(base ?? "-")."
    case "destroyed":
      return "\(file) destroyed, witnessed by \(witness ?? "-"), certificate \(certificate ?? "-")."
    case "imported": return "\(label == nil ? "Case " : "")\(subject) imported (\(note ?? "-"))."
    case "child_added": return "A child born \(onDate?.description ?? "-") added to case \(subject)."
    case "case_ended": return "Case \(subject) ended on \(onDate?.description ?? "-"); closure is due in 28 days."
    case "case_closed": return "Case \(subject) closed on \(onDate?.description ?? "-")."
    case "case_reopened": return "Case \(subject) reopened."
    case "hold_placed": return "Case \(subject) is on hold: \(note ?? "-")."
    case "hold_released": return "The hold on case \(subject) is released."
    case "police_info_added": return item.map(String.init) ?? "-"
    case "police_info_permitted":
      return "Police information \(subject) may be kept until \(onDate?.description ?? "-") (\(reference ?? "-"))."
    case "police_info_destroyed":
      return "Police information \(subject) destroyed, witnessed by \(witness ?? "-")."
    default: return "\(kind) \(subject)."
    }
  }
}
