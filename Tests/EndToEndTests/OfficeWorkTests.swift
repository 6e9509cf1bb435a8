import Custody
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Office work rounded out: leavers, moves, incidents and the dispatching office's sight")
struct OfficeWorkTests {
  @Test("a leaver holding a file is refused (1, the file listed) until --force; then they cannot connect and report out names them")
  func deactivateLeaver() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LEAVE/1")[0]
      let pat = agency.login("pat")
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "Leeds court", "--return-by", "+2h"]).status == 0)
      let before = try agency.eventCount()

      let holding = try agency.run("oma", ["staff", "deactivate", pat, "--reason", "left the agency"])
      #expect(holding.status == 1, "\(holding)")
      #expect(holding.stderr.contains(label) && holding.stderr.contains("Leeds court"), "\(holding)")
      #expect(holding.stderr.contains("--force"), "\(holding)")
      // Another office's manager may not, nor a practitioner; nobody may deactivate themselves.
      let other = try agency.run("sam", ["staff", "deactivate", pat, "--reason", "left", "--force"])
      #expect(other.status == 77, "\(other)")
      let peer = try agency.run("pip", ["staff", "deactivate", pat, "--reason", "left", "--force"])
      #expect(peer.status == 77, "\(peer)")
      let own = try agency.run("dee", ["staff", "deactivate", agency.login("dee"), "--reason", "left"])
      #expect(own.status == 1, "\(own)")
      #expect(own.stderr.contains("your own login"), "\(own)")
      let nobody = try agency.run("oma", ["staff", "deactivate", "nobody", "--reason", "left"])
      #expect(nobody.status == 66, "\(nobody)")
      let manager = try agency.run("oma", ["staff", "deactivate", agency.login("dee"), "--reason", "left"])
      #expect(manager.status == 77, "an office manager deactivating a director: \(manager)")
      #expect(try agency.eventCount() == before)
      #expect(try agency.run("pat", ["whoami"]).status == 0)

      let forced = try agency.run("oma", ["staff", "deactivate", pat, "--reason", "left the agency", "--force", "--format", "json"])
      #expect(forced.status == 0, "\(forced)")
      let event = try forced.jsonObject()
      #expect(event["event"] as? String == "staff_deactivated")
      #expect((event["reason"] as? String)?.contains(label) == true, "\(event)")

      let refused = try agency.run("pat", ["mine"])
      #expect(refused.status == 77, "\(refused)")
      #expect(refused.stderr.contains("not permitted to log in"), "\(refused)")
      #expect(refused.stderr.contains("hint: a member of staff who has left"), "\(refused)")
      // The removal stays open under their name, and says they left.
      let out = try agency.run("oma", ["report", "out", "--format", "json"]).jsonRows()
      #expect(out.count == 1)
      #expect(out.first?["holder"] as? String == pat)
      #expect(out.first?["holder_deactivated"] as? Bool == true)
      let table = try agency.run("oma", ["report", "out"])
      #expect(table.stdout.contains("Pat (\(pat), left)"), "\(table)")
      let staff = try agency.run("oma", ["staff", "list", "--office", "NTH", "--format", "json"]).jsonRows()
      #expect(staff.first { $0["login"] as? String == pat }?["deactivated_at"] is String, "\(staff)")
      #expect(staff.first { $0["login"] as? String == agency.login("pip") }?["deactivated_at"] is NSNull, "\(staff)")

      // Once gone, a second deactivation, an allocation to them and a witness of theirs are refused.
      let again = try agency.run("oma", ["staff", "deactivate", pat, "--reason", "left"])
      #expect(again.status == 1, "\(again)")
      #expect(again.stderr.contains("deactivated"), "\(again)")
      let allocate = try agency.run("bea", ["case", "allocate", "NTH/LEAVE/1", "--practitioner", pat])
      #expect(allocate.status == 1, "\(allocate)")
      // Business support brings the file back in on their behalf.
      #expect(try agency.run("bea", ["return", label]).status == 0)
      #expect(try agency.state(label).status == "at_base")
      // Even with its LOGIN restored by a DBA, the login is no member of staff's group and cannot act.
      _ = try db.connect(user: TestDatabase.superuser).execute("ALTER ROLE \(pat) LOGIN")
      let restored = try agency.run("pat", ["checkout", label, "--whereabouts", "court", "--return-by", "+2h"])
      #expect(restored.status == 77, "\(restored)")
      #expect(try agency.state(label).status == "at_base")
    }
  }

  @Test("staff change is for directors: a role's group follows, a home base opens and closes, a full home base stays")
  func changeStaff() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let pip = agency.login("pip")
      let hana = agency.login("hana")
      let byManager = try agency.run("oma", ["staff", "change", pip, "--role", "business-support"])
      #expect(byManager.status == 77, "\(byManager)")
      let nothing = try agency.run("dee", ["staff", "change", pip])
      #expect(nothing.status == 64, "\(nothing)")
      let both = try agency.run("dee", ["staff", "change", pip, "--home-based", "--office-based"])
      #expect(both.status == 64, "\(both)")
      let same = try agency.run("dee", ["staff", "change", pip, "--role", "practitioner"])
      #expect(same.status == 1, "\(same)")
      let badOffice = try agency.run("dee", ["staff", "change", pip, "--office", "NOPE"])
      #expect(badOffice.status == 66, "\(badOffice)")

      // A practitioner made business support may then transfer files of their office.
      let label = try agency.openCase("NTH/MOVE/1")[0]
      #expect(try agency.run("pip", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 77)
      let promoted = try agency.run("dee", ["staff", "change", pip, "--role", "business-support"])
      #expect(promoted.status == 0, "\(promoted)")
      #expect(promoted.stdout.contains("practitioner -> business-support"), "\(promoted)")
      let member = try db.connect().query(
        "SELECT pg_has_role($1, 'custody_business_support', 'MEMBER'), pg_has_role($1, 'custody_practitioner', 'MEMBER')",
        [pip]
      ).first
      #expect(try member?.decode(0, as: Bool.self) == true)
      #expect(try member?.decode(1, as: Bool.self) == false)
      #expect(try agency.run("pip", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", label]).status == 0)

      // Hana's home base keeps a file: she cannot become office-based or move office until it leaves.
      let south = try agency.openCase("STH/MOVE/2", office: "STH")[0]
      #expect(try agency.run("sam", ["transfer", south, "--to", "home:" + hana, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let coming = try agency.run("dee", ["staff", "change", hana, "--office-based"])
      #expect(coming.status == 1, "\(coming)")
      #expect(coming.stderr.contains(south), "\(coming)")
      #expect(try agency.run("hana", ["receive", south]).status == 0)
      let moving = try agency.run("dee", ["staff", "change", hana, "--office", "NTH"])
      #expect(moving.status == 1, "\(moving)")
      #expect(try agency.run("sam", ["transfer", south, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", south]).status == 0)
      let closed = try agency.run("dee", ["staff", "change", hana, "--office-based"])
      #expect(closed.status == 0, "\(closed)")
      let toClosed = try agency.run("sam", ["transfer", south, "--to", "home:" + hana, "--method", "hand", "--expected-by", "+1d"])
      #expect(toClosed.status == 1, "\(toClosed)")
      #expect(toClosed.stderr.contains("closed"), "\(toClosed)")
      // Home-based again, at another office: the home base opens there.
      let reopened = try agency.run("dee", ["staff", "change", hana, "--home-based", "--office", "NTH"])
      #expect(reopened.status == 0, "\(reopened)")
      let base = try db.connect().query(
        "SELECT office, closed_at IS NULL FROM custody.secure_base WHERE id = $1", ["home:" + hana]
      ).first
      #expect(try base?.decode(0, as: String.self) == "NTH")
      #expect(try base?.decode(1, as: Bool.self) == true)
      let staff = try agency.run("dee", ["staff", "list", "--office", "NTH", "--format", "json"]).jsonRows()
      #expect(staff.first { $0["login"] as? String == hana }?["home_based"] as? Bool == true, "\(staff)")
    }
  }

  @Test("report incidents lists missing files, seal discrepancies, late receipts and late returns, newest first, for the office")
  func incidents() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/INC/1", volumes: 3)
      let superuser = try db.connect(user: TestDatabase.superuser)
      // A late return: checked out, its return time moved into the past, returned.
      #expect(try agency.run("pat", ["checkout", labels[0], "--whereabouts", "court", "--return-by", "+1h"]).status == 0)
      _ = try superuser.execute(
        "UPDATE custody.removal SET expected_return = now() - interval '2 hours' WHERE ended_at IS NULL")
      #expect(try agency.run("pat", ["return", labels[0]]).status == 0)
      // A receipt both late and under another seal.
      #expect(try agency.run("bea", ["transfer", labels[1], "--to", "STH", "--method", "hand", "--expected-by", "+1h", "--seal", "A1"]).status == 0)
      _ = try superuser.execute(
        "UPDATE custody.transfer SET expected_by = now() - interval '1 hour' WHERE ended_at IS NULL")
      #expect(try agency.run("sam", ["receive", labels[1], "--seal", "B2"]).status == 0)
      #expect(try agency.run("oma", ["missing", labels[2], "--reason", "not in the cabinet"]).status == 0)
      // On time, same seal: no incident.
      let south = try agency.openCase("STH/INC/2", office: "STH")[0]
      #expect(try agency.run("sam", ["transfer", south, "--to", "NTH", "--method", "hand", "--expected-by", "+1d", "--seal", "C3"]).status == 0)
      #expect(try agency.run("bea", ["receive", south, "--seal", "C3"]).status == 0)

      let rows = try agency.run("oma", ["report", "incidents", "--format", "json"]).jsonRows()
      let kinds = rows.map { "\($0["kind"] as? String ?? "?") \($0["label"] as? String ?? "?")" }
      #expect(Set(kinds) == ["late_return \(labels[0])", "late_receipt \(labels[1])", "seal_discrepancy \(labels[1])",
                             "missing \(labels[2])"], "\(rows)")
      #expect(kinds.first == "missing \(labels[2])", "newest first: \(kinds)")
      let seal = try #require(rows.first { $0["kind"] as? String == "seal_discrepancy" })
      #expect(seal["office"] as? String == "STH")
      #expect(seal["actor"] as? String == agency.login("sam"))
      #expect((seal["details"] as? String)?.contains("A1") == true && (seal["details"] as? String)?.contains("B2") == true)
      let late = try #require(rows.first { $0["kind"] as? String == "late_return" })
      #expect(late["case"] as? String == "NTH/INC/1")
      #expect(late["at"] is String)
      #expect((late["details"] as? String)?.contains("court") == true)
      let missing = try #require(rows.first { $0["kind"] as? String == "missing" })
      #expect(missing["details"] as? String == "missing from NTH: not in the cabinet", "\(missing)")

      // The receiving office sees the receipts; neither office sees the other's own incidents.
      let southRows = try agency.run("sam", ["report", "incidents", "--format", "csv"])
      #expect(try CSV.parse(southRows.stdout).dropFirst().map { $0[0] }.sorted() == ["late_receipt", "seal_discrepancy"],
              "\(southRows)")
      let byOffice = try agency.run("dee", ["report", "incidents", "--office", "STH", "--format", "json"]).jsonRows()
      #expect(byOffice.count == 2, "\(byOffice)")
      // --since and --as-of bound the period.
      let future = try agency.run("oma", ["report", "incidents", "--since", "+1h"])
      #expect(future.status == 0 && future.stdout.isEmpty, "\(future)")
      #expect(future.stderr.contains("no incident"), "\(future)")
      let past = try agency.run("oma", ["report", "incidents", "--as-of", "2020-01-01", "--format", "json"]).jsonRows()
      #expect(past.isEmpty)
      let bad = try agency.run("oma", ["report", "incidents", "--since", "last week"])
      #expect(bad.status == 65, "\(bad)")
      let table = try agency.run("oma", ["report", "incidents"])
      #expect(table.stdout.hasPrefix("KIND"), "\(table)")
      #expect(table.stdout.contains("seal discrepancy"), "\(table)")
    }
  }

  @Test("the office that dispatched a file sees its receipt elsewhere, until the file is dispatched again")
  func dispatcherSeesReceipt() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try CustodyAPI(try db.connect()).addOffice(request: UUID(), code: "WST", name: "West Office", email: nil)
      let wes = agency.login("wes")
      _ = try CustodyAPI(try db.connect()).addStaff(
        request: UUID(), login: wes, name: "Wes", role: "business-support", office: "WST", employment: "employed",
        homeBased: false, email: nil)
      func runWes(_ arguments: [String]) throws -> CLI.Outcome {
        try CLI.run(arguments, environment: ["CUSTODY_DATABASE_URL": db.conninfo(user: wes), "CUSTODY_TZ": "UTC"])
      }
      // North's file goes to South, and South sends it on to West.
      let label = try agency.openCase("NTH/SEEN/1")[0]
      #expect(try agency.run("bea", ["transfer", label, "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", label]).status == 0)
      #expect(try agency.run("sam", ["transfer", label, "--to", "WST", "--method", "hand", "--expected-by", "+1d", "--seal", "S-9"]).status == 0)
      #expect(try runWes(["receive", label, "--seal", "S-8"]).status == 0)

      let seen = try agency.run("sam", ["whereabouts", label, "--format", "json"])
      #expect(seen.status == 0, "\(seen)")
      let file = try seen.jsonObject()
      #expect(file["secure_base"] as? String == "WST")
      let receipt = try #require((file["history"] as? [[String: Any]])?.last)
      #expect(receipt["event"] as? String == "received")
      #expect(receipt["actor"] as? String == wes)
      #expect(receipt["seal_discrepancy"] as? Bool == true, "\(receipt)")
      // North sees every volume of its case wherever it is.
      #expect(try agency.run("oma", ["whereabouts", label]).status == 0)

      // West sends it back to North: South no longer sees it.
      #expect(try runWes(["transfer", label, "--to", "NTH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let gone = try agency.run("sam", ["whereabouts", label])
      #expect(gone.status == 66, "\(gone)")
    }
  }

  @Test("text with bidirectional controls or line separators is refused (65) and nothing is recorded")
  func invisibleCharacters() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/TEXT/1")[0]
      let before = try agency.eventCount()
      for text in ["court \u{202E}txt.exe", "court\u{2028}room 2", "court\u{2029}", "\u{2066}court\u{2069}", "court\u{200F}"] {
        let outcome = try agency.run("pat", ["checkout", label, "--whereabouts", text, "--return-by", "+2h"])
        #expect(outcome.status == 65, "\(text.unicodeScalars.map { String($0.value, radix: 16) }): \(outcome)")
        #expect(outcome.stderr.contains("bidirectional or line-separator"), "\(outcome)")
        #expect(!outcome.stderr.contains("\u{202E}") && !outcome.stderr.contains("\u{2028}"), "\(outcome)")
      }
      let reason = try agency.run("oma", ["missing", label, "--reason", "gone\u{202A}"])
      #expect(reason.status == 65, "\(reason)")
      #expect(try agency.eventCount() == before)
      // Other non-Latin text is welcome.
      #expect(try agency.run("pat", ["checkout", label, "--whereabouts", "محكمة الأسرة – 法院 ✓", "--return-by", "+2h"]).status == 0)
    }
  }

  @Test("report tables line up after wide characters and emoji, measured in terminal columns")
  func wideTables() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/WIDE/1", volumes: 3)
      for (label, whereabouts) in zip(labels, ["東京家庭裁判所", "court 📁 room 2", "Leeds court"]) {
        #expect(try agency.run("pat", ["checkout", label, "--whereabouts", whereabouts, "--return-by", "+2h"]).status == 0)
      }
      let table = try agency.run("oma", ["report", "out"])
      #expect(table.status == 0, "\(table)")
      // The column after the whereabouts ("due back") starts at one terminal column on every line.
      let starts = table.stdout.split(separator: "\n").map { line -> Int in
        let text = String(line)
        guard let due = text.range(of: "DUE BACK")?.lowerBound ?? text.firstMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d/)?.range.lowerBound
        else { return -1 }
        return String(text[..<due]).displayWidth
      }
      #expect(starts.count == 4, "\(table)")
      #expect(Set(starts).count == 1, "\(table.stdout)")
    }
  }
}
