import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// An agency whose offices and staff have addresses, and a mail chain to deliver to.
struct Mailroom {
  let db: TestDatabase
  let agency: Agency
  let mail: MailServer

  init(_ db: TestDatabase) throws {
    self.db = db
    agency = try Agency.make(in: db)
    mail = try MailServer()
    _ = try CustodyAPI(try db.connect()).addStaff(
      request: UUID(), login: agency.login("ola"), name: "Ola", role: "office-manager", office: "STH",
      employment: "employed", homeBased: false, email: nil)
    let owner = try db.connect(user: TestDatabase.superuser)
    _ = try owner.execute("UPDATE custody.office SET email = lower(code) || '@agency.example'")
    _ = try owner.execute("UPDATE custody.staff SET email = login || '@agency.example'")
  }

  func address(_ name: String) -> String { agency.login(name) + "@agency.example" }

  /// `custody notify ...` as `who` (the database owner when nil), times in UTC.
  func notify(_ who: String? = nil, _ arguments: [String], domains: String? = nil) throws -> CLI.Outcome {
    var environment = mail.environment(domains: domains)
    environment["CUSTODY_DATABASE_URL"] = db.conninfo(user: who.map(agency.login) ?? db.installer)
    environment["CUSTODY_TZ"] = "UTC"
    return try CLI.run(["notify"] + arguments, environment: environment)
  }

  /// Runs `notify run` at now plus `minutes`, and requires it to succeed.
  @discardableResult
  func run(after minutes: Int, domains: String? = nil) throws -> CLI.Outcome {
    let outcome = try notify(nil, ["run", "--as-of", at(minutes: minutes)], domains: domains)
    #expect(outcome.status == 0, "\(outcome)")
    return outcome
  }

  /// The delivered messages of one kind.
  func delivered(_ kind: String) throws -> [String] { try mail.messages(where: "X-Custody-Kind", is: kind) }

  /// Messages of the outbox as JSON rows.
  func outbox(_ extra: [String] = []) throws -> [[String: Any]] {
    try notify(nil, ["list", "--format", "json"] + extra).jsonRows()
  }

  /// An instant `minutes` from now, as --as-of takes it.
  func at(minutes: Int) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date().addingTimeInterval(TimeInterval(minutes * 60)))
  }
}

extension String {
  func header(_ name: String) -> String? {
    split(separator: "\n").prefix { !$0.isEmpty }.first { $0.hasPrefix(name + ": ") }.map {
      String($0.dropFirst(name.count + 2))
    }
  }
}

@Suite("Notifications through a real mail chain: sendmail (msmtp) to an SMTP server writing a Maildir")
struct NotificationTests {
  @Test("a dispatch tells the receiving office what is coming; a receipt under another seal names the discrepancy")
  func transferMessages() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let label = try room.agency.openCase("NTH/MAIL/1")[0]
      #expect(try room.agency.run("bea", [
        "transfer", label, "--to", "STH", "--method", "secure-carrier", "--carrier", "Citysprint", "--reference", "CS-42",
        "--seal", "S-100", "--expected-by", "+1d",
      ]).status == 0)
      try room.run(after: 1)
      let arrivals = try room.delivered("expected_arrival")
      #expect(arrivals.count == 1, "\(arrivals)")
      let arrival = try #require(arrivals.first)
      #expect(arrival.header("To") == "sth@agency.example")
      #expect(arrival.header("Subject")?.contains(label) == true, "\(arrival)")
      for fact in ["Case: NTH/MAIL/1", "From: NTH", "To: STH", "Citysprint", "Reference: CS-42", "Seal: S-100",
                   "Expected arrival: "] {
        #expect(arrival.contains(fact), "\(fact) in \(arrival)")
      }
      #expect(arrival.header("Message-ID")?.hasSuffix("@custody>") == true)
      #expect(!arrival.contains("born"), "no child's date of birth")

      #expect(try room.agency.run("sam", ["receive", label, "--seal", "S-999"]).status == 0)
      try room.run(after: 2)
      let receipts = try room.delivered("receipt")
      #expect(Set(receipts.compactMap { $0.header("To") }) == ["nth@agency.example", room.address("bea")], "\(receipts)")
      for receipt in receipts {
        #expect(receipt.header("Subject")?.contains("Seal discrepancy") == true, "\(receipt)")
        #expect(receipt.header("Subject")?.contains("S-999") == true, "\(receipt)")
      }
      // The arrival was told once, however often the run is repeated.
      try room.run(after: 3)
      #expect(try room.delivered("expected_arrival").count == 1)
    }
  }

  @Test("overdue to the holder, escalated after 24 hours; extensions, returns and late transfers at fixed instants")
  func deadlines() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let agency = room.agency
      let labels = try agency.openCase("NTH/MAIL/2", volumes: 4)
      for label in labels.prefix(3) {
        #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "Leeds court", "--return-by", "+2h"]).status == 0)
      }
      // Extended before its return time: nothing is due for it at +3h.
      #expect(try agency.run("pat", ["extend", labels[1], "--return-by", "+30h"]).status == 0)
      #expect(try agency.run("bea", ["transfer", labels[3], "--to", "STH", "--method", "hand", "--expected-by", "+1h"]).status == 0)

      // A minute before the transfer's expected arrival (--as-of drops the seconds' fraction).
      try room.run(after: 59)
      #expect(try room.delivered("overdue").isEmpty)
      #expect(try room.delivered("late_transit").isEmpty)

      // The SMTP server is down at +3h: the overdue messages are composed and stay queued.
      room.mail.stop()
      let down = try room.run(after: 180)
      #expect(down.stdout.contains("queued (attempt 1 of 5)"), "\(down)")
      // labels[2] comes back before the next run: its message is withdrawn, not sent.
      #expect(try agency.run("pat", ["return", labels[2]]).status == 0)
      try room.mail.start()
      try room.run(after: 190)
      let overdue = try room.delivered("overdue")
      #expect(overdue.count == 1, "\(overdue)")
      #expect(overdue.first?.header("To") == room.address("pat"))
      #expect(overdue.first?.header("Subject")?.contains(labels[0]) == true)
      #expect(overdue.first?.contains("Whereabouts: Leeds court") == true)
      #expect(overdue.first?.contains("Overdue by: ") == true)
      let withdrawn = try room.outbox(["--status", "withdrawn"])
      #expect(withdrawn.map { $0["label"] as? String } == [labels[2]], "\(withdrawn)")
      // Late in transit: the sending and the receiving office.
      let late = try room.delivered("late_transit")
      #expect(Set(late.compactMap { $0.header("To") }) == ["nth@agency.example", "sth@agency.example"], "\(late)")

      // 24 hours past its return time: the holder and the file's office managers.
      let escalated = try room.run(after: 60 * 27)
      let escalation = try room.delivered("overdue_escalation")
      let outbox = try room.outbox()
      #expect(
        Set(escalation.compactMap { $0.header("To") }) == [room.address("pat"), room.address("oma")],
        "\(escalation)\n\(escalated)\n\(outbox)")
      #expect(escalation.allSatisfy { $0.header("Subject")?.contains(labels[0]) == true })
      // The extended file passes its new time at +30h.
      try room.run(after: 60 * 31)
      let extended = try room.delivered("overdue").filter { $0.header("Subject")?.contains(labels[1]) == true }
      #expect(extended.count == 1, "\(extended)")
      #expect(try room.delivered("overdue").count == 2)
    }
  }

  @Test("a closure due within 7 days is sent to the practitioner and the office managers; a digest once a day per office")
  func closuresAndDigests() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let agency = room.agency
      _ = try agency.openCase("NTH/MAIL/3")
      #expect(try agency.run("bea", ["case", "allocate", "NTH/MAIL/3", "--practitioner", agency.login("pat")]).status == 0)
      #expect(try agency.run("bea", ["case", "end", "NTH/MAIL/3"]).status == 0)
      // Tomorrow, before and after 07:00 UTC, and later that day.
      let tomorrow = ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400)).prefix(10)
      for (time, digests) in [("06:30", 0), ("07:05", 2), ("09:00", 2)] {
        let outcome = try room.notify(nil, ["run", "--as-of", "\(tomorrow)T\(time)Z"])
        #expect(outcome.status == 0, "\(outcome)")
        let tomorrowsDigests = try room.delivered("digest").filter { $0.header("Subject")?.contains(String(tomorrow)) == true }
        #expect(tomorrowsDigests.count == digests, "at \(time): \(tomorrowsDigests)")
      }
      let digests = try room.delivered("digest").filter { $0.header("Subject")?.contains(String(tomorrow)) == true }
      #expect(Set(digests.compactMap { $0.header("To") }) == [room.address("oma"), room.address("ola")])
      for section in ["Overdue: ", "Late in transit: ", "Arriving today: ", "Closures due: "] {
        #expect(digests.allSatisfy { $0.contains(section) }, "\(section) in \(digests)")
      }
      // Not yet due tomorrow: the closure is due in 28 days, and mail goes from 7 days before.
      #expect(try room.delivered("closure_due").isEmpty)
      try room.run(after: 60 * 24 * 22)
      let closures = try room.delivered("closure_due")
      #expect(Set(closures.compactMap { $0.header("To") }) == [room.address("pat"), room.address("oma")], "\(closures)")
      #expect(closures.allSatisfy { $0.header("Subject")?.contains("NTH/MAIL/3") == true })
    }
  }

  @Test("a run's cheap look for causes lists every kind of message due, in every window")
  func causesFoundInEveryWindow() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let agency = room.agency
      let labels = try agency.openCase("NTH/MAIL/8", volumes: 3)
      #expect(try agency.run("pat", ["checkout", labels[0], "--whereabouts", "court", "--return-by", "+2h"]).status == 0)
      #expect(try agency.run("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+3h"]).status == 0)
      #expect(try agency.run("bea", ["transfer", labels[2], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", labels[2]]).status == 0)
      _ = try agency.openCase("NTH/MAIL/9")
      #expect(try agency.run("bea", ["case", "end", "NTH/MAIL/9"]).status == 0)
      // Windows of 40 minutes, every 20 minutes, from an hour ago to 30 days ahead.
      let judge = """
        WITH windows AS (
          SELECT w.since, w.since + interval '40 minutes' AS as_of
            FROM generate_series(now() - interval '1 hour', now() + interval '30 days', interval '20 minutes') w (since)
        ), judged AS (
          SELECT custody.notify_causes(w.since, w.as_of) AS looked,
                 ARRAY(SELECT DISTINCT d.kind FROM custody.notifications_due(w.since, w.as_of) d) AS due
            FROM windows w
        )
        SELECT count(*) FILTER (WHERE NOT due <@ looked),
               count(*) FILTER (WHERE cardinality(looked) = 0),
               ARRAY(SELECT DISTINCT k FROM judged, unnest(due) k ORDER BY 1)::text,
               ARRAY(SELECT DISTINCT k FROM judged, unnest(looked) k ORDER BY 1)::text
          FROM judged
        """
      let row = try db.connect().query(judge).first
      #expect(try row?.decode(0, as: Int.self) == 0, "windows with a kind of message due that the look missed")
      let idle = try row?.decode(1, as: Int.self) ?? 0
      #expect(idle > 500, "windows where the look finds nothing and nothing is due: \(idle)")
      #expect(
        try row?.decode(2, as: String.self)
          == "{closure_due,digest,expected_arrival,late_transit,overdue,overdue_escalation,receipt}")
      // Once the overdue message is composed, its escalation a day later is still looked for.
      try room.run(after: 60 * 3)
      let overdueComposed = try db.connect().query(judge).first
      #expect(try overdueComposed?.decode(0, as: Int.self) == 0, "windows with a kind of message due that the look missed")
      #expect(try overdueComposed?.decode(2, as: String.self).contains("overdue_escalation") == true)
      // Once a run has composed all of it, the look finds only the digests of other days.
      try room.run(after: 60 * 24 * 31)
      let after = try db.connect().query(judge).first
      #expect(try after?.decode(0, as: Int.self) == 0)
      #expect(try after?.decode(2, as: String.self) == "{digest}")
      let lookedAfter = try after?.decode(3, as: String.self)
      #expect(lookedAfter == "{digest}", "\(String(describing: lookedAfter))")
    }
  }

  @Test("a run repeated, and two runs at once, deliver each message exactly once")
  func exactlyOnce() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let labels = try room.agency.openCase("NTH/MAIL/4", volumes: 6)
      for label in labels {
        #expect(try room.agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      }
      let runs = Concurrently.run(2) { _ in try room.notify(nil, ["run", "--as-of", room.at(minutes: 1)]) }
      for run in runs { #expect((try? run.get().status) == 0, "\(run)") }
      try room.run(after: 2)
      try room.run(after: 3)
      let arrivals = try room.delivered("expected_arrival")
      #expect(arrivals.count == 6, "\(arrivals.count) delivered")
      #expect(Set(arrivals.compactMap { $0.header("Message-ID") }).count == 6)
      let sent = try room.outbox(["--status", "sent"]).filter { $0["kind"] as? String == "expected_arrival" }
      #expect(sent.count == 6)
      #expect(sent.allSatisfy { $0["attempts"] as? Int == 1 && $0["to"] as? [String] == ["sth@agency.example"] })
    }
  }

  @Test("with the SMTP server stopped, messages stay queued and are retried later, failed after 5 attempts; restarted, queued ones go out")
  func retries() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let first = try room.agency.openCase("NTH/MAIL/5")[0]
      let second = try room.agency.openCase("NTH/MAIL/6")[0]
      room.mail.stop()
      #expect(try room.agency.run("bea", ["transfer", first, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      try room.run(after: 1)
      #expect(try room.agency.run("bea", ["transfer", second, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      // The n-th retry is due 5 x 2^(n-1) minutes after the last attempt.
      let early = try room.run(after: 3)
      #expect(!early.stdout.contains(first), "retried before its time: \(early)")
      for minute in [7, 17, 37, 77] { try room.run(after: minute) }
      let messages = try room.outbox()
      func message(_ label: String) -> [String: Any]? {
        messages.first { $0["label"] as? String == label && $0["kind"] as? String == "expected_arrival" }
      }
      #expect(message(first)?["status"] as? String == "failed", "\(messages)")
      #expect(message(first)?["attempts"] as? Int == 5)
      #expect((message(first)?["error"] as? String)?.contains("sendmail") == true, "\(messages)")
      #expect(message(second)?["status"] as? String == "queued")
      #expect(message(second)?["attempts"] as? Int == 4)
      try room.mail.start()
      try room.run(after: 80)
      #expect(try room.delivered("expected_arrival").isEmpty, "not due again until 40 minutes after the fourth attempt")
      try room.run(after: 120)
      let delivered = try room.delivered("expected_arrival")
      #expect(delivered.count == 1)
      #expect(delivered.first?.header("Subject")?.contains(second) == true)
      let failed = try room.notify(nil, ["list", "--status", "failed"])
      #expect(failed.stdout.contains(first), "\(failed)")
    }
  }

  @Test("an address outside CUSTODY_MAIL_DOMAINS is never handed to sendmail; a dry run records and sends nothing")
  func externalAndDryRun() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      _ = try db.connect(user: TestDatabase.superuser).execute(
        "UPDATE custody.office SET email = 'south@elsewhere.example' WHERE code = 'STH'")
      let label = try room.agency.openCase("NTH/MAIL/7")[0]
      #expect(try room.agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let dry = try room.notify(nil, ["run", "--dry-run", "--as-of", room.at(minutes: 1), "--format", "json"])
      #expect(dry.status == 0, "\(dry)")
      #expect(try dry.jsonRows().contains { $0["kind"] as? String == "expected_arrival" }, "\(dry)")
      #expect(try room.outbox().isEmpty, "a dry run recorded messages")
      #expect(try room.mail.messages().isEmpty)

      try room.run(after: 1, domains: "agency.example")
      #expect(try room.delivered("expected_arrival").isEmpty)
      let failed = try room.outbox(["--status", "failed"]).filter { $0["kind"] as? String == "expected_arrival" }
      #expect(failed.count == 1)
      #expect(failed.first?["error"] as? String == "external address")
      #expect(failed.first?["to"] as? [String] == ["south@elsewhere.example"])
    }
  }

  @Test("notify run is for the owner, directors and the notifier; notify list also for office managers, their office's")
  func permissions() throws {
    try TestDatabase.with { db in
      let room = try Mailroom(db)
      let label = try room.agency.openCase("NTH/MAIL/8")[0]
      #expect(try room.agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      for who in ["pat", "bea", "oma"] {
        let refused = try room.notify(who, ["run"])
        #expect(refused.status == 77, "\(who): \(refused)")
      }
      #expect(try room.outbox().isEmpty)
      // A cron job's own login, in the group role migrate made.
      let cron = "cron_\(db.suffix)"
      let admin = try db.connect(user: TestDatabase.superuser)
      _ = try admin.execute("CREATE ROLE \(cron) LOGIN IN ROLE custody_notifier")
      var environment = room.mail.environment()
      environment["CUSTODY_DATABASE_URL"] = db.conninfo(user: cron)
      let byCron = try CLI.run(["notify", "run", "--as-of", room.at(minutes: 1)], environment: environment)
      _ = try admin.execute("DROP ROLE \(cron)")
      #expect(byCron.status == 0, "\(byCron)")
      #expect(try room.delivered("expected_arrival").count == 1)
      // South's manager sees South's messages; North's sees none of them; others may not list.
      let south = try room.notify("ola", ["list", "--format", "json"]).jsonRows()
      #expect(!south.isEmpty && south.allSatisfy { $0["office"] as? String == "STH" }, "\(south)")
      let north = try room.notify("oma", ["list", "--format", "json"]).jsonRows()
      #expect(north.allSatisfy { $0["office"] as? String == "NTH" }, "\(north)")
      let practitioner = try room.notify("pat", ["list"])
      #expect(practitioner.status == 77, "\(practitioner)")
    }
  }
}
