import Crypto
import Foundation
import Postgres

/// One message of the outbox (`custody.message`): what SQL composed, and how it reads as mail.
public struct Message: Sendable {
  public let id: Int64
  public let key: String
  public let kind: String
  public let office: String
  public let label: String?
  public let caseNumber: String?
  public let recipient: String
  public let address: String?
  public let facts: [String: JSONValue]
  public let status: String
  public let attempts: Int
  public let composedAt: Date
  public let sentAt: Date?
  public let error: String?

  static let columns = """
    m.id, m.key, m.kind, m.office, m.label, m.case_number, m.recipient, m.address, m.facts::text, m.status,
    m.attempts, m.composed_at, m.sent_at, m.error
    """

  init(row: Row) throws {
    id = try row.decode(0)
    key = try row.decode(1)
    kind = try row.decode(2)
    office = try row.decode(3)
    label = try row.decodeIfPresent(4)
    caseNumber = try row.decodeIfPresent(5)
    recipient = try row.decode(6)
    address = try row.decodeIfPresent(7)
    facts = JSONValue.parseObject(try row.decode(8, as: String.self))
    status = try row.decode(9)
    attempts = try row.decode(10)
    composedAt = try row.decode(11)
    sentAt = try row.decodeIfPresent(12)
    error = try row.decodeIfPresent(13)
  }

  public static let fieldNames = [
    "id", "kind", "to", "subject", "status", "attempts", "composed_at", "sent_at", "error", "label", "case", "office",
  ]

  /// The fields `notify list` and `notify run` show (CLI.md, "Notifications"), as `fieldNames` names them.
  public func fields(zone: Zone) -> [(String, Cell)] {
    [
      ("id", .integer(Int(id))), ("kind", .text(kind)), ("to", .words(address.map { [$0] } ?? [])),
      ("subject", .text(subject(zone: zone))), ("status", .text(status)), ("attempts", .integer(attempts)),
      ("composed_at", .instant(composedAt)), ("sent_at", .instant(sentAt)), ("error", .text(error)),
      ("label", .text(label)), ("case", .text(caseNumber)), ("office", .text(office)),
    ]
  }

  // MARK: - Reading the facts

  private func text(_ name: String) -> String? { facts[name]?.string }
  private func time(_ name: String, _ zone: Zone) -> String? { facts[name]?.instant.map(zone.short) }
  private func instant(_ name: String) -> Date? { facts[name]?.instant }

  private func holder() -> String {
    guard let login = text("holder") else { return "-" }
    return text("holder_name").map { "\($0) (\(login))" } ?? login
  }

  private func method() -> String {
    let how = text("method") == "secure-carrier" ? "secure carrier" : "by hand"
    return text("carrier").map { "\(how) (\($0))" } ?? how
  }

  // MARK: - The mail

  /// What it is about and which file, in a line.
  public func subject(zone: Zone) -> String {
    let file = label ?? "-"
    switch kind {
    case "expected_arrival":
      return "Arriving: \(file) from \(text("from") ?? "-") to \(text("to") ?? "-"), expected by \(time("expected_by", zone) ?? "-")"
    case "receipt":
      if facts["seal_discrepancy"]?.bool == true {
        return "Seal discrepancy: \(file) received at \(text("to") ?? "-") with seal \(text("received_seal") ?? "-"), "
          + "dispatched with \(text("seal") ?? "none")"
      }
      return "Received: \(file) at \(text("to") ?? "-")"
    case "late_transit":
      return "Late in transit: \(file) from \(text("from") ?? "-") to \(text("to") ?? "-"), expected by \(time("expected_by", zone) ?? "-")"
    case "overdue":
      return "Overdue: \(file) was due back \(time("expected_return", zone) ?? "-")"
    case "overdue_escalation":
      return "Overdue for over 24 hours: \(file), held by \(holder())"
    case "closure_due":
      let overdue = (facts["due_on"]?.string).flatMap(CalendarDate.init(iso:)).map { $0 < zone.today(now: composedAt) } ?? false
      return "\(overdue ? "Closure overdue" : "Closure due"): case \(caseNumber ?? "-") by \(text("due_on") ?? "-")"
    case "digest":
      let counts = [("overdue", "overdue"), ("late_transit", "late in transit"), ("arriving_today", "arriving today"),
                    ("closures_due", "closures due")]
        .map { "\(facts[$0.0]?.array?.count ?? 0) \($0.1)" }
      return "Daily digest for \(office), \(text("day") ?? "-"): " + counts.joined(separator: ", ")
    default:
      return "\(kind): \(file)"
    }
  }

  /// The body an office manager can act on, with lateness judged at `asOf`.
  public func body(zone: Zone, asOf: Date) -> String {
    var lines: [(String, String?)] = []
    func late(_ since: Date?) -> String? {
      guard let since, since < asOf else { return nil }
      return Report.lateness(Int(asOf.timeIntervalSince(since) / 60))
    }
    switch kind {
    case "expected_arrival", "receipt", "late_transit":
      lines = [
        ("Label", label), ("Case", caseNumber), ("From", text("from")), ("To", text("to")), ("Method", method()),
        ("Reference", text("reference")), ("Seal", text("seal")), ("Courier", text("courier")),
        ("Dispatched", time("dispatched_at", zone).map { "\($0) by \(text("dispatched_by") ?? "-")" }),
        ("Expected arrival", time("expected_by", zone)),
      ]
      if kind == "receipt" {
        let seal: String
        switch (facts["seal_discrepancy"]?.bool, text("received_seal")) {
        case (true?, let received): seal = "DISCREPANCY: received with seal \(received ?? "-")"
        case (false?, _): seal = "checked, as dispatched"
        default: seal = text("seal") == nil ? "none was dispatched" : "not checked at receipt"
        }
        lines += [
          ("Received", time("received_at", zone).map { "\($0) by \(text("received_by") ?? "-")" }),
          ("Seal at receipt", seal),
          ("Received late by", late(instant("expected_by")).flatMap { _ in
            instant("received_at").flatMap { received in
              instant("expected_by").map { Report.lateness(Int(received.timeIntervalSince($0) / 60)) }
            }
          }),
        ]
      }
      if kind == "late_transit" { lines.append(("Late by", late(instant("expected_by")))) }
    case "overdue", "overdue_escalation":
      lines = [
        ("Label", label), ("Case", caseNumber), ("Office", text("office")), ("Holder", holder()),
        ("Whereabouts", text("whereabouts")), ("Checked out", time("checked_out_at", zone)),
        ("Due back", time("expected_return", zone)), ("Overdue by", late(instant("expected_return"))),
      ]
    case "closure_due":
      lines = [
        ("Case", caseNumber), ("Office", text("office")), ("Practitioner", text("practitioner")),
        ("Work ended", text("ended_on")), ("Closure due", text("due_on")),
        ("Volumes not at base", facts["files_not_at_base"].map { $0.description }),
      ]
    case "digest":
      var text = "Office \(office), \(self.text("day") ?? "-"), as of \(zone.short(asOf)).\n"
      let sections: [(String, String, (JSONValue) -> String)] = [
        ("overdue", "Overdue", { item in
          "\(item["label"]?.string ?? "-") (case \(item["case"]?.string ?? "-")), \(item["holder_name"]?.string ?? item["holder"]?.string ?? "-") at \(item["whereabouts"]?.string ?? "-"), due back \(item["expected_return"]?.instant.map(zone.short) ?? "-")"
        }),
        ("late_transit", "Late in transit", { item in
          "\(item["label"]?.string ?? "-") from \(item["from"]?.string ?? "-") to \(item["to"]?.string ?? "-"), expected by \(item["expected_by"]?.instant.map(zone.short) ?? "-")"
        }),
        ("arriving_today", "Arriving today", { item in
          "\(item["label"]?.string ?? "-") from \(item["from"]?.string ?? "-"), expected by \(item["expected_by"]?.instant.map(zone.short) ?? "-")"
        }),
        ("closures_due", "Closures due", { item in
          "case \(item["case"]?.string ?? "-") (\(item["practitioner"]?.string ?? "no practitioner")), due \(item["due_on"]?.string ?? "-")\(item["overdue"]?.bool == true ? ", OVERDUE" : "")"
        }),
      ]
      for (name, title, line) in sections {
        let items = facts[name]?.array ?? []
        text += "\n\(title): \(items.isEmpty ? "none" : String(items.count))\n"
        for item in items { text += "  - \(line(item))\n" }
      }
      return text
    default:
      break
    }
    return lines.compactMap { name, value in value.map { "\(name): \($0)" } }.joined(separator: "\n") + "\n"
  }

  /// The Message-ID made from the key, the same for every attempt.
  public var messageID: String {
    let digest = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    return "<\(digest.prefix(40))@custody>"
  }

  /// The message as RFC 5322 text, for `sendmail -t -oi`.
  public func rfc5322(from: String, zone: Zone, asOf: Date) -> String {
    let headers = [
      "From: \(from)", "To: \(address ?? "")", "Subject: \(Self.headerText(subject(zone: zone)))",
      "Date: \(Self.rfc5322Date(Date()))", "Message-ID: \(messageID)", "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
      "Auto-Submitted: auto-generated", "X-Custody-Kind: \(kind)",
    ]
    return headers.joined(separator: "\n") + "\n\n" + body(zone: zone, asOf: asOf)
  }

  /// A header's text: as it is when ASCII, else an RFC 2047 encoded word.
  static func headerText(_ text: String) -> String {
    if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) { return text }
    return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
  }

  static func rfc5322Date(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    return formatter.string(from: date)
  }
}

/// A JSON value as the outbox's facts hold it.
public enum JSONValue: Sendable, Decodable, CustomStringConvertible {
  case string(String), number(Double), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  static func parseObject(_ text: String) -> [String: JSONValue] {
    guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return [:] }
    return fields
  }

  public var string: String? { if case .string(let value) = self { return value } else { return nil } }
  public var bool: Bool? { if case .bool(let value) = self { return value } else { return nil } }
  public var array: [JSONValue]? { if case .array(let value) = self { return value } else { return nil } }
  public subscript(name: String) -> JSONValue? { if case .object(let value) = self { return value[name] } else { return nil } }

  /// An instant as PostgreSQL writes a timestamptz in JSON (2026-12-02T19:59:08.123456+00:00).
  public var instant: Date? {
    guard let text = string else { return nil }
    // Whole seconds are enough for mail; the fraction's length varies.
    let whole = text.replacing(/\.[0-9]+/, with: "")
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: whole)
  }

  public var description: String {
    switch self {
    case .string(let value): return value
    case .number(let value): return value == value.rounded() ? String(Int(value)) : String(value)
    case .bool(let value): return value ? "yes" : "no"
    case .array(let values): return values.map(\.description).joined(separator: ", ")
    case .object: return "{…}"
    case .null: return "-"
    }
  }
}

/// Composes what is due and hands each message to the mail system (CLI.md, "Notifications").
public struct Notifier {
  public let connection: Connection
  public let zone: Zone
  let environment: [String: String]

  public init(connection: Connection, zone: Zone, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.connection = connection
    self.zone = zone
    self.environment = environment
  }

  /// `CUSTODY_SENDMAIL`, else the system's sendmail.
  var sendmail: String { nonEmpty("CUSTODY_SENDMAIL") ?? "/usr/sbin/sendmail" }

  /// `CUSTODY_MAIL_FROM`, else custody@ this host.
  var from: String { nonEmpty("CUSTODY_MAIL_FROM") ?? "custody@" + ProcessInfo.processInfo.hostName }

  /// The agency's own mail domains (`CUSTODY_MAIL_DOMAINS`), or nil when any address may be used.
  var domains: Set<String>? {
    guard let list = nonEmpty("CUSTODY_MAIL_DOMAINS") else { return nil }
    return Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
  }

  private func nonEmpty(_ name: String) -> String? {
    environment[name].flatMap { $0.isEmpty ? nil : $0 }
  }

  static let select = "SELECT \(Message.columns) FROM custody.message m"

  /// Composes every message due at `asOf`; returns how many were composed and withdrawn.
  @discardableResult
  public func compose(asOf: Date) throws -> (composed: Int, withdrawn: Int) {
    let row = try connection.query("SELECT composed, withdrawn FROM custody.notify_compose($1::timestamptz)", [asOf]).first
    return (try row?.decode(0) ?? 0, try row?.decode(1) ?? 0)
  }

  /// What a run at `asOf` would compose and try to send, each handed to `each` as it is read,
  /// recording nothing.
  public func dryRun(asOf: Date, each: (Message) throws -> Void) throws {
    try connection.query("BEGIN")
    defer { _ = try? connection.query("ROLLBACK") }
    try compose(asOf: asOf)
    try connection.stream(
      """
      \(Self.select)
       WHERE m.xmin = pg_current_xact_id()::xid
          OR m.id IN (SELECT d.id FROM custody.notify_next($1::timestamptz) d)
       ORDER BY m.id
      """, [asOf]
    ) { row in try each(Message(row: row)) }
  }

  /// Composes, then delivers each queued message due for an attempt, one transaction each, and
  /// passes each outcome to `each`. Two runs at once never take the same message.
  public func run(asOf: Date, each: (Message) throws -> Void) throws {
    try connection.withTransaction { _ = try compose(asOf: asOf) }
    // Each message is tried at most once a run; a failed one waits for its retry time.
    var attempted = Set<Int64>()
    while true {
      let outcome: Message? = try connection.withTransaction {
        guard let next = try connection.query("SELECT \(Message.columns) FROM custody.notify_next($1::timestamptz) m", [asOf])
          .first.map(Message.init(row:)), !attempted.contains(next.id)
        else { return nil }
        attempted.insert(next.id)
        let (delivered, failure, final) = hand(next, asOf: asOf)
        let row = try connection.query(
          """
          SELECT \(Message.columns)
            FROM custody.notify_attempted($1::bigint, $2::timestamptz, $3::boolean, $4::text, $5::boolean) m
          """, [next.id, asOf, delivered, failure, final]
        ).first
        return try row.map(Message.init(row:))
      }
      guard let outcome else { break }
      try each(outcome)
    }
  }

  /// Hands one message to sendmail: (accepted, the mail system's words, whether to give up now).
  func hand(_ message: Message, asOf: Date) -> (Bool, String?, Bool) {
    guard let address = message.address else { return (false, "no address", true) }
    let domain = address.split(separator: "@").last.map { $0.lowercased() } ?? ""
    if let domains, !domains.contains(domain) { return (false, "external address", true) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: sendmail)
    process.arguments = ["-t", "-oi"]
    let input = Pipe()
    let said = Pipe()
    process.standardInput = input
    process.standardOutput = said
    process.standardError = said
    do {
      try process.run()
    } catch {
      return (false, "cannot run \(sendmail): \(error.localizedDescription)", false)
    }
    let text = message.rfc5322(from: from, zone: zone, asOf: asOf)
    // A program that stops reading early has its say in its exit status: 0 is accepted.
    try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    try? input.fileHandleForWriting.close()
    let words = String(decoding: said.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    process.waitUntilExit()
    if process.terminationReason == .exit && process.terminationStatus == 0 { return (true, nil, false) }
    let status = process.terminationReason == .exit ? "exit \(process.terminationStatus)" : "killed by signal \(process.terminationStatus)"
    return (false, "\(sendmail) \(status)" + (words.isEmpty ? "" : ": " + words), false)
  }

  /// Messages composed, newest first.
  public func list(office: String?, status: String?, since: Date?) throws -> [Message] {
    try connection.query(
      "SELECT \(Message.columns) FROM custody.notify_list($1::text, $2::text, coalesce($3::timestamptz, '-infinity')) m",
      [office, status, since]
    ).map(Message.init(row:))
  }
}
