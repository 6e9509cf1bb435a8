import Custody
import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("Migrations against PostgreSQL")
struct MigrationTests {
  @Test("migrate applies every migration once; a second run applies nothing")
  func migrateTwice() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let first = try Schema.migrate(on: connection)
      #expect(first.map(\.version) == Schema.migrations.map(\.version))
      let second = try Schema.migrate(on: connection)
      #expect(second.isEmpty)
      let rows = try connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
      #expect(try rows.map { try $0.decode(0, as: Int.self) } == Schema.migrations.map(\.version))
      #expect(try rows.map { try $0.decode(1, as: String.self) } == Schema.migrations.map(\.checksum))
      try Schema.migrator.verify(on: connection)
    }
  }

  @Test("four concurrent runs apply each migration exactly once")
  func concurrentRuns() throws {
    // A slow first migration makes the runs overlap; a second application would fail on CREATE TABLE.
    let migrator = Migrator([
      Migration(version: 1, name: "slow", sql: "SELECT pg_sleep(0.5);\nCREATE TABLE a (v int);\nINSERT INTO a VALUES (1);"),
      Migration(version: 2, name: "second", sql: "CREATE TABLE b (v int);\nINSERT INTO b SELECT v FROM a;"),
    ])
    try TestDatabase.with(migrated: false) { db in
      let conninfo = db.conninfo()
      let waited = WaitCounter()
      let applied = try Concurrently.run(4) { _ in
        let connection = try Connection(conninfo)
        return try migrator.migrate(on: connection, waiting: { waited.count.withLock { $0 += 1 } }).count
      }.map { try $0.get() }
      #expect(applied.sorted() == [0, 0, 0, 2])
      #expect(waited.count.withLock { $0 } >= 1)
      let connection = try db.connect()
      #expect(try connection.query("SELECT count(*) FROM schema_migrations").first?.decode(0, as: Int.self) == 2)
      #expect(try connection.query("SELECT count(*) FROM b").first?.decode(0, as: Int.self) == 1)
    }
  }

  @Test("an applied migration whose checksum changed stops migrate and verify")
  func tamperedChecksum() throws {
    try TestDatabase.with { db in
      let connection = try db.connect()
      try connection.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
      let file = Schema.migrations[0].fileName
      #expect(throws: MigrationError.checksumChanged(file: file)) { try Schema.migrate(on: connection) }
      #expect(throws: MigrationError.checksumChanged(file: file)) { try Schema.migrator.verify(on: connection) }
      #expect(Failure(MigrationError.checksumChanged(file: file)).code == .configuration)
    }
  }

  @Test("a migration the binary no longer has stops migrate, naming it")
  func unknownApplied() throws {
    try TestDatabase.with { db in
      let connection = try db.connect()
      try connection.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')")
      let expected = MigrationError.unknownApplied(files: ["9999_from_the_future.sql"])
      #expect(throws: expected) { try Schema.migrate(on: connection) }
      #expect(throws: expected) { try Schema.migrator.verify(on: connection) }
      let status = try Schema.migrator.status(on: connection)
      #expect(status.entries.first { $0.version == 9999 }?.state == .unknown)
    }
  }

  @Test("a changed engine file is applied by the next migrate, and verify and status say so until then")
  func engineChanged() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let table = Migration(version: 1, name: "table", sql: "CREATE TABLE a (v int);\nINSERT INTO a VALUES (41);\n")
      func engine(_ body: String) -> [EngineFile] {
        [
          EngineFile(name: "answers", sql: "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql RETURN \(body);\n"),
          EngineFile(name: "views", sql: "CREATE OR REPLACE VIEW answered AS SELECT answer() AS a;\n"),
        ]
      }
      func answer() throws -> Int? { try connection.query("SELECT a FROM answered").first?.decode(0) }
      var announced: [[String]] = []
      let first = Migrator([table], engine: engine("(SELECT v FROM a)"))
      try first.migrate(on: connection, applyingEngine: { announced.append($0.map(\.name)) })
      #expect(try answer() == 41)
      #expect(announced == [["answers", "views"]])
      try first.migrate(on: connection, applyingEngine: { announced.append($0.map(\.name)) })
      #expect(announced.count == 1, "an unchanged engine is not applied again")

      let second = Migrator([table], engine: engine("(SELECT v + 1 FROM a)"))
      #expect(throws: MigrationError.engineDiffers(files: ["engine/answers.sql"])) { try second.verify(on: connection) }
      #expect(try second.status(on: connection).entries.map { "\($0.kind) \($0.name) \($0.state)" } == [
        "versioned table applied", "engine answers changed", "engine views applied",
      ])
      #expect(try answer() == 41)
      #expect(try second.migrate(on: connection).isEmpty)
      #expect(try answer() == 42)
      try second.verify(on: connection)
      // An edited versioned migration is still refused, engine or not.
      let edited = Migrator([Migration(version: 1, name: "table", sql: "CREATE TABLE a (v bigint);\n")], engine: engine("1"))
      #expect(throws: MigrationError.checksumChanged(file: "0001_table.sql")) { try edited.migrate(on: connection) }
      #expect(try answer() == 42)
    }
  }

  @Test("a database behind the binary is reported with the pending files")
  func behind() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let all = Schema.migrations.map(\.fileName)
      #expect(throws: MigrationError.pending(files: all)) { try Schema.migrator.verify(on: connection) }
      #expect(try Schema.migrator.status(on: connection).entries.allSatisfy { $0.state == .pending })
    }
  }

  @Test("a syntax error names the file and line, and nothing of the migration is applied")
  func syntaxErrorLine() throws {
    let migrator = Migrator([
      Migration(version: 1, name: "good", sql: "CREATE TABLE a (v int);\n"),
      Migration(
        version: 2, name: "broken",
        sql: "-- second\nCREATE TABLE b (v int);\n\nCREATE TABLE c (\n  v int,\n  w nosuchtype\n);\n"),
    ])
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let thrown = #expect(throws: MigrationError.self) { try migrator.migrate(on: connection) }
      guard case .statementFailed(let file, let line, let error)? = thrown else {
        Issue.record("expected statementFailed, got \(String(describing: thrown))")
        return
      }
      #expect(file == "0002_broken.sql")
      #expect(line == 6)
      #expect(error.sqlstate == "42704")
      #expect(try connection.query("SELECT to_regclass('b') IS NULL").first?.decode(0, as: Bool.self) == true)
      #expect(try connection.query("SELECT to_regclass('a') IS NOT NULL").first?.decode(0, as: Bool.self) == true)
      let versions = try connection.query("SELECT version FROM schema_migrations").map { try $0.decode(0, as: Int.self) }
      #expect(versions == [1])
      let failure = Failure(thrown ?? .pending(files: []))
      #expect(failure.message.hasPrefix("migration 0002_broken.sql failed at line 6: type \"nosuchtype\" does not exist"))
    }
  }

  @Test("a run-time error without a position names the statement's line")
  func runtimeErrorLine() throws {
    let migrator = Migrator([
      Migration(
        version: 1, name: "duplicate",
        sql: "CREATE TABLE a (v int PRIMARY KEY);\nINSERT INTO a VALUES (1);\n\n  INSERT INTO a\n  VALUES (1);\n"),
    ])
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      #expect(throws: MigrationError.self) { try migrator.migrate(on: connection) }
      do {
        try migrator.migrate(on: connection)
      } catch MigrationError.statementFailed(let file, let line, let error) {
        #expect(file == "0001_duplicate.sql")
        #expect(line == 4)
        #expect(error.sqlstate == "23505")
      }
    }
  }
}

final class WaitCounter: Sendable {
  let count = Mutex(0)
}
