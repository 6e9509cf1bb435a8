import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Case lifecycle, closure deadlines, retention and destruction")
struct LifecycleTests {
  func date(_ db: TestDatabase, _ sql: String) throws -> String? {
    try db.connect().query("SELECT (\(sql))::text").first?.decodeIfPresent(0, as: String.self)
  }

  @Test("worked dates: the youngest child's 22nd birthday, 29 February, police information")
  func workedDates() throws {
    try TestDatabase.with { db in
      let cases: [(String, String)] = [
        ("custody.twenty_second_birthday('2010-03-15')", "2032-03-15"),
        ("custody.twenty_second_birthday(greatest(date '2008-06-01', date '2012-09-30'))", "2034-09-30"),
        ("custody.twenty_second_birthday('2004-02-29')", "2026-03-01"),
        ("custody.police_info_due_on('2025-01-10', NULL, '2025-05-01')", "2025-05-01"),
        ("custody.police_info_due_on('2025-01-10', NULL, NULL)", "2026-07-10"),
        ("custody.police_info_due_on('2025-01-10', '2027-01-01', '2025-05-01')", "2027-01-01"),
      ]
      for (sql, expected) in cases {
        let computed = try date(db, sql)
        #expect(computed == expected, "\(sql)")
      }
    }
  }

  @Test("a closed case's destruction date comes from its youngest child, through the CLI")
  func destructionDateFromChildren() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/L/1")
      #expect(try agency.run("bea", ["case", "add-child", "NTH/L/1", "--born", "2008-06-01"]).status == 0)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/L/1", "--born", "2012-09-30"]).status == 0)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/L/1", "--born", "2099-01-01"]).status == 65)
      #expect(try agency.run("bea", ["case", "end", "NTH/L/1"]).status == 0)
      #expect(try agency.run("bea", ["case", "close", "NTH/L/1"]).status == 0)
      let due = try date(db, "SELECT custody.case_destruction_on(c) FROM custody.case_record c WHERE number = 'NTH/L/1'")
      #expect(due == "2034-09-30")
      // Cases closed before 1 April 2009 are listed for review instead of given a date.
      try db.connect().execute(
        "UPDATE custody.case_record SET ended_on = '2008-01-01', closed_on = '2009-03-31' WHERE number = 'NTH/L/1'")
      let review = try date(db, "SELECT custody.case_destruction_on(c) FROM custody.case_record c WHERE number = 'NTH/L/1'")
      #expect(review == nil)
      let listed = try agency.run("bea", ["report", "destruction", "--format", "json"])
      #expect(listed.stdout.contains("\"review\": true"), "\(listed)")
    }
  }

  @Test("closure: a case ended 30 days before --as-of is overdue and counted; closing with a volume out exits 1")
  func closure() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/L/2", volumes: 2)
      #expect(try agency.run("pat", ["case", "end", "NTH/L/2"]).status == 77)
      let ended = try agency.run("bea", ["case", "end", "NTH/L/2"])
      #expect(ended.status == 0, "\(ended)")
      #expect(try agency.run("bea", ["case", "end", "NTH/L/2"]).status == 1)
      let asOf = ISO8601DateFormatter().string(from: Date().addingTimeInterval(30 * 86_400))
      let report = try agency.run("oma", ["report", "closures", "--as-of", asOf, "--format", "json"])
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]], "\(report)")
      #expect(rows.count == 1)
      #expect(rows.first?["overdue"] as? Bool == true)
      #expect(rows.first?["case"] as? String == "NTH/L/2")
      #expect(Set(rows.first?.keys.map { $0 } ?? []) == [
        "case", "office", "practitioner", "ended_on", "due_on", "overdue", "files_not_at_base",
      ])
      let notYet = try agency.run("oma", ["report", "closures", "--format", "json"])
      #expect(notYet.stdout.contains("\"overdue\": false"), "\(notYet)")
      let summary = try agency.run("dee", ["report", "summary", "--office", "NTH", "--as-of", asOf, "--format", "json"])
      #expect(summary.stdout.contains("\"closures_overdue\": 1"), "\(summary)")

      #expect(try agency.run("pat", ["checkout", labels[1], "--whereabouts", "desk", "--return-by", "+1h"]).status == 0)
      let out = try agency.run("bea", ["case", "close", "NTH/L/2"])
      #expect(out.status == 1, "\(out)")
      #expect(out.stderr.contains("not every volume is at its secure base: \(labels[1]) (checked out)"), "\(out)")
      #expect(try agency.run("pat", ["return", labels[1]]).status == 0)
      let noChild = try agency.run("bea", ["case", "close", "NTH/L/2"])
      #expect(noChild.status == 1, "\(noChild)")
      #expect(noChild.stderr.contains("without a child's date of birth"))
      #expect(try agency.run("bea", ["case", "add-child", "NTH/L/2", "--born", "2015-01-01"]).status == 0)
      #expect(try agency.run("bea", ["case", "close", "NTH/L/2", "--on", "2099-01-01"]).status == 65)
      #expect(try agency.run("bea", ["case", "close", "NTH/L/2"]).status == 0)
      #expect(try agency.run("oma", ["report", "closures", "--format", "json"]).stdout == "[]\n")
    }
  }

  @Test("destruction: refused before its date, under a hold and with the actor as witness; allowed after")
  func destruction() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let young = try agency.openCase("NTH/L/3")[0]
      let old = try agency.openCase("NTH/L/4")[0]
      for (number, born) in [("NTH/L/3", "2010-03-15"), ("NTH/L/4", "2000-01-01")] {
        #expect(try agency.run("bea", ["case", "add-child", number, "--born", born]).status == 0)
      }
      let open = try agency.run("bea", ["destroy", old, "--witness", agency.login("oma"), "--certificate", "C-1"])
      #expect(open.status == 1, "\(open)")
      #expect(open.stderr.contains("is not closed"))
      for number in ["NTH/L/3", "NTH/L/4"] {
        #expect(try agency.run("bea", ["case", "end", number]).status == 0)
        #expect(try agency.run("bea", ["case", "close", number]).status == 0)
      }
      let early = try agency.run("bea", ["destroy", young, "--witness", agency.login("oma"), "--certificate", "C-1"])
      #expect(early.status == 1, "\(early)")
      #expect(early.stderr.contains("is retained until 2032-03-15"))
      let selfWitness = try agency.run("bea", ["destroy", old, "--witness", agency.login("bea"), "--certificate", "C-1"])
      #expect(selfWitness.status == 65, "\(selfWitness)")
      #expect(try agency.run("bea", ["destroy", old, "--witness", "nobody", "--certificate", "C-1"]).status == 66)
      #expect(try agency.run("pat", ["destroy", old, "--witness", agency.login("oma"), "--certificate", "C-1"]).status == 77)
      #expect(try agency.run("oma", ["hold", "place", "NTH/L/4", "--reason", "serious case review"]).status == 0)
      let due = try agency.run("oma", ["report", "destruction", "--format", "json"])
      #expect(due.stdout.contains("\"case\": \"NTH/L/4\""), "\(due)")
      #expect(due.stdout.contains("\"hold\": true"), "\(due)")
      #expect(!due.stdout.contains("NTH/L/3"), "\(due)")
      let held = try agency.run("bea", ["destroy", old, "--witness", agency.login("oma"), "--certificate", "C-1"])
      #expect(held.status == 1, "\(held)")
      #expect(held.stderr.contains("is on hold (serious case review)"))
      #expect(try agency.run("oma", ["hold", "release", "NTH/L/4", "--reason", "review published"]).status == 0)
      let count = try agency.eventCount()
      let destroyed = try agency.run("bea", ["destroy", old, "--witness", agency.login("oma"), "--certificate", "CERT-2026-0042"])
      #expect(destroyed.status == 0, "\(destroyed)")
      #expect(try agency.eventCount() == count + 1)
      #expect(try agency.state(old).status == "destroyed")
      let whereabouts = try agency.run("bea", ["whereabouts", old, "--format", "json"])
      let object = try #require(try JSONSerialization.jsonObject(with: Data(whereabouts.stdout.utf8)) as? [String: Any])
      #expect(object["status"] as? String == "destroyed")
      let last = try #require((object["history"] as? [[String: Any]])?.last)
      #expect(last["event"] as? String == "destroyed")
      #expect(last["actor"] as? String == agency.login("bea"))
      #expect(last["witness"] as? String == agency.login("oma"))
      #expect(last["certificate"] as? String == "CERT-2026-0042")
      // A destroyed file leaves every active report, and is never destroyed twice.
      #expect(try agency.run("oma", ["report", "destruction", "--format", "json"]).stdout == "[]\n")
      #expect(try agency.run("bea", ["destroy", old, "--witness", agency.login("oma"), "--certificate", "C-2"]).status == 1)
      #expect(try agency.run("pat", ["checkout", old, "--whereabouts", "x", "--return-by", "+1h"]).status == 1)
    }
  }

  @Test("a reopened case loses its destruction date and can end and close again")
  func reopen() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/L/5")
      #expect(try agency.run("bea", ["case", "reopen", "NTH/L/5", "--reason", "x"]).status == 1)
      #expect(try agency.run("bea", ["case", "add-child", "NTH/L/5", "--born", "2001-05-05"]).status == 0)
      #expect(try agency.run("bea", ["case", "end", "NTH/L/5"]).status == 0)
      #expect(try agency.run("bea", ["case", "close", "NTH/L/5"]).status == 0)
      let query = "SELECT custody.case_destruction_on(c) FROM custody.case_record c WHERE number = 'NTH/L/5'"
      let closedDate = try date(db, query)
      #expect(closedDate == "2023-05-05")
      #expect(try agency.run("bea", ["case", "reopen", "NTH/L/5", "--reason", "new application"]).status == 0)
      let reopenedDate = try date(db, query)
      #expect(reopenedDate == nil)
      #expect(try agency.run("oma", ["report", "destruction", "--format", "json"]).stdout == "[]\n")
      #expect(try agency.run("bea", ["case", "end", "NTH/L/5"]).status == 0)
      #expect(try agency.run("bea", ["case", "close", "NTH/L/5"]).status == 0)
      let againDate = try date(db, query)
      #expect(againDate == "2023-05-05")
    }
  }

  @Test("police information: due at the end of proceedings or after 18 months; a permission moves it; holds block it")
  func policeInformation() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/L/6")
      // Opened before the police information came; a date before the opening is refused.
      try db.connect().query("UPDATE custody.case_record SET opened_at = '2022-06-01' WHERE number = 'NTH/L/6'")
      let beforeOpening = try agency.run("bea", ["police-info", "add", "NTH/L/6", "--received", "2022-05-31"])
      #expect(beforeOpening.status == 65, "\(beforeOpening)")
      #expect(beforeOpening.stderr.contains("cannot be before case NTH/L/6 was opened (2022-06-01)"), "\(beforeOpening)")
      let added = try agency.run("bea", ["police-info", "add", "NTH/L/6", "--received", "2023-01-10"])
      #expect(added.status == 0, "\(added)")
      let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(Int(id) != nil, "\(added)")
      // The case is still open: the police clock does not wait for closure. Due 2024-07-10.
      #expect(try agency.run("bea", ["police-info", "destroy", id, "--witness", agency.login("bea")]).status == 65)
      #expect(try agency.run("oma", ["hold", "place", "NTH/L/6", "--reason", "litigation"]).status == 0)
      let held = try agency.run("bea", ["police-info", "destroy", id, "--witness", agency.login("oma")])
      #expect(held.status == 1, "\(held)")
      #expect(try agency.run("oma", ["hold", "release", "NTH/L/6", "--reason", "settled"]).status == 0)
      let permitted = try agency.run("bea", ["police-info", "permit", id, "--until", "2099-01-01", "--reference", "WYP/123"])
      #expect(permitted.status == 0, "\(permitted)")
      let early = try agency.run("bea", ["police-info", "destroy", id, "--witness", agency.login("oma")])
      #expect(early.status == 1, "\(early)")
      #expect(early.stderr.contains("not due for destruction until 2099-01-01"))
      #expect(try agency.run("bea", ["police-info", "permit", id, "--until", "2024-01-01", "--reference", "WYP/124"]).status == 0)
      let done = try agency.run("bea", ["police-info", "destroy", id, "--witness", agency.login("oma")])
      #expect(done.status == 0, "\(done)")
      #expect(try agency.run("bea", ["police-info", "destroy", id, "--witness", agency.login("oma")]).status == 1)
      #expect(try agency.run("bea", ["police-info", "destroy", "999999", "--witness", agency.login("oma")]).status == 66)
      #expect(try agency.run("bea", ["police-info", "destroy", "x", "--witness", agency.login("oma")]).status == 65)
    }
  }
}
