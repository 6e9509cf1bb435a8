import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("The custody binary: connecting, migrating, exit codes")
struct FoundationCLITests {
  @Test("migrate applies the schema once; the second run applies nothing")
  func migrateTwice() throws {
    try TestDatabase.with(migrated: false) { db in
      let first = try CLI.run(["migrate", "--format", "json"], on: db)
      #expect(first.status == 0, "\(first)")
      #expect(first.stdout.contains("\"applied\": \(Schema.migrations.count)"))
      for migration in Schema.migrations {
        #expect(first.stderr.contains("applying \(migration.fileName)"))
      }
      let second = try CLI.run(["migrate", "--format", "json"], on: db)
      #expect(second.status == 0, "\(second)")
      #expect(second.stdout.contains("\"applied\": 0"))
      #expect(second.stderr.isEmpty, "\(second)")
      let status = try CLI.run(["migrate", "--status", "--format", "csv"], on: db)
      #expect(status.stdout.hasPrefix("kind,version,name,state,applied_at\r\nversioned,1,organisation,applied,"), "\(status)")
      for file in Schema.engine {
        #expect(status.stdout.contains("engine,,\(file.name),applied,"), "\(status)")
      }
    }
  }

  @Test("migrate --status lists pending migrations before the first run")
  func statusPending() throws {
    try TestDatabase.with(migrated: false) { db in
      let status = try CLI.run(["migrate", "--status"], on: db)
      #expect(status.status == 0, "\(status)")
      let lines = status.stdout.split(separator: "\n")
      #expect(lines.count == Schema.migrations.count + Schema.engine.count + 1, "\(status)")
      #expect(lines.dropFirst().allSatisfy { $0.contains("pending") }, "\(status)")
    }
  }

  @Test("other commands exit 78 with a hint when the schema is behind or ahead")
  func schemaCheck() throws {
    try TestDatabase.with(migrated: false) { db in
      let behind = try CLI.run(["whoami"], on: db)
      #expect(behind.status == 78, "\(behind)")
      #expect(behind.stderr.contains("custody: error: the database schema is behind this binary"))
      #expect(behind.stderr.contains("hint: run 'custody migrate'"))
      #expect(try CLI.run(["migrate"], on: db).status == 0)
      let fine = try CLI.run(["whoami", "--format", "json"], on: db)
      #expect(fine.status == 0, "\(fine)")
      #expect(fine.stdout.contains("\"login\": \"\(db.installer)\""))
      try db.connect().execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'later', 'x')")
      let ahead = try CLI.run(["whoami"], on: db)
      #expect(ahead.status == 78, "\(ahead)")
      #expect(ahead.stderr.contains("ahead of this binary"))
      #expect(ahead.stderr.contains("9999_later.sql"))
      let migrate = try CLI.run(["migrate"], on: db)
      #expect(migrate.status == 78, "\(migrate)")
      #expect(migrate.stderr.contains("9999_later.sql"))
    }
  }

  @Test("a tampered checksum makes migrate exit 78 naming the file")
  func tampered() throws {
    try TestDatabase.with { db in
      try db.connect().execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
      let outcome = try CLI.run(["migrate"], on: db)
      #expect(outcome.status == 78, "\(outcome)")
      #expect(outcome.stderr.contains("custody: error: migration 0001_organisation.sql was changed after it was applied"))
    }
  }

  @Test("a server that is not running gives exit 69 with libpq's reason")
  func unreachable() throws {
    let outcome = try CLI.run(
      ["whoami"], environment: ["CUSTODY_DATABASE_URL": "host=/nonexistent/stopped-cluster dbname=custody"])
    #expect(outcome.status == 69, "\(outcome)")
    #expect(outcome.stderr.hasPrefix("custody: error: cannot connect to the database: connection to server on socket"))
    #expect(outcome.stderr.contains("hint: Is the server running locally"))
  }

  @Test("a password in the URL never appears in the output")
  func passwordHidden() throws {
    let outcome = try CLI.run(
      ["--database-url", "postgresql://pat:Sekr1tPass%zz@/custody?host=/nonexistent/sock", "whoami"])
    #expect(outcome.status == 69, "\(outcome)")
    #expect(!outcome.stderr.contains("Sekr1t"))
  }

  @Test("with no database configured at all, exit 78 says how to configure one")
  func notConfigured() throws {
    let outcome = try CLI.run(["whoami"], environment: ["PGHOST": "", "HOME": "/nonexistent"])
    #expect(outcome.status == 78, "\(outcome)")
    #expect(outcome.stderr.contains("no database configured"))
    #expect(outcome.stderr.contains("hint: give --database-url"))
  }

  @Test("after the server ends a session, the next command connects again")
  func nextCommandReconnects() throws {
    try TestDatabase.with { db in
      #expect(try CLI.run(["whoami"], on: db).status == 0)
      try TestDatabase.admin().query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [db.name])
      let again = try CLI.run(["whoami"], on: db)
      #expect(again.status == 0, "\(again)")
    }
  }

  @Test("usage errors exit 64 with one error line and the usage", arguments: [
    ["nosuchcommand"], ["whoami", "--format", "xml"], ["migrate", "--nosuchflag"], ["whoami", "extra"],
  ])
  func usage(arguments: [String]) throws {
    let outcome = try CLI.run(arguments)
    #expect(outcome.status == 64, "\(outcome)")
    #expect(outcome.stderr.hasPrefix("custody: error: "), "\(outcome)")
    #expect(outcome.stderr.contains("hint: usage: custody"), "\(outcome)")
    #expect(outcome.stdout.isEmpty)
  }

  @Test("an unknown time zone is an invalid value (65)")
  func badZone() throws {
    let outcome = try CLI.run(["whoami", "--tz", "Mars/Olympus_Mons"])
    #expect(outcome.status == 65, "\(outcome)")
    #expect(outcome.stderr.contains("unknown time zone 'Mars/Olympus_Mons'"))
  }

  @Test("an argument that is not UTF-8 is an invalid value (65)")
  func invalidUTF8Argument() throws {
    let outcome = try CLI.runShell(#"exec "$CUSTODY" whoami --tz "$(printf 'Europe/\377')""#)
    #expect(outcome.status == 65, "\(outcome)")
    #expect(outcome.stderr.contains("is not valid UTF-8"))
  }

  @Test("help is complete for the root and every subcommand", arguments: [
    [], ["migrate"], ["whoami"], ["office", "add"], ["office", "list"], ["staff", "add"], ["staff", "list"],
    ["case", "open"], ["case", "allocate"], ["case", "classify"], ["case", "add-child"], ["case", "end"],
    ["case", "close"], ["case", "reopen"], ["case", "show"], ["police-info", "add"], ["police-info", "permit"],
    ["police-info", "destroy"], ["hold", "place"], ["hold", "release"], ["destroy"], ["report", "overdue"],
    ["report", "out"], ["report", "transit"], ["report", "arrivals"], ["report", "summary"], ["report", "closures"],
    ["report", "destruction"], ["file", "register"], ["checkout"], ["extend"],
    ["return"], ["transfer"], ["receive"], ["cancel-transfer"], ["missing"], ["found"], ["whereabouts"], ["mine"],
  ])
  func help(path: [String]) throws {
    let outcome = try CLI.run(path + ["--help"])
    #expect(outcome.status == 0, "\(outcome)")
    #expect(outcome.stdout.contains("OVERVIEW:"))
    #expect(outcome.stdout.contains("--database-url"))
    #expect(outcome.stdout.contains("--format"))
    #expect(outcome.stdout.contains("--tz"))
  }
}
