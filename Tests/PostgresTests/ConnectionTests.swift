import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("Connections, errors and transactions")
struct ConnectionTests {
  @Test("a server error keeps SQLSTATE, severity, message, detail, hint and position")
  func serverErrorFields() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let missing = #expect(throws: PostgresError.self) { try connection.query("SELECT nosuch FROM pg_class") }
      #expect(missing?.sqlstate == "42703")
      #expect(missing?.severity == "ERROR")
      #expect(missing?.position == 8)
      #expect(missing?.message == "column \"nosuch\" does not exist")

      try connection.execute("CREATE TABLE u (k int CONSTRAINT u_key PRIMARY KEY)")
      try connection.execute("INSERT INTO u VALUES (1)")
      let duplicate = #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO u VALUES (1)") }
      #expect(duplicate?.sqlstate == "23505")
      #expect(duplicate?.detail == "Key (k)=(1) already exists.")
      #expect(duplicate?.constraint == "u_key")
      #expect(duplicate?.table == "u")

      let raised = #expect(throws: PostgresError.self) {
        try connection.executeTrustedScript(
          "DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'P0001', HINT = 'try later'; END $$")
      }
      #expect(raised?.hint == "try later")
      #expect(raised?.kind == .server)
      #expect(connection.isConnected)
    }
  }

  @Test("withTransaction commits on success and rolls back on error")
  func transactions() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.execute("CREATE TABLE t (v int)")
      _ = try connection.withTransaction { try connection.execute("INSERT INTO t VALUES (1)") }
      struct Stop: Error {}
      #expect(throws: Stop.self) {
        try connection.withTransaction {
          try connection.execute("INSERT INTO t VALUES (2)")
          throw Stop()
        }
      }
      #expect(throws: PostgresError.self) {
        try connection.withTransaction {
          try connection.execute("INSERT INTO t VALUES (3)")
          try connection.execute("INSERT INTO t VALUES ('not a number')")
        }
      }
      let values = try connection.query("SELECT v FROM t ORDER BY v").map { try $0.decode(0, as: Int.self) }
      #expect(values == [1])
    }
  }

  @Test("streaming hands over every row and leaves the connection usable after an early stop")
  func streaming() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      var count = 0
      var sum = 0
      try connection.stream("SELECT g FROM generate_series(1, $1) g", [200_000]) { row in
        count += 1
        sum += try row.decode(0, as: Int.self)
      }
      #expect(count == 200_000)
      #expect(sum == 200_000 * 200_001 / 2)

      struct Enough: Error {}
      var seen = 0
      #expect(throws: Enough.self) {
        try connection.stream("SELECT g FROM generate_series(1, 10000000) g") { _ in
          seen += 1
          if seen == 10 { throw Enough() }
        }
      }
      #expect(seen == 10)
      #expect(try connection.query("SELECT 42").first?.decode(0, as: Int.self) == 42)

      let failed = #expect(throws: PostgresError.self) {
        try connection.stream("SELECT 1 / (g - 5) FROM generate_series(1, 10) g") { _ in }
      }
      #expect(failed?.sqlstate == "22012")
      #expect(try connection.query("SELECT 1").count == 1)
    }
  }

  @Test("notices are collected, not printed")
  func notices() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.executeTrustedScript("DO $$ BEGIN RAISE NOTICE 'seal % differs', 'A1'; END $$")
      let notices = connection.takeNotices()
      #expect(notices.map(\.message) == ["seal A1 differs"])
      #expect(notices.first?.severity == "NOTICE")
      #expect(connection.takeNotices().isEmpty)
    }
  }

  @Test("a connection that cannot be opened is connectionFailed, with libpq's reason")
  func connectionFailed() throws {
    let error = #expect(throws: PostgresError.self) {
      try Connection("host=/nonexistent/custody-socket dbname=x connect_timeout=2")
    }
    #expect(error?.kind == .connectionFailed)
    #expect(error?.message.contains("/nonexistent/custody-socket") == true)
  }

  @Test("no error message contains the password", arguments: [
    "postgresql://pat:Hunter2Secret@/custody?host=/nonexistent/sock",
    "host=/nonexistent/sock user=pat password=Hunter2Secret dbname=custody",
    "host=/nonexistent/sock user=pat password='Hunter2Secret' dbname=custody",
    "postgresql://pat:Hunter2Secret@/custody?host=/nonexistent/sock&sslmode=bogus",
    "postgresql://pat:Hunter2Secret%zz@/custody?host=/nonexistent/sock",
    "postgresql://pat@/custody?host=/nonexistent/sock&password=Hunter2Secret&bogus=1",
    "host=/nonexistent/sock password=Hunter2Secret bogus=1",
  ])
  func passwordNeverShown(conninfo: String) throws {
    let error = #expect(throws: PostgresError.self) { try Connection(conninfo) }
    let text = [error?.message, error?.hint, error.map(String.init(describing:))].compactMap { $0 }.joined()
    #expect(!text.isEmpty)
    #expect(!text.contains("Hunter2"), "\(text)")
  }

  @Test("terminating the session during a query gives connectionLost; reconnecting works")
  func terminatedDuringQuery() throws {
    try TestDatabase.with(migrated: false) { db in
      let conninfo = db.conninfo()
      let watcher = try db.connect()
      let outcome = Mutex<Result<PostgresError?, any Error>?>(nil)
      let finished = DispatchSemaphore(value: 0)
      Thread.detachNewThread {
        let result = Result { () throws -> PostgresError? in
          let victim = try Connection(conninfo)
          try victim.execute("SELECT set_config('application_name', 'custody-victim', false)")
          do {
            try victim.query("SELECT pg_sleep(60)")
            return nil
          } catch let error as PostgresError {
            #expect(!victim.isConnected)
            try victim.reconnect()
            #expect(try victim.query("SELECT 7").first?.decode(0, as: Int.self) == 7)
            return error
          }
        }
        outcome.withLock { $0 = result }
        finished.signal()
      }
      var terminated = false
      for _ in 0..<200 where !terminated {
        let result = try watcher.query(
          """
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'custody-victim' AND query LIKE '%pg_sleep(60)%' AND state = 'active'
          """)
        terminated = result.count == 1
        if !terminated { usleep(50_000) }
      }
      #expect(terminated)
      finished.wait()
      let error = try outcome.withLock { $0 }?.get()
      #expect(error?.kind == .connectionLost)
      #expect(error?.isConnectionLost == true)
      #expect(try Connection(conninfo).query("SELECT 1").count == 1)
    }
  }
}
