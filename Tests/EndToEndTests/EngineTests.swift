import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// The schema as the catalogue describes it: each function's definition, grants and owner; each
/// policy, column, constraint, index, trigger, table, type and the schema itself, one row each.
private let fingerprintSQL = """
  SELECT 'function ' || p.oid::regprocedure || ' '
         || CASE p.prokind WHEN 'a' THEN (SELECT 'aggregate ' || a.aggtransfn::text || ' ' || coalesce(a.agginitval, '')
                                             FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                           ELSE pg_get_functiondef(p.oid) END
         || ' ' || coalesce(p.proacl::text, '')
         || ' ' || pg_get_userbyid(p.proowner)
    FROM pg_proc p WHERE p.pronamespace = 'custody'::regnamespace
  UNION ALL
  SELECT 'policy ' || tablename || '.' || policyname || ' ' || permissive || ' ' || cmd || ' ' || roles::text
         || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies WHERE schemaname = 'custody'
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' ' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
         || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || a.attidentity::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = 'custody'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || coalesce(conrelid::regclass::text, '') || coalesce(contypid::regtype::text, '') || '.' || conname
         || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'custody'::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'custody'::regnamespace
  UNION ALL
  SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' ' || c.relrowsecurity || ' ' || c.relforcerowsecurity || ' '
         || coalesce(c.reloptions::text, '') || ' ' || coalesce(c.relacl::text, '') || ' ' || pg_get_userbyid(c.relowner)
    FROM pg_class c WHERE c.relnamespace = 'custody'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'm')
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = 'custody'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' ' || coalesce(format_type(t.typbasetype, t.typtypmod), '')
         || ' ' || coalesce(t.typacl::text, '') || ' ' || pg_get_userbyid(t.typowner)
    FROM pg_type t WHERE t.typnamespace = 'custody'::regnamespace AND t.typtype IN ('d', 'e')
  UNION ALL
  SELECT 'schema ' || coalesce(n.nspacl::text, '') || ' ' || pg_get_userbyid(n.nspowner)
    FROM pg_namespace n WHERE n.nspname = 'custody'
  """

private func fingerprint(_ connection: Connection) throws -> Set<String> {
  Set(try connection.query(fingerprintSQL).map { try $0.decode(0, as: String.self) })
}

@Suite("The custody engine: each function defined once, and an upgraded database the same as a new one")
struct EngineTests {
  @Test("every function in the custody schema is defined by exactly one SQL file of the repository")
  func oneDefinitionEach() throws {
    try TestDatabase.with { db in
      let functions = try db.connect().query(
        "SELECT DISTINCT proname::text FROM pg_proc WHERE pronamespace = 'custody'::regnamespace ORDER BY 1"
      ).map { try $0.decode(0, as: String.self) }
      #expect(functions.count > 60, "\(functions)")
      let files = try Released.sqlFiles()
      #expect(files.contains { $0.path.hasPrefix("engine/") })
      for name in functions {
        let pattern = try Regex("CREATE +(OR +REPLACE +)?(FUNCTION|AGGREGATE) +custody\\.\(name) *\\(").ignoresCase()
        let defining = files.filter { $0.text.contains(pattern) }.map(\.path)
        // A value rule (is_*) that table constraints use is made with the tables and changed by a
        // later versioned migration, never by the engine; the newest migration holds it as it is.
        let valueRuleChanged = name.hasPrefix("is_") && defining.allSatisfy { $0.hasPrefix("migrations/") }
        #expect(defining.count == 1 || valueRuleChanged, "custody.\(name) is defined in \(defining)")
      }
      // And nothing defines a function the schema does not have, but those a later migration retired.
      let defined = Set(files.flatMap { file in
        file.text.matches(of: /CREATE +(?:OR +REPLACE +)?(?:FUNCTION|AGGREGATE) +custody\.(\w+)/.ignoresCase()).map { String($0.1) }
      })
      let retired = try defined.subtracting(functions).filter { name in
        let drop = try Regex("DROP +(FUNCTION|AGGREGATE) +(IF +EXISTS +)?custody\\.\(name) *\\(").ignoresCase()
        return files.contains { $0.path.hasPrefix("migrations/") && $0.text.contains(drop) }
      }
      #expect(defined.subtracting(retired) == Set(functions))
    }
  }

  @Test("an engine that differs from the binary's is refused (78) until migrate applies the binary's again")
  func changedEngine() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/ENG/1")[0]
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+1d"]).status == 0)
      // An engine other than this binary's: the out report changed, its checksum not this one.
      try db.connect().executeTrustedScript(
        """
        CREATE OR REPLACE FUNCTION custody.report_out(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
          RETURNS TABLE (label text, case_number text, office text, holder text, holder_name text, whereabouts text,
                         checked_out_at timestamptz, expected_return timestamptz, overdue boolean, overdue_minutes bigint,
                         holder_deactivated boolean)
          LANGUAGE sql STABLE
          AS $$ SELECT NULL::text, NULL, NULL, NULL, NULL, NULL, NULL::timestamptz, NULL::timestamptz, NULL::boolean,
                       NULL::bigint, NULL::boolean WHERE false $$;
        UPDATE public.schema_engine SET checksum = 'elsewhere' WHERE name = '70_reports';
        """)
      let status = try CLI.run(["migrate", "--status", "--format", "csv"], on: db)
      #expect(status.stdout.contains("engine,,70_reports,changed,"), "\(status)")
      let refused = try agency.run("oma", ["report", "out"])
      #expect(refused.status == 78, "\(refused)")
      #expect(refused.stderr.contains("engine/70_reports.sql"), "\(refused)")
      let migrate = try CLI.run(["migrate"], on: db)
      #expect(migrate.status == 0, "\(migrate)")
      #expect(migrate.stderr.contains("applying the engine"), "\(migrate)")
      let out = try agency.run("oma", ["report", "out", "--format", "csv"])
      #expect(out.status == 0, "\(out)")
      #expect(out.stdout.contains(label), "\(out)")
    }
  }

  @Test(
    "a database of the last release, holding files out, in transit and missing, migrates to the same schema as a new one and keeps its record",
    arguments: TestDatabase.Install.allCases)
  func upgrade(install: TestDatabase.Install) throws {
    try TestDatabase.with(migrated: false, install: install) { old in
      let released = try Released.migrations()
      #expect(released.map(\.version) == Array(1...11))
      try Migrator(released).migrate(on: try old.connect())
      // A day's work recorded by the last release's API.
      let pat = "pat_\(old.suffix)"
      let bea = "bea_\(old.suffix)"
      let sam = "sam_\(old.suffix)"
      try old.connect().executeTrustedScript(
        """
        SELECT custody.office_add(gen_random_uuid(), 'NTH', 'North');
        SELECT custody.office_add(gen_random_uuid(), 'STH', 'South');
        SELECT custody.staff_add(gen_random_uuid(), '\(pat)', 'Pat', 'practitioner', 'NTH');
        SELECT custody.staff_add(gen_random_uuid(), '\(bea)', 'Bea', 'business-support', 'NTH');
        SELECT custody.staff_add(gen_random_uuid(), '\(sam)', 'Sam', 'business-support', 'STH');
        """)
      try old.connect(user: bea).executeTrustedScript(
        """
        SELECT custody.case_open(gen_random_uuid(), 'NTH/UP/1', 'NTH', 'public', 'restricted', '{2015-04-01}');
        SELECT custody.file_register(gen_random_uuid(), 'NTH/UP/1') FROM generate_series(1, 4);
        SELECT custody.transfer(gen_random_uuid(), 'NTH-000002', 'STH', 'hand', now() + interval '1 day');
        SELECT custody.transfer(gen_random_uuid(), 'NTH-000003', 'STH', 'hand', now() + interval '1 day');
        SELECT custody.report_missing(gen_random_uuid(), 'NTH-000004', 'not in the cabinet');
        """)
      try old.connect(user: sam).executeTrustedScript("SELECT custody.receive(gen_random_uuid(), 'NTH-000003')")
      try old.connect(user: pat).executeTrustedScript(
        "SELECT custody.checkout(gen_random_uuid(), 'NTH-000001', 'court', now() + interval '1 day')")
      let record = """
        SELECT (SELECT string_agg(concat_ws(' ', label, status, base, office, holder, destination, open_removal, open_transfer), '; ' ORDER BY id) FROM custody.file)
            || ' | ' || (SELECT string_agg(concat_ws(' ', id, kind, actor, subject, file_id, base, holder, expected_at), '; ' ORDER BY id) FROM custody.event)
            || ' | ' || (SELECT string_agg(concat_ws(' ', id, file_id, holder, ended_at), '; ' ORDER BY id) FROM custody.removal)
            || ' | ' || (SELECT string_agg(concat_ws(' ', id, file_id, to_base, ended_how), '; ' ORDER BY id) FROM custody.transfer)
        """
      let before = try old.connect().query(record).first?.decode(0, as: String.self)

      let migrate = try CLI.run(["migrate"], on: old)
      #expect(migrate.status == 0, "\(migrate)")
      #expect(migrate.stderr.contains("applying 0012_sound_install.sql"), "\(migrate)")
      #expect(migrate.stderr.contains("applying the engine"), "\(migrate)")
      #expect(try old.connect().query(record).first?.decode(0, as: String.self) == before)
      #expect(try CLI.run(["migrate", "--format", "json"], on: old).stdout.contains("\"applied\": 0"))

      try TestDatabase.with(install: install) { fresh in
        let upgraded = try fingerprint(try old.connect())
        let new = try fingerprint(try fresh.connect())
        #expect(upgraded.count > 300)
        #expect(upgraded.subtracting(new).sorted() == [], "only in the upgraded database")
        #expect(new.subtracting(upgraded).sorted() == [], "only in the new database")
      }
      // The upgraded database works as a new one does: the holder returns the file.
      let back = try CLI.run(["return", "NTH-000001"], on: old, as: pat)
      #expect(back.status == 0, "\(back)")
      let status = try CLI.run(["migrate", "--status", "--format", "csv"], on: old)
      #expect(!status.stdout.contains("changed") && !status.stdout.contains("pending"), "\(status)")
    }
  }
}
