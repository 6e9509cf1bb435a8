import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Refusals, invalid values and replays change nothing")
struct RefusalTests {
  /// A file checked out by pat, one in transit to STH, one at its base; labels in that order.
  func setUp(_ agency: Agency) throws -> (out: String, moving: String, home: String) {
    let labels = try agency.openCase("NTH/2026/0200", volumes: 3)
    #expect(try agency.run("pat", ["checkout", labels[0], "--whereabouts", "court", "--return-by", "+3h"]).status == 0)
    #expect(try agency.run("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
    return (labels[0], labels[1], labels[2])
  }

  @Test("each refusal and invalid value exits with its code, says why, and records nothing", arguments: TestDatabase.Install.allCases)
  func refusalsChangeNothing(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let (out, moving, home) = try setUp(agency)
      let long = String(repeating: "x", count: 2001)
      let cases: [(String?, [String], Int32, String)] = [
        // State refusals (1), naming the state and the holder.
        ("pip", ["checkout", out, "--whereabouts", "desk", "--return-by", "+1h"], 1, "is checked out by \(agency.login("pat")) since"),
        ("pat", ["checkout", moving, "--whereabouts", "desk", "--return-by", "+1h"], 1, "is in transit from NTH to STH since"),
        ("pat", ["return", home], 1, "is at its secure base NTH since"),
        ("pat", ["extend", home, "--return-by", "+1d"], 1, "is at its secure base NTH"),
        ("bea", ["receive", home], 1, "is at its secure base NTH"),
        ("bea", ["transfer", out, "--to", "STH", "--method", "hand", "--expected-by", "+1d"], 1, "is checked out by"),
        ("bea", ["transfer", home, "--to", "NTH", "--method", "hand", "--expected-by", "+1d"], 1, "is already at its secure base NTH"),
        ("bea", ["cancel-transfer", home, "--reason", "x"], 1, "is at its secure base"),
        ("bea", ["found", home, "--at", "NTH"], 1, "is at its secure base"),
        ("bea", ["file", "register", "NTH/2026/0200", "--volume", "1"], 1, "already has a volume 1"),
        ("bea", ["file", "register", "NTH/2026/0200", "--label", out], 1, "already in use"),
        ("bea", ["case", "open", "NTH/2026/0200", "--office", "NTH", "--law", "public"], 1, "already exists"),
        (nil, ["office", "add", "NTH", "--name", "Again"], 1, "office NTH already exists"),
        // Invalid values (65).
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "2020-01-01"], 65, "must be in the future"),
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "01/02/2026"], 65, "is not a time"),
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "2031-03-30T01:30"], 65, "does not exist in Europe/London"),
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "2031-10-26 01:30"], 65, "happens twice in Europe/London"),
        ("pat", ["checkout", home, "--whereabouts", "", "--return-by", "+1h"], 65, "whereabouts must be 1 to 2,000 characters"),
        ("pat", ["checkout", home, "--whereabouts", "   ", "--return-by", "+1h"], 65, "not blank"),
        ("pat", ["checkout", home, "--whereabouts", long, "--return-by", "+1h"], 65, "1 to 2,000 characters"),
        ("pat", ["checkout", home, "--whereabouts", "bell\u{07}", "--return-by", "+1h"], 65, "without control"),
        ("pat", ["checkout", home, "--whereabouts", "two\nlines", "--return-by", "+1h"], 65, "without control"),
        ("pat", ["checkout", "nth-000003", "--whereabouts", "desk", "--return-by", "+1h"], 65, "is not a valid label"),
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "+1h", "--request-id", "42"], 65, "is not a UUID"),
        ("bea", ["transfer", home, "--to", "STH", "--method", "secure-carrier", "--expected-by", "+1d"], 65, "needs the carrier"),
        ("bea", ["transfer", home, "--to", "STH", "--method", "hand", "--expected-by=-1d"], 65, "is not a time"),
        ("bea", ["transfer", home, "--to", "STH", "--method", "hand", "--expected-by", "-1d"], 65, "is not a time"),
        ("pat", ["checkout", home, "--whereabouts", "desk", "--return-by", "-1h"], 65, "--return-by '-1h' is not a time"),
        ("pat", ["extend", out, "--return-by", "-2d"], 65, "is not a time"),
        ("dee", ["report", "overdue", "--as-of", "-1h"], 65, "--as-of '-1h' is not a time"),
        ("bea", ["file", "register", "NTH/2026/0200", "--volume", "two"], 65, "is not a number"),
        ("bea", ["file", "register", "NTH/2026/0200", "--label", "NTH_1"], 65, "is not a valid label"),
        ("bea", ["case", "open", "NTH/2026/0201", "--office", "NTH", "--law", "public", "--child-born", "2099-01-01"], 65, "cannot be in the future"),
        ("bea", ["case", "open", "NTH/2026/0201", "--office", "NTH", "--law", "public", "--child-born", "1/1/2010"], 65, "is not a date"),
        ("bea", ["case", "open", "nth 1", "--office", "NTH", "--law", "public"], 65, "is not a valid case number"),
        (nil, ["office", "add", "nth", "--name", "Lower"], 65, "is not a valid office code"),
        (nil, ["staff", "add", "Bad Login", "--name", "X", "--role", "practitioner", "--office", "NTH"], 65, "is not a valid login"),
        // Usage (64): not one of an option's choices, missing options.
        ("bea", ["transfer", home, "--to", "STH", "--method", "pigeon", "--expected-by", "+1d"], 64, "pigeon"),
        ("pat", ["checkout", home, "--return-by", "+1h"], 64, "--whereabouts"),
        (nil, ["staff", "add", "zed", "--name", "Z", "--role", "boss", "--office", "NTH"], 64, "boss"),
        // Not found (66).
        ("pat", ["checkout", "NTH-999999", "--whereabouts", "desk", "--return-by", "+1h"], 66, "no file NTH-999999"),
        ("pat", ["whereabouts", "NTH-999999"], 66, "no file NTH-999999"),
        ("bea", ["transfer", home, "--to", "XYZ", "--method", "hand", "--expected-by", "+1d"], 66, "no secure base XYZ"),
        ("bea", ["transfer", home, "--to", "STH", "--method", "hand", "--expected-by", "+1d", "--courier", "nobody"], 66, "no member of staff nobody"),
        ("bea", ["file", "register", "NTH/2099/0001"], 66, "no case NTH/2099/0001"),
        ("bea", ["case", "show", "NTH/2099/0001"], 66, "no case NTH/2099/0001"),
        // Permission (77): the role or the office does not allow it.
        ("pat", ["transfer", home, "--to", "STH", "--method", "hand", "--expected-by", "+1d"], 77, "may not transfer files for office NTH"),
        ("sam", ["checkout", home, "--whereabouts", "desk", "--return-by", "+1h"], 66, "no file \(home)"),
        ("pat", ["missing", out, "--reason", "lost it"], 77, "may not report files missing for office NTH"),
        ("pip", ["return", out], 77, "on behalf of \(agency.login("pat"))"),
        ("bea", ["receive", moving], 77, "cannot receive it"),
        ("pat", ["office", "add", "EST", "--name", "East"], 77, "only the database owner or a director"),
        ("bea", ["staff", "add", "zed", "--name", "Z", "--role", "practitioner", "--office", "NTH"], 77, "may add staff"),
        ("bea", ["case", "open", "NTH/2026/0202", "--office", "NTH", "--law", "public", "--classification", "confidential"], 77, "service manager or a director"),
        (nil, ["checkout", home, "--whereabouts", "desk", "--return-by", "+1h"], 77, "is not a member of staff"),
      ]
      let before = try agency.eventCount()
      let states = try [out, moving, home].map { try agency.state($0) }
      for (person, arguments, code, phrase) in cases {
        let outcome = try agency.run(person, arguments, zone: "Europe/London")
        #expect(outcome.status == code, "\(arguments): \(outcome)")
        #expect(outcome.stderr.hasPrefix("custody: error: "), "\(arguments): \(outcome)")
        #expect(outcome.stderr.contains(phrase), "\(arguments): \(outcome)")
        #expect(outcome.stdout.isEmpty, "\(arguments): \(outcome)")
      }
      #expect(try agency.eventCount() == before)
      let after = try [out, moving, home].map { try agency.state($0) }
      #expect(after.map(\.status) == states.map(\.status))
      #expect(after.map(\.holder) == states.map(\.holder))
      let rows = try db.connect().query("SELECT (SELECT count(*) FROM custody.case_record), (SELECT count(*) FROM custody.staff)").first
      #expect(try rows?.decode(0, as: Int.self) == 1)
      #expect(try rows?.decode(1, as: Int.self) == Agency.people.count)
    }
  }

  @Test("a replayed request id returns the first outcome and records nothing new", arguments: TestDatabase.Install.allCases)
  func replay(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0300")[0]
      let id = UUID().uuidString
      let arguments = ["checkout", label, "--whereabouts", "court", "--return-by", "+3h", "--request-id", id, "--format", "json"]
      let first = try agency.run("pat", arguments)
      #expect(first.status == 0, "\(first)")
      let count = try agency.eventCount()
      let again = try agency.run("pat", arguments)
      #expect(again.status == 0, "\(again)")
      #expect(again.stdout == first.stdout)
      #expect(try agency.eventCount() == count)
      // A different return time under the same id is still the first outcome.
      let changed = try agency.run("pat", ["checkout", label, "--whereabouts", "elsewhere", "--return-by", "+9h", "--request-id", id, "--format", "json"])
      #expect(changed.stdout == first.stdout)
      // The same id for another command, or by another login, is refused.
      let other = try agency.run("pat", ["return", label, "--request-id", id])
      #expect(other.status == 65, "\(other)")
      #expect(other.stderr.contains("already used for a different command"))
      let someoneElse = try agency.run("pip", arguments)
      #expect(someoneElse.status == 65, "\(someoneElse)")
      // Someone who cannot see the file is answered as for any file they may not see.
      let stranger = try agency.run("sam", ["return", label, "--request-id", id])
      #expect(stranger.status == 66, "\(stranger)")
      #expect(stranger.stderr == "custody: error: no file \(label)\n", "\(stranger)")
      #expect(try agency.eventCount() == count)
      // Replays of a request racing itself still record once.
      let racing = UUID().uuidString
      let outcomes = try Concurrently.run(10) { _ in
        try agency.run("pat", ["return", label, "--request-id", racing, "--format", "json"])
      }.map { try $0.get() }
      #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes)")
      #expect(Set(outcomes.map(\.stdout)).count == 1)
      #expect(try agency.eventKinds(label) == ["registered", "checked_out", "returned"])
    }
  }

  @Test("the events table refuses UPDATE, DELETE and TRUNCATE, for its owner too", arguments: TestDatabase.Install.allCases)
  func appendOnly(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/2026/0400")
      let owner = try db.connect()
      // A superuser's install leaves the events to custody_owner; act as that owner.
      if install == .superuser { try owner.execute("SET ROLE \(InstallState.engineRole)") }
      let count = try agency.eventCount()
      for statement in [
        "UPDATE custody.event SET actor = 'someone else'",
        "DELETE FROM custody.event",
        "TRUNCATE custody.event",
        "TRUNCATE custody.event CASCADE",
      ] {
        let error = #expect(throws: PostgresError.self, "\(statement)") { try owner.execute(statement) }
        #expect(error?.sqlstate == "42501", "\(statement)")
      }
      // Granting itself the privileges back, it still changes nothing: row-level security has no
      // UPDATE or DELETE policy for events, and without that layer too the triggers refuse.
      try owner.execute("GRANT UPDATE, DELETE, TRUNCATE ON custody.event TO CURRENT_USER")
      #expect(try owner.execute("UPDATE custody.event SET actor = 'x'") == 0)
      #expect(try owner.execute("DELETE FROM custody.event") == 0)
      try owner.execute("ALTER TABLE custody.event NO FORCE ROW LEVEL SECURITY")
      for statement in ["UPDATE custody.event SET actor = 'x'", "DELETE FROM custody.event", "TRUNCATE custody.event"] {
        let error = #expect(throws: PostgresError.self, "\(statement)") { try owner.execute(statement) }
        #expect(error?.message.contains("append-only") == true, "\(statement)")
      }
      #expect(try agency.eventCount() == count)
    }
  }

  @Test("staff cannot write any table directly; only the custody API changes state", arguments: TestDatabase.Install.allCases)
  func noDirectWrites(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0500")[0]
      let staff = try db.connect(user: agency.login("dee"))
      for statement in [
        "UPDATE custody.file SET status = 'destroyed'",
        "DELETE FROM custody.event",
        "INSERT INTO custody.office (code, name) VALUES ('ZZ', 'Rogue')",
        "UPDATE custody.staff SET role = 'director'",
        "TRUNCATE custody.removal",
        "INSERT INTO custody.event (kind, request_id, subject) VALUES ('found', gen_random_uuid(), 'x')",
      ] {
        let error = #expect(throws: PostgresError.self, "\(statement)") { try staff.execute(statement) }
        #expect(error?.sqlstate == "42501", "\(statement)")
      }
      #expect(try agency.state(label).status == "at_base")
    }
  }

  @Test("the actor is the login; a login that is not staff is refused with 77", arguments: TestDatabase.Install.allCases)
  func actorIsTheLogin(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0600")[0]
      let stranger = "stranger_\(db.suffix)"
      try TestDatabase.admin().executeTrustedScript("CREATE ROLE \(stranger) LOGIN")
      let outcome = try CLI.run(
        ["checkout", label, "--whereabouts", "x", "--return-by", "+1h"],
        environment: ["CUSTODY_DATABASE_URL": db.conninfo(user: stranger)])
      #expect(outcome.status == 77, "\(outcome)")
      // Even through SQL, the function records session_user, not anything passed in.
      let pat = try db.connect(user: agency.login("pat"))
      try pat.query("SELECT custody.checkout(gen_random_uuid(), $1, 'desk', now() + interval '1 hour')", [label])
      let actor = try db.connect().query(
        "SELECT actor FROM custody.event WHERE kind = 'checked_out' ORDER BY id DESC LIMIT 1"
      ).first?.decode(0, as: String.self)
      #expect(actor == agency.login("pat"))
    }
  }

  @Test("text up to 2,000 characters, with tabs, quotes and any script, is stored verbatim", arguments: TestDatabase.Install.allCases)
  func verbatimText(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/2026/0700", volumes: 2)
      let longest = String(repeating: "é", count: 2000)
      let odd = "O'Brien's \"office\"\t→ 🗂️ 子ども Ελλάδα"
      for (label, text) in zip(labels, [longest, odd]) {
        let outcome = try agency.run("pat", ["checkout", label, "--whereabouts", text, "--return-by", "+1h"])
        #expect(outcome.status == 0, "\(outcome)")
        let stored = try db.connect().query(
          "SELECT r.whereabouts FROM custody.removal r JOIN custody.file f ON f.id = r.file_id WHERE f.label = $1", [label]
        ).first?.decode(0, as: String.self)
        #expect(stored == text)
      }
    }
  }

  @Test("the database refuses values outside the rules even from the owner, and changes nothing", arguments: TestDatabase.Install.allCases)
  func domainsHoldForTheOwner(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0105")[0]
      let owner = try db.connect()
      let writes: [(String, [(any PostgresParameter)?])] = [
        ("UPDATE custody.file SET status = 'lost' WHERE label = $1", [label]),
        ("UPDATE custody.file SET label = 'lower-case' WHERE label = $1", [label]),
        ("UPDATE custody.file SET volume = 0 WHERE label = $1", [label]),
        ("INSERT INTO custody.event (kind, request_id, subject) VALUES ('tidied', gen_random_uuid(), $1)", [label]),
        (
          """
          INSERT INTO custody.removal (file_id, office, holder, whereabouts, expected_return)
          SELECT id, office, $2, E'desk\\n', now() + interval '1 hour' FROM custody.file WHERE label = $1
          """, [label, agency.login("pat")]
        ),
      ]
      let before = try agency.eventCount()
      for (sql, parameters) in writes {
        let error = #expect(throws: PostgresError.self, "\(sql)") { try owner.execute(sql, parameters) }
        #expect(error?.sqlstate == "23514", "\(sql)")
      }
      #expect(try agency.state(label).status == "at_base")
      #expect(try agency.eventCount() == before)
    }
  }
}
