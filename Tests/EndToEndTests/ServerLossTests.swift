import Custody
import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("Servers of the test's own: reports from a streaming standby, a primary killed under load")
struct ServerLossTests {
  private func checkout(_ label: String) -> [String] {
    ["checkout", label, "--whereabouts", "court", "--return-by", "+2h"]
  }

  /// Waits until `standby` has received (or, with `replayed`, replayed) all the WAL `primary` has
  /// inserted: the insert position, as a commit that does not wait for the disk (the private
  /// clusters' setting) may not be written out yet.
  private func caughtUp(_ primary: PrivateCluster, _ standby: PrivateCluster, replayed: Bool = true) throws {
    let lsn = try primary.admin().query("SELECT pg_current_wal_insert_lsn()::text").first?.decode(0, as: String.self) ?? ""
    let reached = replayed ? "pg_last_wal_replay_lsn()" : "pg_last_wal_receive_lsn()"
    let connection = try standby.admin()
    let deadline = Date().addingTimeInterval(60)
    while try connection.query("SELECT coalesce(\(reached) >= $1::pg_lsn, false)", [lsn]).first?.decode(0, as: Bool.self)
      != true
    {
      guard Date() < deadline else { throw TestSetupError("the standby did not reach \(lsn) in 60 s") }
      usleep(100_000)
    }
  }

  @Test("a standby's reports match the primary's; paused over a minute they warn; with the primary down reports answer and changes exit 69")
  func replica() throws {
    let primary = try PrivateCluster()
    let db = try primary.database()
    let agency = try Agency.make(in: db)
    let labels = try agency.openCase("NTH/R/1", volumes: 3)
    #expect(try agency.run("pat", checkout(labels[0])).status == 0)
    let standby = try PrivateCluster(standbyOf: primary)
    let replica = TestDatabase(name: db.name, install: db.install, cluster: standby.base)
    // A commit streamed after the standby started, so that it has replayed a transaction itself.
    #expect(try agency.run("pat", checkout(labels[1])).status == 0)
    try caughtUp(primary, standby)

    let asOf = ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400))
    let reads: [(String, [String])] = [
      ("oma", ["report", "overdue", "--as-of", asOf, "--format", "json"]),
      ("oma", ["report", "out", "--as-of", asOf, "--format", "json"]),
      ("oma", ["report", "summary", "--as-of", asOf, "--format", "json"]),
      ("oma", ["case", "show", "NTH/R/1", "--format", "json"]),
      ("pat", ["mine", "--format", "json"]),
    ]
    func read(_ who: String, _ arguments: [String], fromReplica: Bool) throws -> CLI.Outcome {
      try CLI.run(
        arguments + (fromReplica ? ["--reports-url", replica.conninfo(user: agency.login(who))] : []),
        environment: ["CUSTODY_DATABASE_URL": db.conninfo(user: agency.login(who)), "CUSTODY_TZ": "UTC"])
    }
    /// Every read, from the primary and from the standby: the same answers, and no warning.
    func same() throws -> [CLI.Outcome] {
      try reads.map { who, arguments in
        let fromPrimary = try read(who, arguments, fromReplica: false)
        let fromStandby = try read(who, arguments, fromReplica: true)
        #expect(fromPrimary.status == 0 && fromPrimary.stdout.count > 2, "\(arguments): \(fromPrimary)")
        #expect(fromStandby.status == 0 && fromStandby.stderr.isEmpty, "\(arguments): \(fromStandby)")
        #expect(fromStandby.stdout == fromPrimary.stdout, "\(arguments)")
        return fromStandby
      }
    }
    let before = try same()
    #expect(before[1].stdout.contains(labels[1]))

    // Replay paused: a checkout on the primary reaches the standby's WAL but not its reports.
    _ = try standby.admin().query("SELECT pg_wal_replay_pause()")
    #expect(try agency.run("pat", checkout(labels[2])).status == 0)
    try caughtUp(primary, standby, replayed: false)
    let stale = try read("oma", reads[1].1, fromReplica: true)
    #expect(stale.status == 0 && stale.stdout == before[1].stdout, "\(stale)")
    #expect(try read("oma", reads[1].1, fromReplica: false).stdout.contains(labels[2]))
    // Once what it has replayed is over a minute old, every read from it says so.
    let standbyAdmin = try standby.admin()
    let stalled = Date()
    while try standbyAdmin.query(
      "SELECT coalesce(now() - pg_last_xact_replay_timestamp() > interval '61 seconds', false)"
    ).first?.decode(0, as: Bool.self) != true {
      guard Date().timeIntervalSince(stalled) < 120 else { throw TestSetupError("the standby's replay did not age") }
      usleep(500_000)
    }
    for (who, arguments) in reads {
      let late = try read(who, arguments, fromReplica: true)
      #expect(late.status == 0, "\(arguments): \(late)")
      #expect(late.stderr.hasPrefix("custody: warning: read from a replica "), "\(late)")
      #expect(late.stderr.contains(" min behind the primary: changes made after "), "\(late)")
    }
    // CUSTODY_REPORTS_URL names it as well as the option does.
    let byEnvironment = try CLI.run(
      reads[1].1,
      environment: [
        "CUSTODY_DATABASE_URL": db.conninfo(user: agency.login("oma")),
        "CUSTODY_REPORTS_URL": replica.conninfo(user: agency.login("oma")), "CUSTODY_TZ": "UTC",
      ])
    #expect(byEnvironment.stdout == before[1].stdout && byEnvironment.stderr.contains("read from a replica"))

    // Resumed, and with a commit newer than a minute (a standby between receiving and replaying
    // WAL measures its lag from the newest commit it replayed).
    _ = try standby.admin().query("SELECT pg_wal_replay_resume()")
    #expect(try agency.run("pat", ["return", labels[0]]).status == 0)
    try caughtUp(primary, standby)
    let after = try same()
    #expect(after[1].stdout.contains(labels[2]))

    // The primary down: reports still answer from the standby; a change cannot be made.
    try primary.stop()
    for ((who, arguments), answer) in zip(reads, after) {
      let alone = try read(who, arguments, fromReplica: true)
      #expect(alone.status == 0 && alone.stdout == answer.stdout, "\(arguments): \(alone)")
    }
    let change = try CLI.run(
      ["return", labels[1]],
      environment: [
        "CUSTODY_DATABASE_URL": db.conninfo(user: agency.login("pat")),
        "CUSTODY_REPORTS_URL": replica.conninfo(user: agency.login("pat")),
      ])
    #expect(change.status == 69, "\(change)")
  }

  @Test("the server killed with SIGKILL under 8 writers: each acknowledged command has its one event, the rest exit 69 or 75, and verify is clean")
  func killed() throws {
    let cluster = try PrivateCluster(fast: false)
    let db = try cluster.database()
    let agency = try Agency.make(in: db)
    let labels = try agency.openCase("NTH/K/1", volumes: 9)
    let acknowledged = Mutex<[UUID]>([])
    let interrupted = Mutex<[Int32]>([])
    let unexpected = Mutex<[String]>([])
    let stopping = Atomic<Bool>(false)

    // Each writer checks its file out and back in until told to stop; a command that exits 69 or
    // 75 is sent again with the same request id until it is acknowledged.
    let writers = Concurrently.start {
      Concurrently.run(8) { index in
        let who = agency.login(index % 2 == 0 ? "pat" : "pip")
        let environment = ["CUSTODY_DATABASE_URL": db.conninfo(user: who)]
        while !stopping.load(ordering: .relaxed) {
          for command in [checkout(labels[index]), ["return", labels[index]]] {
            let id = UUID()
            let deadline = Date().addingTimeInterval(120)
            while true {
              let outcome = try CLI.run(command + ["--request-id", id.uuidString], environment: environment)
              if outcome.status == 0 {
                acknowledged.withLock { $0.append(id) }
                break
              }
              guard [69, 75].contains(outcome.status), Date() < deadline else {
                unexpected.withLock { $0.append("\(command): \(outcome)") }
                return
              }
              interrupted.withLock { $0.append(outcome.status) }
              usleep(200_000)
            }
          }
        }
      }
    }
    func waitFor(_ count: Int) {
      let deadline = Date().addingTimeInterval(180)
      while acknowledged.withLock({ $0.count }) < count && unexpected.withLock({ $0.isEmpty }) && Date() < deadline {
        usleep(50_000)
      }
    }
    waitFor(80)
    // One more checkout waits inside the server for a file another session holds when it dies.
    let holder = try cluster.admin(db.name)
    try holder.execute("BEGIN")
    try holder.execute("SELECT FROM custody.file WHERE label = $1 FOR UPDATE", [labels[8]])
    let waitingID = UUID()
    let waitingCheckout = checkout(labels[8]) + ["--request-id", waitingID.uuidString]
    let pat = ["CUSTODY_DATABASE_URL": db.conninfo(user: agency.login("pat")), "CUSTODY_LOCK_TIMEOUT": "60s"]
    let waiting = Concurrently.start { try CLI.run(waitingCheckout, environment: pat) }
    // Another session: pg_stat_activity stays as it was for the rest of a transaction.
    let watcher = try cluster.admin(db.name)
    let deadline = Date().addingTimeInterval(30)
    while try watcher.query(
      "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", [agency.login("pat")]
    ).first?.decode(0, as: Int.self) == 0 && Date() < deadline {
      usleep(50_000)
    }
    try cluster.crash()
    let atCrash = acknowledged.withLock { $0.count }
    usleep(500_000)
    try cluster.start()
    waitFor(atCrash + 80)
    stopping.store(true, ordering: .relaxed)
    let outcomes = writers()
    #expect(throws: Never.self) { try outcomes.get().forEach { try $0.get() } }
    // Its outcome unknown: 75 and the request id; sent again with that id, it is recorded once.
    let lost = try waiting().get()
    #expect(lost.status == 75 && lost.stderr.contains(waitingID.uuidString.lowercased()), "\(lost)")
    #expect(try CLI.run(waitingCheckout, environment: pat).status == 0)
    #expect(try agency.state(labels[8]).status == "checked_out")
    acknowledged.withLock { $0.append(waitingID) }

    #expect(unexpected.withLock { $0 } == [])
    let exits = interrupted.withLock { $0 }
    #expect(!exits.isEmpty, "no command met the crash")
    let ids = acknowledged.withLock { $0 }
    #expect(ids.count >= atCrash + 80)
    print(
      "ServerLossTests: \(ids.count) commands acknowledged (\(atCrash) before the crash); meanwhile "
        + "\(exits.filter { $0 == 75 }.count) exits 75 and \(exits.filter { $0 == 69 }.count) exits 69")
    let counts = try cluster.admin(db.name).query(
      """
      SELECT count(*) FILTER (WHERE n <> 1), count(*)
        FROM (SELECT (SELECT count(*) FROM custody.event e WHERE e.request_id = r) AS n
                FROM unnest($1::text::uuid[]) r) c
      """, ["{" + ids.map(\.uuidString).joined(separator: ",") + "}"]
    ).first
    #expect(try counts?.decode(0, as: Int.self) == 0, "acknowledged commands without exactly one event")
    #expect(try counts?.decode(1, as: Int.self) == ids.count)
    for label in labels.prefix(8) {
      #expect(try agency.state(label).status == "at_base", "\(label)")
    }
    let verified = try agency.run(nil, ["verify"])
    #expect(verified.status == 0, "\(verified)")
  }
}
