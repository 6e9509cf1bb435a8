import Foundation
import Postgres
import TestSupport
import Testing

@Suite("One holder at a time, under concurrent processes")
struct ConcurrencyTests {
  @Test("50 concurrent checkouts of one file: one succeeds, 49 are refused naming the holder")
  func fiftyCheckouts() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0100")[0]
      let before = try agency.eventCount()
      let people = ["pat", "pip", "bea", "oma", "dee"]
      let outcomes = try Concurrently.run(50) { index in
        try agency.run(people[index % people.count], [
          "checkout", label, "--whereabouts", "race \(index)", "--return-by", "+2h",
        ])
      }.map { try $0.get() }
      let winners = outcomes.filter { $0.status == 0 }
      #expect(winners.count == 1, "\(outcomes.map(\.status))")
      let holder = try #require(try agency.state(label).holder)
      let losers = outcomes.filter { $0.status != 0 }
      #expect(losers.count == 49)
      for loser in losers {
        #expect(loser.status == 1, "\(loser)")
        #expect(loser.stderr.hasPrefix("custody: error: \(label) is checked out by \(holder) since "), "\(loser)")
      }
      #expect(try agency.eventCount() == before + 1)
      #expect(try agency.eventKinds(label) == ["registered", "checked_out"])
    }
  }

  @Test("50 concurrent receipts of one transfer: one succeeds, 49 are refused")
  func fiftyReceipts() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0101")[0]
      #expect(try agency.run("bea", ["transfer", label, "--to", "NTH", "--method", "hand", "--expected-by", "+1d"]).status == 1)
      #expect(try agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let before = try agency.eventCount()
      let outcomes = try Concurrently.run(50) { _ in try agency.run("sam", ["receive", label]) }.map { try $0.get() }
      #expect(outcomes.filter { $0.status == 0 }.count == 1, "\(outcomes.map(\.status))")
      for loser in outcomes where loser.status != 0 {
        #expect(loser.status == 1, "\(loser)")
        #expect(loser.stderr.hasPrefix("custody: error: \(label) is at its secure base STH since "), "\(loser)")
      }
      #expect(try agency.eventCount() == before + 1)
      #expect(try agency.state(label).base == "STH")
    }
  }

  @Test("checkout racing transfer: exactly one of the two moves happens, every round")
  func checkoutRacesTransfer() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0102")[0]
      for round in 0..<8 {
        let before = try agency.eventCount()
        let outcomes = try Concurrently.run(2) { index in
          index == 0
            ? try agency.run("pat", ["checkout", label, "--whereabouts", "round \(round)", "--return-by", "+1h"])
            : try agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"])
        }.map { try $0.get() }
        #expect(outcomes.map(\.status).sorted() == [0, 1], "\(outcomes)")
        #expect(try agency.eventCount() == before + 1)
        let state = try agency.state(label)
        if outcomes[0].status == 0 {
          #expect(state.status == "checked_out")
          #expect(outcomes[1].stderr.contains("is checked out by \(agency.login("pat"))"))
          #expect(try agency.run("pat", ["return", label]).status == 0)
        } else {
          #expect(state.status == "in_transit")
          #expect(outcomes[0].stderr.contains("is in transit from NTH to STH"))
          #expect(try agency.run("bea", ["cancel-transfer", label, "--reason", "race"]).status == 0)
        }
      }
    }
  }

  @Test("a move queued behind another's uncommitted move acts on the state that move leaves")
  func queuedBehindAMove() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0104")[0]
      let pat = try db.connect(user: agency.login("pat"))
      let watcher = try db.connect()
      // The file's committed state refuses `command`; the state `uncommitted` leaves allows it.
      func queued(behind uncommitted: String, _ command: [String]) throws -> CLI.Outcome {
        try pat.execute("BEGIN")
        _ = try pat.query(uncommitted, [UUID(), label])
        let outcome = Concurrently.start { try agency.run("pat", command) }
        var waiting = false
        for _ in 0..<500 where !waiting {
          let queuedLocks = try watcher.query("SELECT count(*) FROM pg_locks WHERE NOT granted")
          waiting = try queuedLocks.first?.decode(0, as: Int.self) != 0
          if !waiting { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(waiting, "the command never waited for the uncommitted move")
        try pat.execute("COMMIT")
        return try outcome().get()
      }
      let returned = try queued(
        behind: "SELECT custody.checkout($1, $2, 'desk', now() + interval '1 hour')", ["return", label])
      #expect(returned.status == 0, "\(returned)")
      #expect(try agency.eventKinds(label) == ["registered", "checked_out", "returned"])

      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "desk", "--return-by", "+1h"]).status == 0)
      let checkedOut = try queued(
        behind: "SELECT custody.return_file($1, $2)",
        ["checkout", label, "--whereabouts", "home", "--return-by", "+1h"])
      #expect(checkedOut.status == 0, "\(checkedOut)")
      #expect(
        try agency.eventKinds(label) == [
          "registered", "checked_out", "returned", "checked_out", "returned", "checked_out",
        ])
      #expect(try agency.state(label).holder == agency.login("pat"))
    }
  }

  @Test("the database refuses a second open removal even without the API's lock")
  func partialUniqueIndexes() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0103")[0]
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "desk", "--return-by", "+1h"]).status == 0)
      let owner = try db.connect()
      let error = #expect(throws: PostgresError.self) {
        try owner.execute(
          """
          INSERT INTO custody.removal (file_id, office, holder, whereabouts, expected_return)
          SELECT id, office, $2, 'second', now() + interval '1 hour' FROM custody.file WHERE label = $1
          """, [label, agency.login("pip")])
      }
      #expect(error?.sqlstate == "23505")
      #expect(error?.constraint == "removal_one_open_per_file")
    }
  }
}
