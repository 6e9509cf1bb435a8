import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Custody journeys through the binary, as different logins")
struct CustodyJourneyTests {
  @Test("register, check out, extend, return, transfer by secure carrier, see it coming, receive")
  func fourLogins() throws {
    try TestDatabase.with { db in
      // The database owner sets up the agency through the CLI, too.
      let agency = Agency(database: db)
      for office in [["NTH", "North"], ["STH", "South"]] {
        let added = try agency.run(nil, ["office", "add", office[0], "--name", office[1]])
        #expect(added.status == 0, "\(added)")
      }
      for (name, role, office) in [("pat", "practitioner", "NTH"), ("bea", "business-support", "NTH"),
                                   ("sam", "business-support", "STH")] {
        let added = try agency.run(nil, ["staff", "add", agency.login(name), "--name", name, "--role", role, "--office", office])
        #expect(added.status == 0, "\(added)")
        #expect(added.stdout == "\(agency.login(name)) added as \(role) at \(office).\n")
      }
      let opened = try agency.run("bea", ["case", "open", "NTH/2026/0001", "--office", "NTH", "--law", "private",
                                          "--child-born", "2015-04-01", "--practitioner", agency.login("pat")])
      #expect(opened.status == 0, "\(opened)")
      let registered = try agency.run("bea", ["file", "register", "NTH/2026/0001", "--format", "json"])
      #expect(registered.status == 0, "\(registered)")
      #expect(registered.stdout.contains("\"label\": \"NTH-000001\""), "\(registered)")
      let label = "NTH-000001"

      let out = try agency.run("pat", ["checkout", label, "--whereabouts", "Leeds family court", "--return-by", "+4h"])
      #expect(out.status == 0, "\(out)")
      #expect(out.stdout.contains("\(label) checked out by \(agency.login("pat")), due back"))
      let extended = try agency.run("pat", ["extend", label, "--return-by", "+2d", "--reason", "adjourned"])
      #expect(extended.status == 0, "\(extended)")
      #expect(try agency.run("pat", ["return", label]).status == 0)

      let sent = try agency.run("bea", [
        "transfer", label, "--to", "STH", "--method", "secure-carrier", "--carrier", "Citysprint",
        "--reference", "CS-1", "--seal", "S-100", "--expected-by", "+1d",
      ])
      #expect(sent.status == 0, "\(sent)")
      let coming = try agency.run("sam", ["whereabouts", label, "--format", "json"])
      #expect(coming.status == 0, "\(coming)")
      #expect(coming.stdout.contains("\"status\": \"in_transit\""))
      #expect(coming.stdout.contains("\"to\": \"STH\""))
      let received = try agency.run("sam", ["receive", label, "--seal", "S-100"])
      #expect(received.status == 0, "\(received)")
      #expect(received.stderr.isEmpty, "\(received)")

      let now = try agency.run("sam", ["whereabouts", label, "--format", "json"])
      #expect(now.status == 0, "\(now)")
      let json = try #require(try JSONSerialization.jsonObject(with: Data(now.stdout.utf8)) as? [String: Any])
      #expect(json["secure_base"] as? String == "STH")
      #expect(json["status"] as? String == "at_base")
      #expect(json["holder"] is NSNull)
      let history = try #require(json["history"] as? [[String: Any]])
      #expect(history.map { $0["event"] as? String } == [
        "registered", "checked_out", "extended", "returned", "dispatched", "received",
      ])
      #expect(history.map { $0["actor"] as? String } == [
        "bea", "pat", "pat", "pat", "bea", "sam",
      ].map(agency.login))
      #expect(history[1]["whereabouts"] as? String == "Leeds family court")
      #expect(history[2]["reason"] as? String == "adjourned")
      #expect(history[4]["carrier"] as? String == "Citysprint")
      #expect(history[5]["seal_discrepancy"] as? Bool == false)
    }
  }

  @Test("a transfer by hand to a home-based worker, received by that worker; a cancelled transfer")
  func homeBaseAndCancel() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/2026/0002", volumes: 2)
      let home = "home:" + agency.login("hana")
      let sent = try agency.run("bea", [
        "transfer", labels[0], "--to", home, "--method", "hand", "--courier", agency.login("bea"), "--expected-by", "+1d",
      ])
      #expect(sent.status == 0, "\(sent)")
      let mine = try agency.run("hana", ["mine", "--format", "csv"])
      #expect(mine.stdout.contains("\(labels[0]),NTH/2026/0002,in_transit,,\(home),"), "\(mine)")
      let carrying = try agency.run("bea", ["mine", "--format", "json"])
      #expect(carrying.stdout.contains(labels[0]), "\(carrying)")
      // South's business support cannot see a North file on its way to a worker's home.
      let wrongPerson = try agency.run("sam", ["receive", labels[0]])
      #expect(wrongPerson.status == 66, "\(wrongPerson)")
      let notTheirs = try agency.run("bea", ["receive", labels[0]])
      #expect(notTheirs.status == 77, "\(notTheirs)")
      let received = try agency.run("hana", ["receive", labels[0], "--note", "in my locked cabinet"])
      #expect(received.status == 0, "\(received)")
      #expect(try agency.state(labels[0]).base == home)

      #expect(try agency.run("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let cancelled = try agency.run("bea", ["cancel-transfer", labels[1], "--reason", "sent by mistake"])
      #expect(cancelled.status == 0, "\(cancelled)")
      #expect(try agency.state(labels[1]).status == "at_base")
      #expect(try agency.state(labels[1]).base == "NTH")
      #expect(try agency.eventKinds(labels[1]) == ["registered", "dispatched", "transfer_cancelled"])
    }
  }

  @Test("a seal that differs from the dispatched one is recorded and warned about")
  func sealDiscrepancy() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0003")[0]
      _ = try agency.run("bea", [
        "transfer", label, "--to", "STH", "--method", "secure-carrier", "--carrier", "Royal Mail",
        "--seal", "A-1", "--expected-by", "+1d",
      ])
      let received = try agency.run("sam", ["receive", label, "--seal", "B-2"])
      #expect(received.status == 0, "\(received)")
      #expect(received.stderr.contains("custody: warning: seal 'B-2' differs from the seal recorded at dispatch ('A-1')"))
      let flagged = try db.connect().query(
        "SELECT seal_discrepancy, received_seal FROM custody.transfer t JOIN custody.file f ON f.id = t.file_id WHERE f.label = $1",
        [label]
      ).first
      #expect(try flagged?.decode(0, as: Bool.self) == true)
      #expect(try flagged?.decode(1, as: String.self) == "B-2")
    }
  }

  @Test("missing and found; whereabouts keeps verbatim text")
  func missingAndFound() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0004")[0]
      let text = "Zoë's \"blue\" bag\t— 子ども; x'); DROP TABLE custody.event; --"
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", text, "--return-by", "+1h"]).status == 0)
      let missing = try agency.run("bea", ["missing", label, "--reason", "left on the train"])
      #expect(missing.status == 0, "\(missing)")
      #expect(try agency.state(label).status == "missing")
      let notYet = try agency.run("pat", ["found", label, "--at", "NTH"])
      #expect(notYet.status == 77, "\(notYet)")
      // South cannot see a file of North's; North may not move it to South's base itself;
      // a director records where it turned up.
      #expect(try agency.run("sam", ["found", label, "--at", "STH"]).status == 66)
      let elsewhere = try agency.run("bea", ["found", label, "--at", "STH"])
      #expect(elsewhere.status == 77, "\(elsewhere)")
      #expect(elsewhere.stderr.contains("is recorded by a director"), "\(elsewhere)")
      let found = try agency.run("dee", ["found", label, "--at", "STH"])
      #expect(found.status == 0, "\(found)")
      #expect(found.stdout == "\(label) found at STH.\n", "\(found)")
      #expect(try agency.state(label).base == "STH")
      let json = try agency.run("sam", ["whereabouts", label, "--format", "json"])
      let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let history = try #require(object["history"] as? [[String: Any]])
      #expect(history[1]["whereabouts"] as? String == text)
      #expect(history.map { $0["event"] as? String } == ["registered", "checked_out", "missing", "found"])
    }
  }

  @Test("a holder returns a file they may see only while holding it, and then no longer see it")
  func returnAfterLosingSight() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/2026/0300")[0]
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "desk", "--return-by", "+2h"]).status == 0)
      // The case becomes confidential: pat, neither allocated nor office staff, sees it as its holder only.
      let classified = try agency.run(
        "dee", ["case", "classify", "NTH/2026/0300", "--classification", "confidential", "--reason", "police"])
      #expect(classified.status == 0, "\(classified)")
      #expect(try agency.run("pat", ["whereabouts", label]).status == 0)

      let returned = try agency.run("pat", ["return", label])
      #expect(returned.status == 0, "\(returned)")
      #expect(try agency.state(label).status == "at_base")
      #expect(try agency.state(label).holder == nil)
      #expect(try agency.eventKinds(label) == ["registered", "checked_out", "returned"])
      #expect(try agency.run("pat", ["whereabouts", label]).status == 66)
      #expect(try agency.run("pat", ["return", label]).status == 66)
    }
  }

  @Test("several returns in one transaction through the custody API all take effect")
  func returnsInOneTransaction() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/2026/0310", volumes: 3)
      for label in labels {
        #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "desk", "--return-by", "+2h"]).status == 0)
      }
      let pat = try db.connect(user: agency.login("pat"))
      try pat.execute("BEGIN")
      for label in labels {
        try pat.execute("SELECT custody.return_file(gen_random_uuid(), $1)", [label])
      }
      try pat.execute("COMMIT")
      for label in labels {
        #expect(try agency.state(label).status == "at_base")
        #expect(try agency.eventKinds(label) == ["registered", "checked_out", "returned"])
      }
    }
  }
}
