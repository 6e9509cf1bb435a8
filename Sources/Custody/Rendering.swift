import Foundation
import Postgres

/// How each command's results look in table, CSV and JSON.
extension ResultWriter {
  /// A change's outcome: a sentence in a table, the event's fields in CSV and JSON.
  public func show(_ event: Event) {
    switch format {
    case .table: text(event.sentence(in: zone) + "\n")
    case .csv, .json: record(event.fields)
    }
  }

  public func show(_ file: Whereabouts) {
    let transfer: JSON =
      file.transfer.map { t in
        object([
          ("from", .text(t.from)), ("to", .text(t.to)), ("method", .text(t.method)), ("carrier", .text(t.carrier)),
          ("reference", .text(t.reference)), ("seal", .text(t.seal)), ("courier", .text(t.courier)),
          ("dispatched_at", .instant(t.dispatchedAt)), ("expected_by", .instant(t.expectedBy)),
          ("late", .boolean(t.late)),
        ])
      } ?? .null
    let lastSeen: JSON =
      file.lastSeen.map { e in
        object([("at", .instant(e.at)), ("stocktake", .integer(e.stocktake.map(Int.init))), ("secure_base", .text(e.base))])
      } ?? .null
    switch format {
    case .json:
      document(
        .object([
          ("label", .string(file.label)), ("case", .string(file.caseNumber)), ("volume", .int(file.volume)),
          ("kind", .string(file.kind)), ("status", .string(file.status)), ("secure_base", .string(file.secureBase)),
          ("office", .string(file.office)), ("since", json(.instant(file.statusSince))),
          ("holder", json(.text(file.holder))), ("whereabouts", json(.text(file.whereabouts))),
          ("checked_out_at", json(.instant(file.checkedOutAt))),
          ("expected_return", json(.instant(file.expectedReturn))), ("overdue", json(.boolean(file.overdue))),
          ("transfer", transfer), ("last_seen", lastSeen),
          ("history", .array(file.history.map { object($0.fields) })),
        ]))
    case .csv:
      showHistory(file)
    case .table:
      var lines: [(String, String)] = [
        ("file", "\(file.label) (case \(file.caseNumber), volume \(file.volume)\(file.kind == "folder" ? ", folder" : ""))"),
        ("status", statusPhrase(file)),
        ("secure base", file.secureBase + (file.secureBase == file.office ? "" : " (office \(file.office))")),
      ]
      if let whereabouts = file.whereabouts { lines.append(("whereabouts", whereabouts)) }
      if let expected = file.expectedReturn {
        lines.append(("due back", zone.short(expected) + (file.overdue == true ? "  OVERDUE" : "")))
      }
      if let t = file.transfer {
        var how = t.method == "secure-carrier" ? "secure carrier" : "by hand"
        let extras = [t.carrier, t.reference.map { "ref \($0)" }, t.seal.map { "seal \($0)" },
                      t.courier.map { "courier \($0)" }].compactMap { $0 }
        if !extras.isEmpty { how += " (" + extras.joined(separator: ", ") + ")" }
        lines.append(("transfer", "\(t.from) to \(t.to), \(how)"))
        lines.append(("expected by", zone.short(t.expectedBy) + (t.late ? "  LATE" : "")))
      }
      if let seen = file.lastSeen {
        lines.append(("last seen", "\(zone.short(seen.at)) at stocktake \(seen.stocktake.map(String.init) ?? "-") of \(seen.base ?? "-")"))
      }
      let width = lines.map(\.0.count).max() ?? 0
      for (key, value) in lines {
        text(key + String(repeating: " ", count: width - key.count + 2) + value + "\n")
      }
      text("\nHistory\n")
      showHistory(file)
    }
  }

  private func showHistory(_ file: Whereabouts) {
    begin(columns: ["at", "actor", "event", "details"])
    for event in file.history {
      let details = event.fields.dropFirst(3).filter { $0.0 != "label" && $0.0 != "case" }
        .map { "\($0.0.replacing("_", with: " ")) \(tableText($0.1))" }.joined(separator: "; ")
      write(row: [.instant(event.at), .text(event.actor), .text(event.kind), .text(details.isEmpty ? nil : details)])
    }
    end()
  }

  private func statusPhrase(_ file: Whereabouts) -> String {
    let since = zone.short(file.statusSince)
    switch file.status {
    case "at_base": return "at its secure base since \(since)"
    case "checked_out":
      return "checked out by \(file.holder ?? "-") since \(file.checkedOutAt.map(zone.short) ?? since)"
    case "in_transit": return "in transit since \(since)"
    case "missing": return "MISSING since \(since)"
    case "destroyed": return "destroyed on \(since)"
    default: return file.status
    }
  }

  public func show(_ entries: [MineEntry]) {
    // The holder is the person running it: CSV and JSON name them, the table does not repeat it.
    let named = format != .table
    begin(
      columns: ["label", "case", "status", "whereabouts", "to", "due", "late", "secure_base"]
        + (named ? ["holder", "holder_name"] : []))
    for entry in entries {
      write(
        row: [
          .text(entry.label), .text(entry.caseNumber), .text(entry.status), .text(entry.whereabouts),
          .text(entry.destination), .instant(entry.due), .boolean(entry.late), .text(entry.secureBase),
        ] + (named ? [.text(entry.holder), .text(entry.holderName)] : []))
    }
    end()
  }

  public func show(_ summary: CaseSummary) {
    let volumes = summary.volumes.map { v -> [(String, Cell)] in
      [
        ("label", .text(v.label)), ("volume", .integer(v.volume)), ("kind", .text(v.kind)),
        ("status", .text(v.status)), ("secure_base", .text(v.secureBase)), ("holder", .text(v.holder)),
        ("expected_return", .instant(v.expectedReturn)), ("to", .text(v.destination)),
      ]
    }
    let head: [(String, Cell)] = [
      ("case", .text(summary.number)), ("office", .text(summary.office)), ("law", .text(summary.law)),
      ("classification", .text(summary.classification)), ("practitioner", .text(summary.practitioner)),
      ("opened_at", .instant(summary.openedAt)),
    ]
    let clocks: [(String, Cell)] = [
      ("ended_on", .date(summary.endedOn)), ("proceedings_ended_on", .date(summary.proceedingsEndedOn)),
      ("closure_due_on", .date(summary.closureDueOn)), ("closed_on", .date(summary.closedOn)),
      ("destruction_on", .date(summary.destructionOn)), ("hold", .text(summary.hold)),
      ("hold_since", .instant(summary.holdSince)),
    ]
    let police = summary.policeInfo.map { item -> [(String, Cell)] in
      [
        ("id", .integer(Int(item.id))), ("received_on", .date(item.receivedOn)), ("due_on", .date(item.dueOn)),
        ("permitted_until", .date(item.permittedUntil)), ("destroyed_at", .instant(item.destroyedAt)),
      ]
    }
    switch format {
    case .json:
      document(
        object(head + clocks)
          .appending(("children_born", .array(summary.childrenBorn.map { .string($0.description) })))
          .appending(("police_info", .array(police.map(object))))
          .appending(("volumes", .array(volumes.map(object)))))
    case .csv:
      begin(columns: ["case"] + (volumes.first?.map(\.0) ?? ["label"]))
      for volume in volumes { write(row: [.text(summary.number)] + volume.map(\.1)) }
      end()
    case .table:
      record(
        head + [("children_born", .text(summary.childrenBorn.map(\.description).joined(separator: ", ")))]
          + clocks.filter { field in field.1 != .date(nil) && field.1 != .text(nil) && field.1 != .instant(nil) })
      text("\n")
      if !police.isEmpty {
        text("Police information:\n")
        begin(columns: police[0].map(\.0))
        for item in police { write(row: item.map(\.1)) }
        end()
        text("\n")
      }
      if volumes.isEmpty {
        text("No volumes registered.\n")
      } else {
        begin(columns: volumes[0].map(\.0))
        for volume in volumes { write(row: volume.map(\.1)) }
        end()
      }
    }
  }

  func object(_ fields: [(String, Cell)]) -> JSON {
    .object(fields.map { ($0.0, json($0.1)) })
  }
}

extension JSON {
  func appending(_ field: (String, JSON)) -> JSON {
    guard case .object(let fields) = self else { return self }
    return .object(fields + [field])
  }
}

extension ResultWriter {
  /// Messages of the outbox: their fields in CSV and JSON; in a table the id, when, status, kind,
  /// address and subject.
  public func show(_ messages: [Message]) {
    guard format == .table else {
      begin(columns: Message.fieldNames)
      for message in messages { write(row: message.fields(zone: zone).map(\.1)) }
      end()
      return
    }
    guard !messages.isEmpty else { return }
    let rows = messages.map { message in
      [String(message.id), zone.short(message.composedAt), message.status, message.kind, message.address ?? "-",
       message.subject(zone: zone) + (message.error.map { " [\($0)]" } ?? "")]
    }
    text(Self.table(header: ["id", "composed", "status", "kind", "to", "subject"], rows: rows, width: 100, shrinking: 5))
  }

  /// One message as a run handles it (or, `planned`, as a dry run would): a line in a table, a
  /// row in CSV and JSON.
  public func showAttempt(_ message: Message, planned: Bool = false) {
    guard format == .table else {
      write(row: message.fields(zone: zone).map(\.1))
      return
    }
    let outcome =
      planned ? (message.status == "queued" ? "would send" : "would not send (\(message.status))")
      : message.status == "queued" ? "queued (attempt \(message.attempts) of 5)" : message.status
    text("\(outcome): \(message.kind) to \(message.address ?? "nobody"): \(message.subject(zone: zone))"
      + (message.error.map { " [\($0)]" } ?? "") + "\n")
  }
}
