import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// North: a restricted case (2 volumes, one checked out by pat), a confidential case allocated to
/// pip (1 volume); South: a restricted case (1 volume), sent to North and on its way.
struct VisibilityFixture {
  let agency: Agency
  let restricted: [String]
  let confidential: String
  let south: String
  let southOnly: String

  static let confidentialCase = "NTH/C/1"

  init(_ db: TestDatabase) throws {
    agency = try Agency.make(in: db)
    restricted = try agency.openCase("NTH/R/1", volumes: 2)
    let manager = CustodyAPI(try db.connect())
    // The owner opens the confidential case and registers its file as if a director did.
    let director = CustodyAPI(try db.connect(user: agency.login("dee")))
    _ = try director.openCase(
      request: UUID(), number: Self.confidentialCase, office: "NTH", law: "public", classification: "confidential",
      childrenBorn: [], practitioner: agency.login("pip"))
    confidential =
      try director.registerFile(request: UUID(), caseNumber: Self.confidentialCase, volume: nil, kind: "file", label: nil)
      .label ?? ""
    let southLabels = try agency.openCase("STH/R/1", office: "STH", volumes: 2)
    south = southLabels[0]
    southOnly = southLabels[1]
    let later = Date().addingTimeInterval(86_400)
    let sam = CustodyAPI(try db.connect(user: agency.login("sam")))
    _ = try sam.transfer(
      request: UUID(), label: south, destination: "NTH", method: "hand", expectedBy: later, carrier: nil,
      reference: nil, seal: "SEAL-S", courier: nil)
    _ = try sam.checkout(request: UUID(), label: southOnly, whereabouts: "South court room 2", returnBy: later)
    let pat = CustodyAPI(try db.connect(user: agency.login("pat")))
    _ = try pat.checkout(request: UUID(), label: restricted[0], whereabouts: "North home visit", returnBy: later)
    _ = manager
  }
}

@Suite("Access control in PostgreSQL itself: psql, the catalogue, a leak probe")
struct AccessVisibilityTests {
  /// Runs each statement with its own `-c`, so one refusal does not stop the rest.
  func psql(_ db: TestDatabase, _ login: String, _ statements: String...) throws -> CLI.Outcome {
    try CLI.spawn(
      URL(fileURLWithPath: "/usr/bin/psql"),
      ["-X", "-A", "-t", "-q", "-d", db.conninfo(user: login)] + statements.flatMap { ["-c", $0] }, environment: [:])
  }

  func lines(_ outcome: CLI.Outcome) -> [String] {
    outcome.stdout.split(separator: "\n").map(String.init).sorted()
  }

  @Test("in psql, each login's SELECTs return only the rows it may see", arguments: TestDatabase.Install.allCases)
  func selects(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let fixture = try VisibilityFixture(db)
      let agency = fixture.agency
      let north = fixture.restricted
      let expectations: [(String, [String], [String])] = [
        // login, files, cases
        ("pat", north + [fixture.south], ["NTH/R/1", "STH/R/1"]),
        ("pip", north + [fixture.confidential, fixture.south], ["NTH/C/1", "NTH/R/1", "STH/R/1"]),
        ("bea", north + [fixture.confidential, fixture.south], ["NTH/C/1", "NTH/R/1", "STH/R/1"]),
        ("sam", [fixture.south, fixture.southOnly], ["STH/R/1"]),
        ("hana", [fixture.south, fixture.southOnly], ["STH/R/1"]),
        ("dee", north + [fixture.confidential, fixture.south, fixture.southOnly], ["NTH/C/1", "NTH/R/1", "STH/R/1"]),
      ]
      for (name, files, cases) in expectations {
        let login = agency.login(name)
        #expect(lines(try psql(db, login, "SELECT label FROM custody.file")) == files.sorted(), "\(name) files")
        #expect(lines(try psql(db, login, "SELECT number FROM custody.case_record")) == cases.sorted(), "\(name) cases")
        // Every other table shows rows only about those files and cases.
        let strays = try psql(db, login, """
          SELECT 'removal' FROM custody.removal r WHERE r.file_id NOT IN (SELECT id FROM custody.file)
          UNION ALL SELECT 'transfer' FROM custody.transfer t WHERE t.file_id NOT IN (SELECT id FROM custody.file)
          UNION ALL SELECT 'event' FROM custody.event e
           WHERE e.actor <> session_user AND (e.file_id NOT IN (SELECT id FROM custody.file)
              OR (e.file_id IS NULL AND e.case_id NOT IN (SELECT id FROM custody.case_record)))
          UNION ALL SELECT 'child' FROM custody.case_child k WHERE k.case_id NOT IN (SELECT id FROM custody.case_record)
          """)
        #expect(strays.status == 0, "\(strays)")
        #expect(strays.stdout.isEmpty, "\(name): \(strays.stdout)")
        let seen = try psql(db, login, "SELECT count(*) FROM custody.event WHERE file_id IS NOT NULL")
        #expect((Int(seen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= files.count, "\(name)")
      }
    }
  }

  @Test("in psql, INSERT, UPDATE and DELETE on every table are refused for every role", arguments: TestDatabase.Install.allCases)
  func writes(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let fixture = try VisibilityFixture(db)
      // Each table with an ordinary column to write.
      let tables = [
        ("office", "name"), ("staff", "name"), ("secure_base", "office"), ("case_record", "law"), ("case_child", "born"),
        ("file", "kind"), ("removal", "whereabouts"), ("transfer", "method"), ("event", "note"),
      ]
      let statements = tables.flatMap { table, column in
        [
          "INSERT INTO custody.\(table) DEFAULT VALUES",
          "UPDATE custody.\(table) SET \(column) = \(column)",
          "DELETE FROM custody.\(table)",
        ]
      }
      for name in ["pat", "bea", "oma", "dee"] {
        let outcome = try CLI.spawn(
          URL(fileURLWithPath: "/usr/bin/psql"),
          ["-X", "-q", "-d", db.conninfo(user: fixture.agency.login(name))] + statements.flatMap { ["-c", $0] },
          environment: [:])
        let refusals = outcome.stderr.split(separator: "\n").filter { $0.contains("permission denied for table") }
        #expect(refusals.count == statements.count, "\(name): \(outcome.stderr)")
      }
      #expect(try fixture.agency.eventCount() > 0)
      #expect(try fixture.agency.state(fixture.restricted[0]).status == "checked_out")
    }
  }

  @Test("the catalogue: forced RLS everywhere, plain staff logins, guarded definer functions, invoker views", arguments: TestDatabase.Install.allCases)
  func catalogue(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      _ = try VisibilityFixture(db)
      let owner = try db.connect()
      let tables = try owner.query(
        """
        SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity
          FROM pg_class c WHERE c.relnamespace = 'custody'::regnamespace AND c.relkind = 'r' ORDER BY 1
        """
      ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Bool.self)) }
      #expect(tables.map(\.0) == [
        "case_child", "case_record", "event", "event_head", "file", "hold", "message", "notify_state", "office", "office_tally",
        "police_info", "removal", "secure_base", "staff", "stocktake", "stocktake_expected", "stocktake_scan", "transfer",
      ])
      #expect(tables.allSatisfy { $0.1 }, "\(tables)")

      // Row-level security binds the API's own functions only if their owner is subject to it.
      let bypassing = try owner.query(
        """
        SELECT 'schema custody' FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
         WHERE n.nspname = 'custody' AND (r.rolsuper OR r.rolbypassrls)
        UNION ALL
        SELECT c.oid::regclass::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
         WHERE c.relnamespace = 'custody'::regnamespace AND (r.rolsuper OR r.rolbypassrls)
        UNION ALL
        SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
         WHERE p.pronamespace = 'custody'::regnamespace AND (r.rolsuper OR r.rolbypassrls)
        """
      ).map { try $0.decode(0, as: String.self) }
      #expect(bypassing.isEmpty, "owned by a role that bypasses row-level security: \(bypassing)")

      let powerful = try owner.query(
        """
        SELECT s.login FROM custody.staff s JOIN pg_roles r ON r.rolname = s.login
         WHERE r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
            OR EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid)
        """)
      #expect(powerful.count == 0)
      #expect(try owner.query("SELECT count(*) FROM custody.staff").first?.decode(0, as: Int.self) == Agency.people.count)

      let definers = try owner.query(
        """
        SELECT p.proname,
               EXISTS (SELECT FROM unnest(p.proconfig) setting WHERE setting LIKE 'search_path=%'),
               p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a
                                            WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
          FROM pg_proc p WHERE p.pronamespace = 'custody'::regnamespace AND p.prosecdef
        """
      ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Bool.self), try $0.decode(2, as: Bool.self)) }
      #expect(definers.count >= 13, "\(definers.map(\.0))")
      #expect(definers.filter { !$0.1 }.isEmpty, "definer functions without a pinned search_path: \(definers)")
      #expect(definers.filter(\.2).isEmpty, "definer functions PUBLIC may run: \(definers)")
      let publicFunctions = try owner.query(
        """
        SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'custody'::regnamespace
           AND (p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0))
        """)
      #expect(publicFunctions.count == 0)

      let views = try owner.query(
        """
        SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'custody'::regnamespace AND c.relkind = 'v'
           AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
        """)
      #expect(views.count == 0)
    }
  }

  @Test("a leak probe in a WHERE clause sees only the rows the login may see", arguments: TestDatabase.Install.allCases)
  func leakProbe(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let fixture = try VisibilityFixture(db)
      let pat = try db.connect(user: fixture.agency.login("pat"))
      try pat.executeTrustedScript(
        """
        CREATE FUNCTION pg_temp.probe(value text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
        BEGIN RAISE NOTICE 'probe saw %', value; RETURN true; END $$
        """)
      for sql in [
        "SELECT count(*) FROM custody.file WHERE pg_temp.probe(label)",
        "SELECT count(*) FROM custody.file WHERE pg_temp.probe(label || ' ' || office)",
        "SELECT count(*) FROM custody.case_record WHERE pg_temp.probe(number)",
        "SELECT count(*) FROM custody.removal WHERE pg_temp.probe(whereabouts)",
        "SELECT count(*) FROM custody.transfer WHERE pg_temp.probe(coalesce(seal, '-'))",
        "SELECT count(*) FROM custody.event WHERE pg_temp.probe(subject)",
        "SELECT count(*) FROM custody.file f JOIN custody.case_record c ON c.id = f.case_id WHERE pg_temp.probe(c.number || f.label)",
      ] {
        try pat.query(sql)
      }
      let seen = pat.takeNotices().map(\.message).joined(separator: "\n")
      // The probe did run on what pat may see...
      #expect(seen.contains("probe saw \(fixture.restricted[0])"))
      #expect(seen.contains("probe saw North home visit"))
      #expect(seen.contains("probe saw SEAL-S"))
      // ...and on nothing else.
      for secret in [fixture.confidential, VisibilityFixture.confidentialCase, fixture.southOnly, "South court room 2"] {
        #expect(!seen.contains(secret), "the probe saw \(secret)")
      }
    }
  }

  @Test("classifying a case confidential hides its files from practitioners not allocated to it", arguments: TestDatabase.Install.allCases)
  func classification(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/K/1")[0]
      #expect(try agency.run("pat", ["whereabouts", label]).status == 0)
      let notManager = try agency.run("oma", ["case", "classify", "NTH/K/1", "--classification", "confidential", "--reason", "risk"])
      #expect(notManager.status == 77, "\(notManager)")
      #expect(notManager.stderr.contains("hint: the service manager of NTH, or a director, may"))
      let classified = try agency.run(
        "dee", ["case", "classify", "NTH/K/1", "--classification", "confidential", "--reason", "risk to a child"])
      #expect(classified.status == 0, "\(classified)")
      #expect(classified.stdout == "Case NTH/K/1 classified confidential: risk to a child.\n")
      let hidden = try agency.run("pat", ["whereabouts", label])
      #expect(hidden.status == 66, "\(hidden)")
      #expect(hidden.stderr == "custody: error: no file \(label)\n")
      #expect(try agency.run("pat", ["whereabouts", "NTH-999999"]).stderr == "custody: error: no file NTH-999999\n")
      #expect(try agency.run("bea", ["whereabouts", label]).status == 0)
      #expect(try agency.run("bea", ["case", "allocate", "NTH/K/1", "--practitioner", agency.login("pat")]).status == 0)
      #expect(try agency.run("pat", ["whereabouts", label]).status == 0)
      #expect(try agency.run("pip", ["case", "show", "NTH/K/1"]).status == 66)
      let again = try agency.run("dee", ["case", "classify", "NTH/K/1", "--classification", "confidential", "--reason", "x"])
      #expect(again.status == 1, "\(again)")
    }
  }
}
