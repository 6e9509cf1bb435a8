import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("The office's daily loop: what each role sees and is told")
struct DailyLoopTests {
  @Test("cancelling a transfer that was received is refused by the rules (1), not as a permission (77)")
  func cancelAfterReceipt() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LOOP/1")[0]
      #expect(try agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", label]).status == 0)
      let before = try agency.eventCount()
      let late = try agency.run("bea", ["cancel-transfer", label, "--reason", "sent by mistake"])
      #expect(late.status == 1, "\(late)")
      #expect(late.stderr.contains("is at its secure base STH"), "\(late)")
      #expect(try agency.eventCount() == before)
    }
  }

  @Test("a witness who is nobody on the staff is not found (66); oneself as witness is invalid (65)")
  func witnessNotFound() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LOOP/2")[0]
      let nobody = try agency.run("bea", ["destroy", label, "--witness", "nobody", "--certificate", "C-1"])
      #expect(nobody.status == 66, "\(nobody)")
      #expect(nobody.stderr == "custody: error: no member of staff nobody\n", "\(nobody)")
      let oneself = try agency.run("bea", ["destroy", label, "--witness", agency.login("bea"), "--certificate", "C-1"])
      #expect(oneself.status == 65, "\(oneself)")
    }
  }

  @Test("arrivals without --office are what is coming to the login's office or home base, not what leaves it")
  func arrivalsComeIn() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let north = try agency.openCase("NTH/LOOP/3")[0]
      let south = try agency.openCase("STH/LOOP/3", office: "STH", volumes: 2)
      #expect(try agency.run("bea", ["transfer", north, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["transfer", south[0], "--to", "NTH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let home = "home:" + agency.login("hana")
      #expect(try agency.run("sam", ["transfer", south[1], "--to", home, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      func arrivals(_ who: String, _ extra: [String] = []) throws -> [String] {
        let outcome = try agency.run(who, ["report", "arrivals", "--format", "csv"] + extra)
        #expect(outcome.status == 0, "\(outcome)")
        return try CSV.parse(outcome.stdout).dropFirst().map { $0[0] }
      }
      #expect(try arrivals("oma") == [south[0]])
      #expect(try arrivals("sam") == [north, south[1]].sorted())
      #expect(try arrivals("hana") == [north, south[1]].sorted())
      #expect(try arrivals("oma", ["--office", "STH"]) == [north])
      // transit lists both directions.
      let transit = try agency.run("oma", ["report", "transit", "--format", "csv"])
      #expect(try CSV.parse(transit.stdout).dropFirst().map { $0[0] }.sorted() == [north, south[0]].sorted(), "\(transit)")
    }
  }

  @Test("a replayed request prints its first outcome and says on stderr that nothing new was recorded")
  func replaySaysSo() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LOOP/4")[0]
      let id = UUID().uuidString
      let first = try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+1d", "--request-id", id])
      #expect(first.status == 0, "\(first)")
      #expect(first.stderr.isEmpty, "\(first)")
      #expect(try agency.run("pat", ["return", label]).status == 0)
      let again = try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+1d", "--request-id", id])
      #expect(again.status == 0, "\(again)")
      #expect(again.stdout == first.stdout)
      #expect(again.stderr.contains("was already used"), "\(again)")
      #expect(again.stderr.contains("nothing new was recorded"), "\(again)")
      #expect(try agency.state(label).status == "at_base")
    }
  }

  @Test("report missing lists each missing file: since, who reported it, why, and who last held it")
  func missingReport() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LOOP/5", volumes: 3)
      let south = try agency.openCase("STH/LOOP/5", office: "STH")[0]
      #expect(try agency.run("pat", ["checkout", labels[0], "--whereabouts", "court", "--return-by", "+1d"]).status == 0)
      #expect(try agency.run("bea", ["missing", labels[0], "--reason", "not back from court"]).status == 0)
      #expect(try agency.run("bea", ["missing", labels[1], "--reason", "=not in cabinet B"]).status == 0)
      #expect(try agency.run("sam", ["missing", south, "--reason", "stocktake"]).status == 0)
      let json = try agency.run("oma", ["report", "missing", "--format", "json"])
      #expect(json.status == 0, "\(json)")
      let rows = try json.jsonRows()
      #expect(rows.map { $0["label"] as? String } == [labels[0], labels[1]], "\(json)")
      #expect(Set(rows[0].keys) == ["label", "case", "office", "since", "reported_by", "reason", "last_holder"])
      #expect(rows[0]["reason"] as? String == "not back from court")
      #expect(rows[0]["reported_by"] as? String == agency.login("bea"))
      #expect(rows[0]["last_holder"] as? String == agency.login("pat"))
      #expect(rows[1]["last_holder"] is NSNull)
      let csv = try agency.run("oma", ["report", "missing", "--format", "csv"])
      #expect(csv.stdout.contains("'=not in cabinet B"), "\(csv)")
      let all = try agency.run("dee", ["report", "missing", "--format", "csv"])
      #expect(try CSV.parse(all.stdout).count == 4, "\(all)")
      let none = try agency.run("oma", ["report", "missing", "--office", "NTH"])
      #expect(none.stdout.contains(labels[1]), "\(none)")
      #expect(try agency.run("oma", ["found", labels[1], "--at", "NTH"]).status == 0)
      let after = try agency.run("oma", ["report", "missing", "--format", "csv", "--office", "NTH"])
      #expect(try CSV.parse(after.stdout).dropFirst().map { $0[0] } == [labels[0]], "\(after)")
    }
  }

  @Test("mine lists a home-based worker's files at their home base beside those they hold and have coming")
  func mineAtHome() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("STH/LOOP/6", office: "STH", volumes: 3)
      let home = "home:" + agency.login("hana")
      for label in labels {
        #expect(try agency.run("sam", ["transfer", label, "--to", home, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      }
      #expect(try agency.run("hana", ["receive", labels[0]]).status == 0)
      #expect(try agency.run("hana", ["receive", labels[1]]).status == 0)
      #expect(try agency.run("hana", ["checkout", labels[1], "--whereabouts", "court", "--return-by", "+1d"]).status == 0)
      let mine = try agency.run("hana", ["mine", "--format", "json"])
      #expect(mine.status == 0, "\(mine)")
      let rows = try mine.jsonRows()
      let byLabel = Dictionary(uniqueKeysWithValues: rows.map { ($0["label"] as? String ?? "", $0) })
      #expect(Set(byLabel.keys) == Set(labels), "\(mine)")
      #expect(byLabel[labels[0]]?["status"] as? String == "at_base")
      #expect(byLabel[labels[0]]?["secure_base"] as? String == home)
      #expect(byLabel[labels[1]]?["status"] as? String == "checked_out")
      #expect(byLabel[labels[1]]?["holder"] as? String == agency.login("hana"))
      #expect(byLabel[labels[1]]?["holder_name"] as? String == "Hana")
      #expect(byLabel[labels[2]]?["status"] as? String == "in_transit")
      #expect(byLabel[labels[2]]?["holder_name"] is NSNull)
      let table = try agency.run("hana", ["mine"])
      #expect(table.stdout.contains(labels[0]), "\(table)")
    }
  }

  @Test("help for a command that does not exist is a usage error (64); help for one that does is shown")
  func helpTopics() throws {
    let unknown = try CLI.run(["help", "frobnicate"])
    #expect(unknown.status == 64, "\(unknown)")
    #expect(unknown.stderr.hasPrefix("custody: error: no command 'frobnicate'\n"), "\(unknown)")
    #expect(unknown.stdout.isEmpty)
    let deeper = try CLI.run(["help", "report", "nosuch"])
    #expect(deeper.status == 64, "\(deeper)")
    let known = try CLI.run(["help", "report", "missing"])
    #expect(known.status == 0, "\(known)")
    #expect(known.stdout.contains("Files recorded missing"), "\(known)")
  }

  @Test("an error line stays one line: control and bidi characters are escaped and long input cut short")
  func errorsStayOneLine() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      for label in ["A\nB", "A\u{202E}B", "A\u{2028}B", String(repeating: "X", count: 100_000)] {
        let outcome = try agency.run("pat", ["whereabouts", label])
        #expect(outcome.status == 65, "\(outcome.status)")
        let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.first?.hasPrefix("custody: error: ") == true)
        #expect(lines.allSatisfy { $0.hasPrefix("custody: error: ") || $0.hasPrefix("hint: ") }, "\(lines.prefix(3))")
        #expect(outcome.stderr.count < 1_000, "\(outcome.stderr.count) characters")
        #expect(!outcome.stderr.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x2028 })
      }
      let twoLines = try agency.run("pat", ["whereabouts", "A\nB"])
      #expect(twoLines.stderr.contains("A\\nB"), "\(twoLines)")
    }
  }

  @Test("a connection string libpq cannot read is configuration (78), not an unreachable database (69)")
  func connectionStrings() throws {
    for url in ["host=/nowhere bogus=1", "host=/nowhere sslmode=bogus", "postgresql://[::1"] {
      let outcome = try CLI.run(["whoami"], environment: ["CUSTODY_DATABASE_URL": url])
      #expect(outcome.status == 78, "\(url): \(outcome)")
      #expect(outcome.stderr.contains("hint: check --database-url"), "\(outcome)")
    }
    let unreachable = try CLI.run(["whoami"], environment: ["CUSTODY_DATABASE_URL": "host=/nowhere port=1"])
    #expect(unreachable.status == 69, "\(unreachable)")
  }

  @Test("messages give times with the year, in the format tables use")
  func timesWithYear() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LOOP/7")[0]
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+1d"]).status == 0)
      let taken = try agency.run("pip", ["checkout", label, "--whereabouts", "court", "--return-by", "+1d"])
      #expect(taken.status == 1, "\(taken)")
      let stamp = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/
      #expect(taken.stderr.contains(/since \d{4}-\d{2}-\d{2} \d{2}:\d{2}, due back \d{4}-\d{2}-\d{2} \d{2}:\d{2}/),
        "\(taken)")
      #expect(taken.stderr.matches(of: stamp).count == 2, "\(taken)")
    }
  }

  @Test("receiving a sealed transfer without --seal warns that the seal was not checked")
  func receiveWithoutSeal() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LOOP/8", volumes: 3)
      for label in labels {
        let sent = try agency.run(
          "bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d", "--seal", "S-\(label)"])
        #expect(sent.status == 0, "\(sent)")
      }
      let unchecked = try agency.run("sam", ["receive", labels[0]])
      #expect(unchecked.status == 0, "\(unchecked)")
      #expect(unchecked.stderr.contains("was dispatched under seal 'S-\(labels[0])', which was not checked"), "\(unchecked)")
      let checked = try agency.run("sam", ["receive", labels[1], "--seal", "S-\(labels[1])"])
      #expect(checked.status == 0 && checked.stderr.isEmpty, "\(checked)")
      let differs = try agency.run("sam", ["receive", labels[2], "--seal", "other"])
      #expect(differs.stderr.contains("differs from the seal recorded at dispatch"), "\(differs)")
    }
  }

  @Test("report destruction gives a case's labels as a JSON array")
  func destructionLabels() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LOOP/9", volumes: 2)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/LOOP/9", "--born", "2000-01-01"]).status == 0)
      try db.connect().execute(
        """
        UPDATE custody.case_record SET opened_at = '2010-01-01', ended_on = '2015-01-01', proceedings_ended_on = '2015-01-01',
               closed_on = '2015-02-01' WHERE number = 'NTH/LOOP/9'
        """)
      let json = try agency.run("oma", ["report", "destruction", "--format", "json"])
      let rows = try json.jsonRows()
      #expect(rows.first?["labels"] as? [String] == labels, "\(json)")
      let csv = try agency.run("oma", ["report", "destruction", "--format", "csv"])
      #expect(csv.stdout.contains(labels.joined(separator: " ")), "\(csv)")
    }
  }

  @Test("case show gives the case's end, closure, destruction date, hold and police information")
  func caseShowClocks() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/LOOP/10")
      try db.connect().execute("UPDATE custody.case_record SET opened_at = '2020-01-01' WHERE number = 'NTH/LOOP/10'")
      for arguments in [
        ["case", "add-child", "NTH/LOOP/10", "--born", "2015-04-01"],
        ["police-info", "add", "NTH/LOOP/10", "--received", "2024-01-10"],
        ["case", "end", "NTH/LOOP/10", "--on", "2025-06-01"],
        ["hold", "place", "NTH/LOOP/10", "--reason", "serious case review"],
      ] {
        #expect(try agency.run("bea", arguments).status == 0, "\(arguments)")
      }
      let ended = try agency.run("bea", ["case", "show", "NTH/LOOP/10", "--format", "json"]).jsonObject()
      #expect(ended["ended_on"] as? String == "2025-06-01")
      #expect(ended["closure_due_on"] as? String == "2025-06-29")
      #expect(ended["closed_on"] is NSNull)
      #expect(ended["hold"] as? String == "serious case review")
      let police = try #require(ended["police_info"] as? [[String: Any]])
      #expect(police.first?["received_on"] as? String == "2024-01-10")
      #expect(police.first?["due_on"] as? String == "2025-06-01")
      #expect(try agency.run("bea", ["case", "close", "NTH/LOOP/10", "--on", "2025-06-10"]).status == 0)
      let closed = try agency.run("bea", ["case", "show", "NTH/LOOP/10", "--format", "json"]).jsonObject()
      #expect(closed["closed_on"] as? String == "2025-06-10")
      #expect(closed["closure_due_on"] is NSNull)
      #expect(closed["destruction_on"] as? String == "2037-04-01")
      let table = try agency.run("bea", ["case", "show", "NTH/LOOP/10"])
      #expect(table.stdout.contains("destruction on:") && table.stdout.contains("2037-04-01"), "\(table)")
      #expect(table.stdout.contains("Police information:"), "\(table)")
    }
  }

  @Test("migrate refuses to install custody into the cluster's maintenance database")
  func notIntoPostgres() throws {
    let outcome = try CLI.run(
      ["migrate"], environment: ["CUSTODY_DATABASE_URL": TestDatabase.conninfoForTests(database: "postgres")])
    #expect(outcome.status == 78, "\(outcome)")
    #expect(outcome.stderr.contains("maintenance database"), "\(outcome)")
    let schema = try TestDatabase.admin().query("SELECT to_regnamespace('custody') IS NULL").first?.decode(0, as: Bool.self)
    #expect(schema == true)
  }

  @Test("a login that is not staff is refused by mine and the reports (77), not told it holds nothing")
  func strangerRefused() throws {
    try TestDatabase.with { db in
      _ = try Agency.make(in: db)
      let stranger = "stranger_\(db.suffix)"
      try TestDatabase.admin().executeTrustedScript("CREATE ROLE \(stranger) LOGIN")
      for arguments in [["mine"], ["report", "summary"], ["report", "out"]] {
        let outcome = try CLI.run(arguments, on: db, as: stranger)
        #expect(outcome.status == 77, "\(arguments): \(outcome)")
        #expect(outcome.stderr.contains("not a member of staff"), "\(outcome)")
      }
    }
  }
}
