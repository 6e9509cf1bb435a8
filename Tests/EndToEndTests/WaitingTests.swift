import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Commands never hang and never half-happen: busy files, Ctrl-C, a connection lost mid-command")
struct WaitingTests {
  /// `custody` started as a shell at a terminal would start it: SIGINT and SIGTERM neither ignored
  /// nor blocked (the test runner's threads block them).
  private final class Running: @unchecked Sendable {
    let process = Process()
    let stderr = Pipe()
    let stdout = Pipe()
    let started = Date()

    init(_ arguments: [String], environment: [String: String]) throws {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
      process.arguments = [
        "-c",
        "import os, signal, sys\n"
          + "for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)\n"
          + "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM])\n"
          + "os.execv(sys.argv[1], sys.argv[1:])",
        CLI.binary.path,
      ] + arguments
      process.environment = environment.merging(["PATH": "/usr/bin:/bin", "CUSTODY_TZ": "UTC"]) { old, _ in old }
      process.standardOutput = stdout
      process.standardError = stderr
      try process.run()
    }

    /// Waits for the end; returns the status, how long it ran, and what it said on stderr.
    func finish() -> (status: Int32, signalled: Bool, seconds: Double, stderr: String) {
      let err = stderr.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      return (
        process.terminationStatus, process.terminationReason == .uncaughtSignal, Date().timeIntervalSince(started),
        String(decoding: err, as: UTF8.self)
      )
    }
  }

  /// Another session holding `label`'s row, as a command in the middle of changing it would.
  private func holdRow(_ db: TestDatabase, _ label: String) throws -> Connection {
    let holder = try db.connect()
    try holder.execute("BEGIN")
    try holder.execute("SELECT FROM custody.file WHERE label = $1 FOR UPDATE", [label])
    return holder
  }

  private func environment(_ agency: Agency, _ who: String, _ extra: [String: String] = [:]) -> [String: String] {
    ["CUSTODY_DATABASE_URL": agency.database.conninfo(user: agency.login(who))].merging(extra) { _, new in new }
  }

  private func checkout(_ label: String, _ extra: [String] = []) -> [String] {
    ["checkout", label, "--whereabouts", "court", "--return-by", "+2h"] + extra
  }

  @Test("a file held by another session: checkout exits 75 (busy) within the timeout plus a second, and records nothing")
  func busy() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/W/1")[0]
      let events = try agency.eventCount()
      let holder = try holdRow(db, label)
      for (setting, seconds) in [(nil, 5.0), ("1500ms", 1.5)] as [(String?, Double)] {
        let run = try Running(
          checkout(label), environment: environment(agency, "pat", setting.map { ["CUSTODY_LOCK_TIMEOUT": $0] } ?? [:]))
        let outcome = run.finish()
        #expect(outcome.status == 75, "\(outcome)")
        #expect(outcome.seconds >= seconds - 0.2 && outcome.seconds < seconds + 1, "\(setting ?? "default"): \(outcome)")
        #expect(outcome.stderr.hasPrefix("custody: error: the file is busy"), "\(outcome)")
      }
      try holder.execute("ROLLBACK")
      #expect(try agency.eventCount() == events)
      #expect(try agency.state(label).status == "at_base")
      // Free again, it goes through.
      #expect(try agency.run("pat", checkout(label)).status == 0)

      let bad = try CLI.run(checkout(label), environment: environment(agency, "pat", ["CUSTODY_LOCK_TIMEOUT": "soon"]))
      #expect(bad.status == 78 && bad.stderr.contains("CUSTODY_LOCK_TIMEOUT 'soon'"), "\(bad)")
    }
  }

  @Test("Ctrl-C, SIGTERM or kill -9 while checkout waits: it ends at once, and nothing is recorded, even after the lock is released")
  func interrupted() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/W/2")[0]
      let events = try agency.eventCount()
      // SIGKILL runs no handler and cancels nothing: the change goes on once the lock is free, and
      // is not recorded only because its COMMIT never comes.
      for signal in [SIGINT, SIGTERM, SIGKILL] {
        let holder = try holdRow(db, label)
        let run = try Running(checkout(label), environment: environment(agency, "pat", ["CUSTODY_LOCK_TIMEOUT": "60s"]))
        Thread.sleep(forTimeInterval: 1)
        #expect(run.process.isRunning, "checkout did not wait for the lock")
        let sent = Date()
        kill(run.process.processIdentifier, signal)
        let outcome = run.finish()
        #expect(outcome.signalled && outcome.status == signal, "\(outcome)")
        #expect(Date().timeIntervalSince(sent) < 2, "\(outcome)")
        // The lock released: the abandoned checkout must not go through now.
        try holder.execute("COMMIT")
        Thread.sleep(forTimeInterval: 1)
        #expect(try agency.eventCount() == events, "signal \(signal)")
        #expect(try agency.state(label).status == "at_base", "signal \(signal)")
        let waiting = try db.connect().query(
          "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", [agency.login("pat")]
        ).first?.decode(0, as: Int.self)
        #expect(waiting == 0, "the server still runs the abandoned command")
      }
    }
  }

  @Test("a backend terminated mid-command: 75 with the request id, and the retry with it records once")
  func connectionLost() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/W/3")[0]
      let holder = try holdRow(db, label)
      let run = try Running(checkout(label), environment: environment(agency, "pat", ["CUSTODY_LOCK_TIMEOUT": "60s"]))
      let admin = try Connection(TestDatabase.conninfoForTests(database: db.name))
      var terminated = false
      for _ in 0..<50 where !terminated {
        Thread.sleep(forTimeInterval: 0.1)
        terminated =
          try admin.query(
            "SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
            [agency.login("pat")]
          ).first?.decode(0, as: Bool.self) ?? false
      }
      #expect(terminated)
      let outcome = run.finish()
      try holder.execute("ROLLBACK")
      #expect(outcome.status == 75, "\(outcome)")
      // One error line and its hint: nothing of libpq's ahead of them.
      let lines = outcome.stderr.split(separator: "\n")
      #expect(lines.count == 2 && lines[0].hasPrefix("custody: error: ") && lines[1].hasPrefix("hint: "), "\(outcome)")
      let hint = String(lines.last ?? "")
      let id = try #require(
        hint.range(of: "--request-id ").map { String(hint[$0.upperBound...].prefix { $0.isHexDigit || $0 == "-" }) })
      #expect(UUID(uuidString: id) != nil, "\(hint)")

      let retry = try agency.run("pat", checkout(label, ["--request-id", id]))
      #expect(retry.status == 0, "\(retry)")
      let again = try agency.run("pat", checkout(label, ["--request-id", id]))
      #expect(again.status == 0 && again.stderr.contains("already used"), "\(again)")
      #expect(try agency.eventKinds(label).filter { $0 == "checked_out" }.count == 1)
    }
  }
}
