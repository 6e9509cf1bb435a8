import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// The SQLSTATE of a statement run as `login`, or nil when it succeeded.
private func sqlstate(_ db: TestDatabase, _ login: String, _ sql: String, _ parameters: [(any PostgresParameter)?] = [])
  throws -> String?
{
  do {
    try db.connect(user: login).query(sql, parameters)
    return nil
  } catch let error as PostgresError {
    return error.sqlstate
  }
}

@Suite("Access rules hold under every install")
struct SoundInstallTests {
  @Test("another office's file and a colleague's confidential file cannot be taken, in the CLI or in SQL",
        arguments: TestDatabase.Install.allCases)
  func otherOfficesAndConfidentialFiles(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      _ = try CustodyAPI(try db.connect()).addStaff(
        request: UUID(), login: agency.login("fay"), name: "Fay", role: "family-support-worker", office: "NTH",
        employment: "employed", homeBased: false, email: nil)
      let south = try agency.openCase("STH/SIX/1", office: "STH", volumes: 2)
      let dee = CustodyAPI(try db.connect(user: agency.login("dee")))
      _ = try dee.openCase(
        request: UUID(), number: "NTH/SIX/C", office: "NTH", law: "public", classification: "confidential",
        childrenBorn: [], practitioner: agency.login("pip"))
      let secret = try dee.registerFile(request: UUID(), caseNumber: "NTH/SIX/C", volume: nil, kind: "file", label: nil)
        .label ?? ""
      let before = try agency.eventCount()
      for (who, label) in [("pat", south[0]), ("pat", secret), ("fay", secret), ("oma", south[0])] {
        let seen = try agency.run(who, ["whereabouts", label])
        #expect(seen.status == 66, "\(who) \(label): \(seen)")
        let taken = try agency.run(who, ["checkout", label, "--whereabouts", "x", "--return-by", "+1d"])
        #expect(taken.status == 66, "\(who) \(label): \(taken)")
        #expect(taken.stderr == "custody: error: no file \(label)\n", "\(taken)")
        let direct = try sqlstate(
          db, agency.login(who), "SELECT custody.checkout(gen_random_uuid(), $1, 'x', now() + interval '1 day')", [label])
        #expect(direct == "U0002", "\(who) \(label)")
      }
      #expect(try agency.eventCount() == before)
      #expect(try agency.state(south[0]).status == "at_base")
      #expect(try agency.state(secret).status == "at_base")
      let rows = try db.connect(user: agency.login("pat")).query(
        "SELECT count(*) FROM custody.case_record WHERE number IN ('STH/SIX/1', 'NTH/SIX/C')")
      #expect(try rows.first?.decode(0, as: Int.self) == 0)
      // Those the files are for still take them.
      #expect(try agency.run("pip", ["checkout", secret, "--whereabouts", "x", "--return-by", "+1d"]).status == 0)
      #expect(try agency.run("hana", ["checkout", south[1], "--whereabouts", "x", "--return-by", "+1d"]).status == 0)

      // The summary lists the offices a login answers for, never another's zeros.
      for (who, offices) in [("oma", ["NTH"]), ("sam", ["STH"]), ("pat", ["NTH"]), ("dee", ["NTH", "STH"])] {
        let summary = try agency.run(who, ["report", "summary", "--format", "json"])
        let rows = try summary.jsonRows()
        #expect(rows.map { $0["office"] as? String } == offices, "\(who): \(summary)")
      }
    }
  }

  @Test("staff are added by rank, and an existing login is adopted only on purpose", arguments: TestDatabase.Install.allCases)
  func staffByRank(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let before = try agency.eventCount()
      func add(_ who: String, _ login: String, _ role: String, _ office: String, adopt: Bool = false) throws -> CLI.Outcome {
        try agency.run(
          who, ["staff", "add", login, "--name", "Someone", "--role", role, "--office", office]
            + (adopt ? ["--adopt-login"] : []))
      }
      let mallory = "mallory_\(db.suffix)"
      for role in ["director", "service-manager", "office-manager"] {
        let outcome = try add("oma", mallory, role, "NTH")
        #expect(outcome.status == 77, "\(role): \(outcome)")
      }
      #expect(try add("oma", mallory, "practitioner", "STH").status == 77)
      #expect(try add("bea", mallory, "practitioner", "NTH").status == 77)
      #expect(try agency.eventCount() == before)
      let mallorysRole = try TestDatabase.admin().query("SELECT 1 FROM pg_roles WHERE rolname = $1", [mallory])
      #expect(mallorysRole.count == 0)

      let reader = "app_reader_\(db.suffix)"
      try TestDatabase.admin().executeTrustedScript("CREATE ROLE \(reader) LOGIN")
      let silently = try add("oma", reader, "practitioner", "NTH")
      #expect(silently.status == 1, "\(silently)")
      #expect(silently.stderr.contains("already exists and is not a member of staff"), "\(silently)")
      #expect(silently.stderr.contains("--adopt-login"), "\(silently)")
      #expect(try add("oma", reader, "practitioner", "NTH", adopt: true).status == 77)
      #expect(try add("dee", reader, "director", "NTH").status == 1)
      #expect(try agency.eventCount() == before)
      let isDirector = try TestDatabase.admin().query(
        "SELECT pg_has_role($1, 'custody_director', 'MEMBER')", [reader]).first?.decode(0, as: Bool.self)
      #expect(isDirector == false)

      // What an office manager may do, and what a director may.
      #expect(try add("oma", mallory, "practitioner", "NTH").status == 0)
      #expect(try add("dee", reader, "business-support", "NTH", adopt: true).status == 0)
      #expect(try add("dee", "sm_\(db.suffix)", "service-manager", "STH").status == 0)
    }
  }

  @Test("labels and case numbers keep to their office, and numbering passes labels the login cannot see",
        arguments: TestDatabase.Install.allCases)
  func labelsAndNumbers(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let south = try agency.openCase("STH/LBL/1", office: "STH")
      let north = try agency.openCase("NTH/LBL/1", volumes: 2)
      #expect(south == ["STH-000001"])
      let before = try agency.eventCount()
      for label in ["STH-000085", "STH-000001", "STH/9"] {
        let outcome = try agency.run("bea", ["file", "register", "NTH/LBL/1", "--label", label])
        #expect(outcome.status == 65, "\(label): \(outcome)")
        #expect(outcome.stderr.contains("begins with STH, the code of office STH"), "\(outcome)")
      }
      for number in ["STH/LBL/1", "STH/LBL/2"] {
        let outcome = try agency.run("bea", ["case", "open", number, "--office", "NTH", "--law", "public"])
        #expect(outcome.status == 65, "\(number): \(outcome)")
      }
      #expect(try agency.eventCount() == before)

      // A label taken before this rule, on a file South cannot see: South's numbering passes it.
      try db.connect().query("UPDATE custody.file SET label = 'STH-000002' WHERE label = $1", [north[1]])
      let next = try agency.run("sam", ["file", "register", "STH/LBL/1"])
      #expect(next.status == 0, "\(next)")
      #expect(next.stdout.contains("STH-000003"), "\(next)")

      // A number or label without an office's code, taken where the login cannot see it, is
      // answered as one it can see is, and never in the database's words.
      #expect(try agency.run("sam", ["case", "open", "LEG/7", "--office", "STH", "--law", "public"]).status == 0)
      #expect(try agency.run("sam", ["file", "register", "LEG/7", "--label", "OLD-1"]).status == 0)
      let taken = [
        try agency.run("bea", ["case", "open", "LEG/7", "--office", "NTH", "--law", "public"]),
        try agency.run("bea", ["case", "open", "NTH/LBL/1", "--office", "NTH", "--law", "public"]),
        try agency.run("bea", ["file", "register", "NTH/LBL/1", "--label", "OLD-1"]),
        try agency.run("bea", ["file", "register", "NTH/LBL/1", "--label", north[0]]),
      ]
      #expect(taken.map(\.status) == [1, 1, 1, 1], "\(taken)")
      #expect(taken[0].stderr == "custody: error: case LEG/7 already exists\n")
      #expect(taken[2].stderr == "custody: error: the label OLD-1 is already in use\n")
      for outcome in taken {
        #expect(!outcome.stderr.contains("duplicate") && !outcome.stderr.contains("constraint"), "\(outcome)")
      }
    }
  }

  @Test("a case's changes reach every volume, wherever it is: its office keeps each in sight",
        arguments: TestDatabase.Install.allCases)
  func volumesElsewhere(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      _ = try CustodyAPI(try db.connect()).addStaff(
        request: UUID(), login: agency.login("sim"), name: "Sim", role: "service-manager", office: "NTH",
        employment: "employed", homeBased: false, email: nil)
      let labels = try agency.openCase("NTH/AWAY/1", volumes: 2)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/AWAY/1", "--born", "2015-04-01"]).status == 0)
      #expect(try agency.run("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", labels[1]]).status == 0)
      #expect(try agency.state(labels[1]).base == "STH")
      // North still sees the volume now kept at South, and answers for it.
      #expect(try agency.run("bea", ["whereabouts", labels[1]]).status == 0)
      #expect(try agency.run("pat", ["whereabouts", labels[1]]).status == 0)
      #expect(try agency.run("hana", ["checkout", labels[1], "--whereabouts", "x", "--return-by", "+1d"]).status == 0)
      #expect(try agency.run("bea", ["case", "end", "NTH/AWAY/1"]).status == 0)
      let closing = try agency.run("bea", ["case", "close", "NTH/AWAY/1"])
      #expect(closing.status == 1, "\(closing)")
      #expect(closing.stderr.contains("\(labels[1]) (checked out)"), "\(closing)")
      #expect(try agency.run("hana", ["return", labels[1]]).status == 0)
      #expect(try agency.run("bea", ["case", "allocate", "NTH/AWAY/1", "--practitioner", agency.login("pip")]).status == 0)
      let classified = try agency.run("sim", ["case", "classify", "NTH/AWAY/1", "--classification", "confidential", "--reason", "risk"])
      #expect(classified.status == 0, "\(classified)")
      let copies = try db.connect().query(
        "SELECT bool_and(confidential), bool_and(practitioner = $1) FROM custody.file WHERE label = ANY ($2)",
        [agency.login("pip"), "{\(labels.joined(separator: ","))}"]
      ).first
      #expect(try copies?.decode(0, as: Bool.self) == true)
      #expect(try copies?.decode(1, as: Bool.self) == true)
      // South's practitioner no longer sees the confidential volume kept at South; pip, allocated, does.
      #expect(try agency.run("hana", ["whereabouts", labels[1]]).status == 66)
      #expect(try agency.run("pat", ["whereabouts", labels[1]]).status == 66)
      #expect(try agency.run("pip", ["whereabouts", labels[1]]).status == 0)
    }
  }

  @Test("a file at a home base leaves it with that worker or the office's business support",
        arguments: TestDatabase.Install.allCases)
  func homeBase(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      _ = try CustodyAPI(try db.connect()).addStaff(
        request: UUID(), login: agency.login("sid"), name: "Sid", role: "practitioner", office: "STH",
        employment: "employed", homeBased: false, email: nil)
      let label = try agency.openCase("STH/HOME/1", office: "STH")[0]
      let home = "home:" + agency.login("hana")
      #expect(try agency.run("sam", ["transfer", label, "--to", home, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("hana", ["receive", label]).status == 0)
      let before = try agency.eventCount()
      let colleague = try agency.run("sid", ["checkout", label, "--whereabouts", "x", "--return-by", "+1d"])
      #expect(colleague.status == 77, "\(colleague)")
      #expect(colleague.stderr.contains("home base"), "\(colleague)")
      let direct = try sqlstate(
        db, agency.login("sid"), "SELECT custody.checkout(gen_random_uuid(), $1, 'x', now() + interval '1 day')", [label])
      #expect(direct == "42501")
      #expect(try agency.eventCount() == before)
      #expect(try agency.state(label).base == home)
      for who in ["hana", "sam"] {
        #expect(try agency.run(who, ["checkout", label, "--whereabouts", "x", "--return-by", "+1d"]).status == 0, "\(who)")
        #expect(try agency.run(who, ["return", label]).status == 0, "\(who)")
      }
      #expect(try agency.state(label).base == home)
    }
  }

  @Test("dates before a case opened and times past a year ahead are refused, and nothing recorded breaks a read",
        arguments: TestDatabase.Install.allCases)
  func boundedTimes(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/TIME/1", volumes: 2)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/TIME/1", "--born", "2015-04-01"]).status == 0)
      let before = try agency.eventCount()
      let refusals: [(String, [String], String)] = [
        ("bea", ["case", "end", "NTH/TIME/1", "--on", "1900-01-01"], "cannot be before case NTH/TIME/1 was opened"),
        ("bea", ["case", "end", "NTH/TIME/1", "--proceedings-ended", "1900-01-01"], "the end of proceedings (1900-01-01)"),
        ("bea", ["police-info", "add", "NTH/TIME/1", "--received", "1900-01-01"], "cannot be before case"),
        ("pat", ["checkout", labels[0], "--whereabouts", "x", "--return-by", "+400d"], "at most 366 days ahead"),
        ("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+367d"], "at most 366 days ahead"),
      ]
      for (who, arguments, phrase) in refusals {
        let outcome = try agency.run(who, arguments)
        #expect(outcome.status == 65, "\(arguments): \(outcome)")
        #expect(outcome.stderr.contains(phrase), "\(arguments): \(outcome)")
      }
      #expect(try agency.run("bea", ["case", "end", "NTH/TIME/1"]).status == 0)
      let backdated = try agency.run("bea", ["case", "close", "NTH/TIME/1", "--on", "1900-01-01"])
      #expect(backdated.status == 65, "\(backdated)")
      #expect(try agency.run("pat", ["checkout", labels[0], "--whereabouts", "x", "--return-by", "+1d"]).status == 0)
      let afterCheckout = try agency.eventCount()
      #expect(afterCheckout == before + 2)
      for time in ["'infinity'", "'-infinity'", "now() + interval '367 days'"] {
        let state = try sqlstate(
          db, agency.login("pat"), "SELECT custody.extend(gen_random_uuid(), $1, \(time), 'forever')", [labels[0]])
        #expect(state == "U0003", "\(time)")
      }
      #expect(try agency.run("pat", ["extend", labels[0], "--return-by", "+400d"]).status == 65)
      #expect(try agency.eventCount() == afterCheckout)
      #expect(try agency.run("pat", ["whereabouts", labels[0]]).status == 0)
      #expect(try agency.run("pat", ["mine"]).status == 0)
      #expect(try agency.run("oma", ["report", "out", "--office", "NTH"]).status == 0)
    }
  }

  @Test("CSV cells that a spreadsheet would run as formulas are written with a leading quote")
  func spreadsheetSafety() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/CSV/1", volumes: 4)
      let typed = ["=HYPERLINK(\"http://x\")", "+44 113 496 0000", "-1", "@SUM(A1)"]
      for (label, whereabouts) in zip(labels, typed) {
        #expect(try agency.run("pat", ["checkout", label, "--whereabouts=" + whereabouts, "--return-by", "+1d"]).status == 0)
      }
      let csv = try agency.run("oma", ["report", "out", "--office", "NTH", "--format", "csv"])
      let rows = try CSV.parse(csv.stdout)
      let column = try #require(rows.first?.firstIndex(of: "whereabouts"))
      #expect(Set(rows.dropFirst().map { $0[column] }) == Set(typed.map { "'" + $0 }), "\(csv)")
      let json = try agency.run("oma", ["report", "out", "--office", "NTH", "--format", "json"])
      let shown = try json.jsonRows()
      #expect(Set(shown.compactMap { $0["whereabouts"] as? String }) == Set(typed))
      // Numbers are not text: a count stays a number.
      let summary = try agency.run("oma", ["report", "summary", "--format", "csv"])
      #expect(!summary.stdout.contains("'"), "\(summary)")
    }
  }

  @Test("a superuser's migrate leaves the engine to custody_owner; whoami and migrate --status say so")
  func superuserInstall() throws {
    try TestDatabase.with(install: .superuser) { db in
      let owner = try db.connect().query(
        """
        SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolcanlogin
          FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'custody'
        """
      ).first
      #expect(try owner?.decode(0, as: String.self) == InstallState.engineRole)
      #expect(try owner?.decode(1, as: Bool.self) == false)
      #expect(try owner?.decode(2, as: Bool.self) == false)
      #expect(try owner?.decode(3, as: Bool.self) == false)
      let strays = try db.connect().query(
        """
        SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'custody'::regnamespace
           AND c.relowner <> 'custody_owner'::regrole
        UNION ALL
        SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'custody'::regnamespace
           AND p.proowner <> 'custody_owner'::regrole
        UNION ALL
        SELECT pol.polname::text FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
         WHERE c.relnamespace = 'custody'::regnamespace AND NOT (0::oid = ANY (pol.polroles))
           AND pol.polroles <> ARRAY['custody_owner'::regrole::oid]
        """
      ).map { try $0.decode(0, as: String.self) }
      #expect(strays.isEmpty, "\(strays)")
      let whoami = try CLI.run(["whoami", "--format", "json"], on: db)
      #expect(whoami.status == 0, "\(whoami)")
      let fields = try whoami.jsonObject()
      #expect(fields["owner"] as? String == "custody_owner")
      #expect(fields["sound"] as? Bool == true)
      #expect((fields["problems"] as? [Any])?.isEmpty == true)
      let status = try CLI.run(["migrate", "--status", "--format", "json"], on: db).jsonObject()
      #expect(status["owner"] as? String == "custody_owner")
      #expect(status["sound"] as? Bool == true)
      #expect((status["migrations"] as? [[String: Any]])?.count == Schema.migrations.count + Schema.engine.count)
    }
  }

  @Test("an unsound install is refused with 78 by every command and repaired by the next migrate")
  func unsoundInstall() throws {
    try TestDatabase.with(install: .superuser) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/BAD/1")[0]
      let admin = try db.connect()
      try admin.executeTrustedScript(
        """
        ALTER SCHEMA custody OWNER TO \(TestDatabase.superuser);
        ALTER FUNCTION custody.checkout(uuid, text, text, timestamptz) OWNER TO \(TestDatabase.superuser);
        ALTER TABLE custody.hold NO FORCE ROW LEVEL SECURITY;
        GRANT EXECUTE ON FUNCTION custody.return_file(uuid, text) TO PUBLIC;
        """)
      for arguments in [["mine"], ["whereabouts", label], ["report", "out"], ["checkout", label, "--whereabouts", "x", "--return-by", "+1h"]] {
        let outcome = try agency.run("pat", arguments)
        #expect(outcome.status == 78, "\(arguments): \(outcome)")
        #expect(outcome.stderr.contains("this custody install is not sound"), "\(outcome)")
        #expect(outcome.stderr.contains("hint: run 'custody migrate'"), "\(outcome)")
      }
      #expect(try agency.state(label).status == "at_base")
      let whoami = try agency.run("pat", ["whoami", "--format", "json"])
      #expect(whoami.status == 78, "\(whoami)")
      let fields = try whoami.jsonObject()
      #expect(fields["sound"] as? Bool == false)
      let problems = (fields["problems"] as? [String]) ?? []
      #expect(problems.contains { $0.contains("schema is owned by \(TestDatabase.superuser), a superuser") }, "\(problems)")
      #expect(problems.contains { $0.contains("function custody.checkout") }, "\(problems)")
      #expect(problems.contains { $0.contains("custody.hold does not force row-level security") }, "\(problems)")
      #expect(problems.contains { $0.contains("custody.return_file(uuid,text) may be called by PUBLIC") }, "\(problems)")
      // migrate hands the owner back and revokes PUBLIC; the table's setting is the DBA's to put back.
      #expect(try agency.run(nil, ["migrate"]).status == 78)
      try admin.executeTrustedScript("ALTER TABLE custody.hold FORCE ROW LEVEL SECURITY")
      let repaired = try agency.run(nil, ["migrate", "--format", "json"])
      #expect(repaired.status == 0, "\(repaired)")
      #expect(try repaired.jsonObject()["sound"] as? Bool == true)
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "x", "--return-by", "+1h"]).status == 0)
    }
  }

  @Test("a database migrated by the previous release as a superuser is repaired by this binary's migrate")
  func upgradeFromASuperuserInstall() throws {
    try TestDatabase.with(migrated: false, install: .superuser) { db in
      let previous = Migrator(try Released.migrations())
      try previous.migrate(on: try db.connect())
      let pat = "pat_\(db.suffix)"
      let sam = "sam_\(db.suffix)"
      try db.connect().executeTrustedScript(
        """
        SELECT custody.office_add(gen_random_uuid(), 'NTH', 'North');
        SELECT custody.office_add(gen_random_uuid(), 'STH', 'South');
        SELECT custody.staff_add(gen_random_uuid(), '\(pat)', 'Pat', 'practitioner', 'NTH');
        SELECT custody.staff_add(gen_random_uuid(), '\(sam)', 'Sam', 'business-support', 'STH');
        """)
      try db.connect(user: sam).executeTrustedScript(
        """
        SELECT custody.case_open(gen_random_uuid(), 'STH/OLD/1', 'STH', 'public');
        SELECT custody.file_register(gen_random_uuid(), 'STH/OLD/1');
        SELECT custody.file_register(gen_random_uuid(), 'STH/OLD/1');
        """)
      // The previous release's hole: North's practitioner takes South's file.
      let take = "SELECT custody.checkout(gen_random_uuid(), $1, 'x', now() + interval '1 day')"
      #expect(try sqlstate(db, pat, take, ["STH-000001"]) == nil)
      let history = "SELECT string_agg(kind || ' ' || actor, ', ' ORDER BY id) FROM custody.event"
      let recorded = try db.connect().query(history).first?.decode(0, as: String.self)

      let migrate = try CLI.run(["migrate"], on: db)
      #expect(migrate.status == 0, "\(migrate)")
      #expect(migrate.stderr.contains("applying 0012_sound_install.sql"), "\(migrate)")
      let whoami = try CLI.run(["whoami", "--format", "json"], on: db, as: pat).jsonObject()
      #expect(whoami["owner"] as? String == "custody_owner")
      #expect(whoami["sound"] as? Bool == true)
      #expect(try sqlstate(db, pat, take, ["STH-000002"]) == "U0002")
      #expect(try db.connect().query(history).first?.decode(0, as: String.self) == recorded)
      let state = try db.connect().query("SELECT status, holder FROM custody.file WHERE label = 'STH-000001'").first
      #expect(try state?.decode(0, as: String.self) == "checked_out")
      #expect(try state?.decode(1, as: String.self) == pat)
    }
  }

  @Test("a managed service's admin role with BYPASSRLS migrates; custody_owner owns the engine")
  func adminRoleInstall() throws {
    try TestDatabase.with(migrated: false, install: .superuser) { db in
      let admin = "admin_\(db.suffix)"
      try TestDatabase.admin().executeTrustedScript(
        """
        CREATE ROLE \(admin) LOGIN CREATEROLE BYPASSRLS;
        ALTER DATABASE \(db.name) OWNER TO \(admin);
        """)
      let migrate = try CLI.run(["migrate", "--format", "json"], on: db, as: admin)
      #expect(migrate.status == 0, "\(migrate)")
      let fields = try migrate.jsonObject()
      #expect(fields["owner"] as? String == "custody_owner")
      #expect(fields["sound"] as? Bool == true)
      #expect(try CLI.run(["office", "add", "NTH", "--name", "North"], on: db, as: admin).status == 0)
    }
  }
}
