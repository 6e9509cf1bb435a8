import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// A known state far in the future, so every deadline is fixed and the reports are evaluated
/// with --as-of 2099-01-12T20:00Z. Files move through the CLI with return and arrival times
/// within the API's 366 days; the installer then sets each open removal's and transfer's
/// deadline to its instant in 2099 (the reports read those rows, not the events).
struct ReportFixture {
  static let asOf = "2099-01-12T20:00Z"
  let agency: Agency
  let north: [String]
  let south: [String]
  static let longWhereabouts =
    "Leeds combined court, family hearing centre, court 3, \"the annexe\", then the Bradford office for a long case conference"

  init(_ db: TestDatabase) throws {
    agency = try Agency.make(in: db)
    north = try agency.openCase("NTH/REP/1", volumes: 6)
    south = try agency.openCase("STH/REP/1", office: "STH", volumes: 3)
    var deadlines: [(String, String)] = []
    func run(_ name: String, _ arguments: [String], due: String) throws {
      let outcome = try agency.run(name, arguments)
      guard outcome.status == 0 else { throw TestSetupError("\(arguments): \(outcome)") }
      deadlines.append((arguments[1], due))
    }
    try run("pat", ["checkout", north[0], "--whereabouts", Self.longWhereabouts, "--return-by", "+1d"], due: "2099-01-10T17:00Z")
    try run("pat", ["checkout", north[1], "--whereabouts", "Home visit, 14 Mill Lane", "--return-by", "+1d"], due: "2099-01-12T09:00Z")
    try run("pip", ["checkout", north[2], "--whereabouts", "court", "--return-by", "+1d"], due: "2099-01-10T12:00Z")
    try run("pip", ["extend", north[2], "--return-by", "+2d"], due: "2099-01-20T17:00Z")
    try run("bea", ["transfer", north[3], "--to", "STH", "--method", "secure-carrier", "--carrier", "Citysprint",
                    "--reference", "CS-1", "--expected-by", "+1d"], due: "2099-01-11T12:00Z")
    try run("bea", ["missing", north[5], "--reason", "stocktake"], due: "")
    try run("sam", ["transfer", south[0], "--to", "NTH", "--method", "hand", "--expected-by", "+1d"], due: "2099-01-13T10:00Z")
    try run("sam", ["transfer", south[1], "--to", "NTH", "--method", "hand", "--expected-by", "+1d"], due: "2099-01-12T15:00Z")
    let installer = try db.connect()
    for (label, due) in deadlines where !due.isEmpty {
      try installer.query(
        """
        WITH f AS (SELECT open_removal, open_transfer FROM custody.file WHERE label = $1), r AS (
          UPDATE custody.removal SET expected_return = $2::timestamptz WHERE id = (SELECT open_removal FROM f))
        UPDATE custody.transfer SET expected_by = $2::timestamptz WHERE id = (SELECT open_transfer FROM f)
        """, [label, due])
    }
  }

  func report(_ name: String, _ arguments: [String], as person: String = "oma", zone: String = "UTC") throws -> CLI.Outcome {
    try agency.run(person, ["report"] + arguments + ["--as-of", Self.asOf], zone: zone)
  }
}

/// A JSON report's rows.
private func jsonRows(_ outcome: CLI.Outcome) throws -> [[String: Any]] {
  try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]], "\(outcome)")
}

@Suite("The office manager's reports at fixed instants")
struct ReportTests {
  @Test("overdue: minutes past the return time, most overdue first; an extension clears it")
  func overdue() throws {
    try TestDatabase.with { db in
      let fixture = try ReportFixture(db)
      let outcome = try fixture.report("oma", ["overdue", "--office", "NTH", "--format", "json"], zone: "America/New_York")
      #expect(outcome.status == 0, "\(outcome)")
      let rows = try jsonRows(outcome)
      #expect(rows.map { $0["label"] as? String } == [fixture.north[0], fixture.north[1]])
      #expect(rows.map { $0["overdue_minutes"] as? Int } == [3060, 660])
      #expect(Set(rows[0].keys) == [
        "label", "case", "office", "holder", "holder_name", "whereabouts", "checked_out_at", "expected_return",
        "overdue_minutes", "holder_deactivated",
      ])
      #expect(rows[0]["holder_name"] as? String == "Pat")
      #expect(rows[0]["expected_return"] as? String == "2099-01-10T12:00:00-05:00")
      #expect(rows[0]["holder"] as? String == fixture.agency.login("pat"))
      #expect(rows[0]["case"] as? String == "NTH/REP/1")
      #expect(rows[0]["whereabouts"] as? String == ReportFixture.longWhereabouts)

      let table = try fixture.report("oma", ["overdue", "--office", "NTH"])
      #expect(table.status == 0, "\(table)")
      let lines = table.stdout.split(separator: "\n")
      #expect(lines.count == 3)
      #expect(lines.allSatisfy { $0.count <= 100 }, "\(table.stdout)")
      #expect(lines[1].hasSuffix("2099-01-10 17:00  2d 3h"), "\(table.stdout)")
      #expect(lines[1].contains("…"))
      #expect(lines[2].hasSuffix("2099-01-12 09:00  11h"), "\(table.stdout)")
    }
  }

  @Test("out: every checked-out file with its overdue flag")
  func out() throws {
    try TestDatabase.with { db in
      let fixture = try ReportFixture(db)
      let rows = try jsonRows(try fixture.report("oma", ["out", "--office", "NTH", "--format", "json"]))
      #expect(rows.map { $0["label"] as? String } == [fixture.north[0], fixture.north[1], fixture.north[2]])
      #expect(rows.map { $0["overdue"] as? Bool } == [true, true, false])
      #expect(rows[2]["expected_return"] as? String == "2099-01-20T17:00:00+00:00")
    }
  }

  @Test("transit and arrivals: late means the expected arrival has passed; arrivals soonest first")
  func transit() throws {
    try TestDatabase.with { db in
      let fixture = try ReportFixture(db)
      let transit = try jsonRows(try fixture.report("oma", ["transit", "--office", "NTH", "--format", "json"]))
      #expect(transit.map { $0["label"] as? String } == [fixture.north[3], fixture.south[1], fixture.south[0]])
      #expect(transit.map { $0["late"] as? Bool } == [true, true, false])
      #expect(Set(transit[0].keys) == [
        "label", "case", "from", "to", "method", "carrier", "reference", "seal", "dispatched_at", "expected_by", "late",
      ])
      #expect(transit[0]["carrier"] as? String == "Citysprint")
      #expect(transit[1]["carrier"] is NSNull)
      #expect(transit[0]["from"] as? String == "NTH")
      #expect(transit[0]["to"] as? String == "STH")

      let arrivals = try jsonRows(try fixture.report("oma", ["arrivals", "--office", "NTH", "--format", "json"]))
      #expect(arrivals.map { $0["label"] as? String } == [fixture.south[1], fixture.south[0]])
      let southArrivals = try jsonRows(try fixture.report("sam", ["arrivals", "--office", "STH", "--format", "json"], as: "sam"))
      #expect(southArrivals.map { $0["label"] as? String } == [fixture.north[3]])
    }
  }

  @Test("summary: counts per office, each file under its secure base's office, as each login sees them")
  func summary() throws {
    try TestDatabase.with { db in
      let fixture = try ReportFixture(db)
      let all = try jsonRows(try fixture.report("dee", ["summary", "--format", "json"], as: "dee"))
      let expected: [[String: Int]] = [
        ["at_base": 1, "checked_out": 3, "overdue": 2, "in_transit": 1, "late_transit": 1, "missing": 1],
        ["at_base": 1, "checked_out": 0, "overdue": 0, "in_transit": 2, "late_transit": 1, "missing": 0],
      ]
      #expect(all.map { $0["office"] as? String } == ["NTH", "STH"])
      for (row, counts) in zip(all, expected) {
        for (field, value) in counts { #expect(row[field] as? Int == value, "\(row["office"] ?? "") \(field)") }
      }
      // North's office manager answers for North alone: South is not listed, not even with zeros.
      let north = try jsonRows(try fixture.report("oma", ["summary", "--format", "json"]))
      #expect(north.map { $0["office"] as? String } == ["NTH"])
      #expect(try jsonRows(try fixture.report("oma", ["summary", "--office", "STH", "--format", "json"])).isEmpty)
      // The director's summary reads the tally the triggers keep (checked-out files counted with those
      // at their base); it matches the files themselves.
      let drift = try db.connect().query(
        """
        SELECT count(*)
          FROM (SELECT office, CASE status WHEN 'checked_out' THEN 'at_base' ELSE status END AS status,
                       count(*) AS files
                  FROM custody.file GROUP BY 1, 2) counted
          FULL JOIN (SELECT office, status, files FROM custody.office_tally WHERE files <> 0) tallied
         USING (office, status) WHERE counted.files IS DISTINCT FROM tallied.files
        """
      ).first?.decode(0, as: Int.self)
      #expect(drift == 0)
      #expect(try db.connect(user: fixture.agency.login("oma")).query("SELECT count(*) FROM custody.office_tally")
        .first?.decode(0, as: Int.self) == 0)
      let one = try jsonRows(try fixture.report("oma", ["summary", "--office", "NTH", "--format", "json"]))
      #expect(one.count == 1)
      #expect(one[0]["overdue"] as? Int == 2)
    }
  }

  @Test("CSV is RFC 4180 with a header row; empty reports say so")
  func csvAndEmpty() throws {
    try TestDatabase.with { db in
      let fixture = try ReportFixture(db)
      let csv = try fixture.report("oma", ["overdue", "--office", "NTH", "--format", "csv"])
      let records = try CSV.parse(csv.stdout)
      #expect(records.first == [
        "label", "case", "office", "holder", "holder_name", "whereabouts", "checked_out_at", "expected_return",
        "overdue_minutes", "holder_deactivated",
      ])
      #expect(records.count == 3)
      #expect(records[1][4] == "Pat")
      #expect(records[1][5] == ReportFixture.longWhereabouts)
      #expect(records[1][8] == "3060")
      // Tables name the holder and show each transfer's reference and seal.
      let table = try fixture.report("oma", ["overdue", "--office", "NTH"])
      #expect(table.stdout.contains("Pat (\(fixture.agency.login("pat")))"), "\(table)")
      let arrivals = try fixture.report("sam", ["arrivals", "--office", "STH"], as: "sam")
      #expect(arrivals.stdout.contains("REFERENCE") && arrivals.stdout.contains("SEAL"), "\(arrivals)")
      #expect(arrivals.stdout.contains("CS-1"), "\(arrivals)")

      let empty = try fixture.report("sam", ["overdue", "--office", "STH"], as: "sam")
      #expect(empty.status == 0)
      #expect(empty.stdout.isEmpty)
      #expect(empty.stderr == "custody: no checked-out file is overdue at STH\n")
      let emptyJSON = try fixture.report("sam", ["overdue", "--office", "STH", "--format", "json"], as: "sam")
      #expect(emptyJSON.stdout == "[]\n")
      let emptyCSV = try fixture.report("sam", ["overdue", "--office", "STH", "--format", "csv"], as: "sam")
      #expect(try CSV.parse(emptyCSV.stdout).count == 1)
    }
  }

  @Test("lateness reads the way people say it", arguments: [
    (45, "45m"), (60, "1h"), (125, "2h 5m"), (660, "11h"), (1440, "1d"), (3060, "2d 3h"), (0, "0m"),
  ])
  func lateness(minutes: Int, text: String) {
    #expect(Report.lateness(minutes) == text)
  }

  @Test("an office code that names no office is refused, not answered with no rows")
  func unknownOffice() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      for name in Report.all.keys.sorted() {
        for format in ["table", "json"] {
          let missing = try agency.run("oma", ["report", name, "--office", "NOPE", "--format", format])
          #expect(missing.status == 66, "\(name) \(format): \(missing)")
          #expect(missing.stderr.contains("no office NOPE"), "\(name) \(format): \(missing)")
          #expect(missing.stdout.isEmpty, "\(name) \(format): \(missing)")
        }
        let invalid = try agency.run("oma", ["report", name, "--office", "nth"])
        #expect(invalid.status == 65, "\(name): \(invalid)")
        #expect(invalid.stderr.contains("not a valid office code"), "\(name): \(invalid)")
        // An office with nothing to show still answers with an empty report.
        let empty = try agency.run("oma", ["report", name, "--office", "STH", "--format", "json"])
        #expect(empty.status == 0, "\(name): \(empty)")
      }
      let staff = try agency.run("oma", ["staff", "list", "--office", "NOPE"])
      #expect(staff.status == 66, "\(staff)")
      #expect(staff.stdout.isEmpty, "\(staff)")
      #expect(try agency.run("oma", ["staff", "list", "--office", "STH"]).status == 0)
    }
  }

  @Test("every report's plan uses indexes and never scans the whole events table")
  func plans() throws {
    try TestDatabase.with { db in
      _ = try ReportFixture(db)
      let owner = try db.connect()
      try owner.execute("SET enable_seqscan = off")
      for name in ["overdue", "out", "transit", "arrivals"] {
        let plan = try owner.query(
          "EXPLAIN SELECT * FROM custody.report_\(name)('NTH', now())"
        ).map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
        #expect(!plan.contains("Seq Scan on event"), "\(name): \(plan)")
        #expect(plan.contains("Index"), "\(name): \(plan)")
      }
    }
  }
}

@Suite("Reports over every office show each login what row-level security shows it")
struct ReportVisibilityTests {
  @Test("out, overdue and summary without --office match the open removals each login may read")
  func everyOffice() throws {
    try TestDatabase.with { db in
      let fixture = try VisibilityFixture(db)
      let agency = fixture.agency
      // The confidential file goes out with its allocated practitioner: pat may not see it, bea may.
      let later = Date().addingTimeInterval(86_400)
      _ = try CustodyAPI(try db.connect(user: agency.login("pip")))
        .checkout(request: UUID(), label: fixture.confidential, whereabouts: "court", returnBy: later)
      let asOf = "2099-01-01T00:00Z"
      for name in ["pat", "pip", "bea", "oma", "sam", "hana", "dee"] {
        let readable = try db.connect(user: agency.login(name)).query(
          """
          SELECT f.label, r.office FROM custody.removal r JOIN custody.file f ON f.id = r.file_id
           WHERE r.ended_at IS NULL ORDER BY f.label
          """
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }
        #expect(!readable.isEmpty, "\(name)")
        for report in ["out", "overdue"] {
          let outcome = try agency.run(name, ["report", report, "--as-of", asOf, "--format", "json"])
          let rows = try jsonRows(outcome)
          #expect(rows.compactMap { $0["label"] as? String }.sorted() == readable.map(\.0), "\(name) \(report)")
        }
        let summary = try agency.run(name, ["report", "summary", "--as-of", asOf, "--format", "json"])
        let offices = try jsonRows(summary)
        let own = name == "dee" ? ["NTH", "STH"] : [["sam", "hana"].contains(name) ? "STH" : "NTH"]
        #expect(offices.map { $0["office"] as? String } == own, "\(name) \(summary)")
        for office in own {
          let row = try #require(offices.first { $0["office"] as? String == office }, "\(name) \(summary)")
          let out = readable.filter { $0.1 == office }.count
          #expect(row["checked_out"] as? Int == out, "\(name) \(office) checked_out")
          #expect(row["overdue"] as? Int == out, "\(name) \(office) overdue")
        }
      }
    }
  }
}
