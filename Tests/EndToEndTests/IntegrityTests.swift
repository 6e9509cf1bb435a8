import Custody
import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("The record proves itself: every event matches its digest, and a change behind the triggers is named")
struct IntegrityTests {
  /// The cluster's superuser on the test database, behind the triggers as a hostile DBA would be.
  private func behindTheTriggers(_ db: TestDatabase) throws -> Connection {
    let connection = try Connection(TestDatabase.conninfoForTests(database: db.name))
    try connection.execute("SET session_replication_role = replica")
    return connection
  }

  private func verify(_ agency: Agency, _ who: String? = "dee", _ extra: [String] = []) throws -> CLI.Outcome {
    try agency.run(who, ["verify"] + extra)
  }

  private func brokenAt(_ outcome: CLI.Outcome) -> Int? {
    guard outcome.status == 3, let range = outcome.stderr.range(of: "event ") else { return nil }
    return Int(outcome.stderr[range.upperBound...].prefix { $0.isNumber })
  }

  /// Some history: cases, files, checkouts and returns, a transfer.
  private func history(_ agency: Agency) throws -> [String] {
    let labels = try agency.openCase("NTH/IN/1", volumes: 3)
    for label in labels {
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+2h"]).status == 0)
      #expect(try agency.run("pat", ["return", label]).status == 0)
    }
    #expect(
      try agency.run("bea", ["transfer", labels[0], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status
        == 0)
    return labels
  }

  @Test("verify is clean after 8 concurrent writers, and each head names its chain's newest event")
  func concurrentWriters() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/IN/8", volumes: 8)
      let before = try agency.eventCount()
      let outcomes = Concurrently.run(8) { index in
        var statuses: [Int32] = []
        for _ in 0..<5 {
          statuses.append(
            try agency.run("pat", ["checkout", labels[index], "--whereabouts", "court", "--return-by", "+2h"]).status)
          statuses.append(try agency.run("pat", ["return", labels[index]]).status)
        }
        return statuses
      }
      #expect(outcomes.allSatisfy { (try? $0.get())?.allSatisfy { $0 == 0 } == true }, "\(outcomes)")
      #expect(try agency.eventCount() == before + 80)
      let clean = try verify(agency)
      #expect(clean.status == 0, "\(clean)")
      #expect(clean.stdout.contains("the record is intact: \(before + 80) events"), "\(clean)")
      // Each head names its chain's newest event, and no two events follow the same one.
      let owner = try db.connect()
      let heads = try owner.query(
        """
        SELECT count(*) FROM custody.event_head h
         WHERE h.last_id IS DISTINCT FROM (SELECT max(e.id) FROM custody.event e
                                            WHERE custody.event_chain_key(e.file_id, e.case_id, e.subject) = h.chain)
        """
      ).first?.decode(0, as: Int.self)
      #expect(heads == 0)
      #expect(try forks(owner) == 0)
    }
  }

  private func forks(_ connection: Connection) throws -> Int? {
    try connection.query(
      "SELECT count(*) FROM (SELECT previous FROM custody.event WHERE previous <> '' GROUP BY 1 HAVING count(*) > 1) f"
    ).first?.decode(0)
  }

  @Test("8 writers appending to one chain at once take turns: it does not fork, and verify is clean")
  func oneChain() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let before = try agency.eventCount()
      let outcomes = Concurrently.run(8) { index in
        let writer = try Connection(TestDatabase.conninfoForTests(database: db.name))
        for turn in 0..<25 {
          try writer.execute(
            "INSERT INTO custody.event (kind, request_id, subject, note) VALUES ('staff_changed', gen_random_uuid(), 'one chain', $1)",
            ["writer \(index), turn \(turn)"])
        }
      }
      #expect(outcomes.allSatisfy { (try? $0.get()) != nil }, "\(outcomes)")
      #expect(try agency.eventCount() == before + 200)
      let owner = try db.connect()
      // The chain, followed link by link from its head, holds all 200 in id order.
      let walked = try owner.query(
        """
        WITH RECURSIVE walk AS (
          SELECT e.id, e.previous, 1 AS n FROM custody.event e
            JOIN custody.event_head h ON h.last_id = e.id AND h.digest = e.digest WHERE h.chain = 'subject one chain'
          UNION ALL
          SELECT e.id, e.previous, w.n + 1 FROM walk w JOIN custody.event e ON e.digest = w.previous)
        SELECT count(*), bool_and(later.id > w.id) FROM walk w LEFT JOIN walk later ON later.n = w.n - 1
        """
      ).first
      #expect(try walked?.decode(0, as: Int.self) == 200)
      #expect(try walked?.decode(1, as: Bool.self) == true)
      #expect(try forks(owner) == 0)
      let clean = try verify(agency)
      #expect(clean.status == 0, "\(clean)")
    }
  }

  @Test("verify while 4 writers append is clean every time: what it sums is read in one snapshot")
  func verifyWhileWriting() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try history(agency)
      let stopping = Atomic<Bool>(false)
      let writers = Concurrently.start {
        Concurrently.run(4) { index in
          let writer = try Connection(TestDatabase.conninfoForTests(database: db.name))
          var turn = 0
          while !stopping.load(ordering: .relaxed) {
            try writer.execute(
              "INSERT INTO custody.event (kind, request_id, subject, note) VALUES ('staff_changed', gen_random_uuid(), $1, $2)",
              ["writer \(index)", "turn \(turn)"])
            turn += 1
          }
          return turn
        }
      }
      let owner = try db.connect()
      var broken: [String] = []
      var checkpoints = Set<String>()
      for _ in 0..<150 {
        let row = try owner.query(
          "SELECT broken_id, reason, newest_id, encode(newest_digest, 'hex') FROM custody.verify_record()"
        ).first
        if let id = try row?.decodeIfPresent(0, as: Int.self) {
          broken.append("\(id): \(try row?.decodeIfPresent(1, as: String.self) ?? "")")
        } else if let id = try row?.decodeIfPresent(2, as: Int.self), let digest = try row?.decodeIfPresent(3, as: String.self) {
          checkpoints.insert("\(id):\(digest)")
        }
      }
      stopping.store(true, ordering: .relaxed)
      let appended = try writers().get().map { try $0.get() }
      #expect(appended.allSatisfy { $0 > 0 }, "\(appended)")
      #expect(broken == [], "\(broken.count) of 150 verifies reported a break")
      // Each checkpoint taken meanwhile still holds.
      for checkpoint in checkpoints.sorted().prefix(20) {
        let held = try verify(agency, "dee", ["--from", checkpoint])
        #expect(held.status == 0, "\(checkpoint): \(held)")
      }
    }
  }

  @Test("a change, a removal, an insertion and a swap behind the triggers are each named, with exit 3")
  func tampering() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try history(agency)
      #expect(try verify(agency).status == 0)
      let dba = try behindTheTriggers(db)
      let target: Int64 = try #require(
        try dba.query(
          "SELECT min(e.id) FROM custody.event e JOIN custody.file f ON f.id = e.file_id WHERE f.label = $1 AND e.kind = 'checked_out'",
          [labels[1]]
        ).first?.decode(0))
      let total = try agency.eventCount()
      let after = try dba.query("SELECT count(*) FROM custody.event WHERE id > $1", [target]).first?.decode(0, as: Int.self)

      // An old checkout's whereabouts rewritten.
      try dba.execute("UPDATE custody.event SET whereabouts = 'the office' WHERE id = $1", [target])
      let changed = try verify(agency)
      #expect(changed.status == 3, "\(changed)")
      #expect(brokenAt(changed) == Int(target), "\(changed)")
      #expect(changed.stderr.contains(labels[1]) && changed.stderr.contains("\(after ?? -1) events follow it"), "\(changed)")
      #expect(changed.stdout.isEmpty, "no checkpoint for a record that does not match: \(changed)")
      try dba.execute("UPDATE custody.event SET whereabouts = 'court' WHERE id = $1", [target])
      #expect(try verify(agency).status == 0)

      // The checkout deleted: its return no longer follows the event before it in the file's chain.
      let saved = try dba.query("SELECT id FROM custody.event WHERE id >= $1 ORDER BY id LIMIT 2", [target])
        .map { try $0.decode(0, as: Int64.self) }
      try dba.execute("CREATE TEMP TABLE kept AS SELECT * FROM custody.event WHERE id IN ($1, $2)", [saved[0], saved[1]])
      try dba.execute("DELETE FROM custody.event WHERE id = $1", [saved[0]])
      let deleted = try verify(agency)
      #expect(deleted.status == 3, "\(deleted)")
      #expect(brokenAt(deleted) == Int(saved[1]), "\(deleted)")
      #expect(deleted.stderr.contains("does not follow the event before it"), "\(deleted)")
      // The checkout and its return deleted: the file's chain ends early, and its head names the return.
      try dba.execute("DELETE FROM custody.event WHERE id = $1", [saved[1]])
      let pair = try verify(agency)
      #expect(pair.status == 3, "\(pair)")
      #expect(brokenAt(pair) == Int(saved[1]), "\(pair)")
      #expect(pair.stderr.contains("is the newest in its chain, and missing"), "\(pair)")
      try dba.execute("INSERT INTO custody.event SELECT * FROM kept")
      #expect(try verify(agency).status == 0)

      // An event inserted into the past (where a rolled-back command left a gap in the ids), with a
      // digest of its own making.
      let gap = (try dba.query("SELECT max(id) FROM custody.event").first?.decode(0, as: Int64.self) ?? 0) + 5
      try dba.execute("SELECT setval('custody.event_id_seq', $1::bigint + 5)", [gap])
      #expect(try agency.run("pat", ["checkout", labels[2], "--whereabouts", "court", "--return-by", "+2h"]).status == 0)
      #expect(try verify(agency).status == 0)
      try dba.execute(
        """
        INSERT INTO custody.event (id, at, actor, kind, request_id, subject, file_id, base, previous, digest)
        SELECT $1::bigint, e.at, e.actor, 'returned', gen_random_uuid(), e.subject, e.file_id, e.base,
               e.digest, sha256('forged'::bytea)
          FROM custody.event e WHERE e.id = $2
        """, [gap, target])
      let inserted = try verify(agency)
      #expect(inserted.status == 3, "\(inserted)")
      #expect(brokenAt(inserted) == Int(gap), "\(inserted)")
      try dba.execute("DELETE FROM custody.event WHERE id = $1", [gap])
      #expect(try verify(agency).status == 0)

      // Two events' contents swapped (a checkout and its return change places).
      let swap = "UPDATE custody.event e SET kind = o.kind, at = o.at, whereabouts = o.whereabouts, expected_at = o.expected_at FROM custody.event o WHERE (e.id, o.id) IN (($1, $2), ($2, $1))"
      try dba.execute(swap, [saved[0], saved[1]])
      let swapped = try verify(agency)
      #expect(swapped.status == 3, "\(swapped)")
      #expect(brokenAt(swapped) == Int(saved[0]), "\(swapped)")
      try dba.execute(swap, [saved[0], saved[1]])

      // The newest event deleted: the head names it.
      let newest = try dba.query("SELECT max(id) FROM custody.event").first?.decode(0, as: Int64.self) ?? 0
      try dba.execute("CREATE TEMP TABLE newest AS SELECT * FROM custody.event WHERE id = $1", [newest])
      try dba.execute("DELETE FROM custody.event WHERE id = $1", [newest])
      let truncated = try verify(agency)
      #expect(truncated.status == 3 && brokenAt(truncated) == Int(newest), "\(truncated)")
      try dba.execute("INSERT INTO custody.event SELECT * FROM newest")

      let restored = try verify(agency, nil, ["--format", "json"])
      #expect(restored.status == 0, "\(restored)")
      #expect(try restored.jsonObject()["events"] as? Int == total + 1)
    }
  }

  @Test("--from a checkpoint taken before a rewrite with recomputed digests exits 3; from one taken after, 0")
  func checkpoints() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try history(agency)
      let first = try verify(agency)
      #expect(first.status == 0, "\(first)")
      let before = try #require(first.stdout.split(separator: "\n").first { $0.hasPrefix("checkpoint: ") })
        .dropFirst("checkpoint: ".count)

      // A DBA who knows the scheme rewrites an old event and recomputes every digest after it.
      let dba = try behindTheTriggers(db)
      try dba.execute(
        """
        UPDATE custody.event SET whereabouts = 'the office'
         WHERE id = (SELECT min(e.id) FROM custody.event e JOIN custody.file f ON f.id = e.file_id
                      WHERE f.label = $1 AND e.kind = 'checked_out')
        """, [labels[2]])
      try dba.execute(
        """
        UPDATE custody.event e SET digest = c.digest, previous = coalesce(c.before, '')
          FROM (SELECT x.id, x.digest, lag(x.digest) OVER (PARTITION BY x.key ORDER BY x.id) AS before
                  FROM (SELECT y.id, custody.event_chain_key(y.file_id, y.case_id, y.subject) AS key,
                               custody.chain_digests(custody.event_content(y))
                                 OVER (PARTITION BY custody.event_chain_key(y.file_id, y.case_id, y.subject) ORDER BY y.id) AS digest
                          FROM custody.event y) x) c
         WHERE c.id = e.id
        """)
      try dba.execute("UPDATE custody.event_head h SET digest = e.digest FROM custody.event e WHERE e.id = h.last_id")
      #expect(try verify(agency).status == 0, "the chain alone cannot tell a consistent rewrite")

      let fromBefore = try verify(agency, "dee", ["--from", String(before)])
      #expect(fromBefore.status == 3, "\(fromBefore)")
      #expect(fromBefore.stderr.contains("does not match the checkpoint"), "\(fromBefore)")

      let now = try verify(agency)
      let after = try #require(now.stdout.split(separator: "\n").first { $0.hasPrefix("checkpoint: ") })
        .dropFirst("checkpoint: ".count)
      #expect(after != before)
      // More is recorded; the checkpoint still holds.
      #expect(try agency.run("pat", ["checkout", labels[1], "--whereabouts", "home visit", "--return-by", "+2h"]).status == 0)
      let fromAfter = try verify(agency, "dee", ["--from", String(after)])
      #expect(fromAfter.status == 0, "\(fromAfter)")
      #expect(fromAfter.stdout.contains("unchanged up to event"), "\(fromAfter)")
    }
  }

  @Test("a checkpoint taken while an earlier append is still uncommitted stops before it, and holds once it commits")
  func checkpointBeforeUncommitted() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try history(agency)
      let insert =
        "INSERT INTO custody.event (kind, request_id, subject, note) VALUES ('staff_changed', gen_random_uuid(), $1, 'late') RETURNING id"
      let slow = try Connection(TestDatabase.conninfoForTests(database: db.name))
      try slow.execute("BEGIN")
      let pending: Int64 = try #require(try slow.query(insert, ["slow"]).first?.decode(0))
      let quick = try Connection(TestDatabase.conninfoForTests(database: db.name))
      let committed: Int64 = try #require(try quick.query(insert, ["quick"]).first?.decode(0))
      #expect(committed > pending)

      let during = try verify(agency)
      #expect(during.status == 0, "\(during)")
      let checkpoint = try #require(during.stdout.split(separator: "\n").first { $0.hasPrefix("checkpoint: ") })
        .dropFirst("checkpoint: ".count)
      let id = Int64(checkpoint.prefix { $0 != ":" }) ?? -1
      #expect(id < pending, "the checkpoint \(checkpoint) must stop before event \(pending), still uncommitted")

      try slow.execute("COMMIT")
      let after = try verify(agency, "dee", ["--from", String(checkpoint)])
      #expect(after.status == 0, "\(after)")
      #expect(after.stdout.contains("checkpoint: \(committed):"), "\(after)")
    }
  }

  @Test("verify is for the owner and directors (77 for others); a malformed checkpoint is 65")
  func access() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try history(agency)
      #expect(try verify(agency, nil).status == 0)
      for who in ["pat", "oma", "bea"] {
        let refused = try verify(agency, who)
        #expect(refused.status == 77, "\(who): \(refused)")
      }
      for bad in ["nonsense", "12:abc", "0:" + String(repeating: "a", count: 64), "5:" + String(repeating: "G", count: 64)] {
        let malformed = try verify(agency, "dee", ["--from", bad])
        #expect(malformed.status == 65, "\(bad): \(malformed)")
      }
      let unknown = try verify(agency, "dee", ["--from", "999999:" + String(repeating: "a", count: 64)])
      #expect(unknown.status == 3, "\(unknown)")
    }
  }
}
