import Custody
import Foundation
import TestSupport
import Testing

/// A register written to a file of its own, removed afterwards: `rows` are records of cells, joined
/// by commas as given (a test quotes what it means to), ending each line with `lineEnd`.
private func withRegister<T>(
  header: String, _ rows: [String], lineEnd: String = "\n", bom: Bool = false, extra: [UInt8] = [],
  _ body: (String) throws -> T
) throws -> T {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("register-\(UUID().uuidString).csv")
  var bytes: [UInt8] = bom ? [0xEF, 0xBB, 0xBF] : []
  bytes += Array(([header] + rows).map { $0 + lineEnd }.joined().utf8) + extra
  try Data(bytes).write(to: path)
  defer { try? FileManager.default.removeItem(at: path) }
  return try body(path.path)
}

/// A cell as a spreadsheet writes it: quoted, with its quotes doubled.
private func quoted(_ text: String) -> String { "\"" + text.replacing("\"", with: "\"\"") + "\"" }

/// A time of the register, `hours` from now, in UTC (the tests' zone).
private func registerTime(hours: Double) -> String {
  let formatter = DateFormatter()
  formatter.locale = Locale(identifier: "en_US_POSIX")
  formatter.timeZone = TimeZone(identifier: "UTC")
  formatter.dateFormat = "yyyy-MM-dd HH:mm"
  return formatter.string(from: Date().addingTimeInterval(hours * 3600))
}

private func count(_ agency: Agency, _ sql: String) throws -> Int {
  try agency.database.connect().query(sql).first?.decode(0) ?? -1
}

private let header =
  "label,case,office,law,classification,children_born,practitioner,volume,kind,status,secure_base,holder,whereabouts,expected_return"

private let places = [
  "Family Court, Room 3 (\"the small one\")", "Tribunal de Grande Instance, salle 2", "Ελληνικό Δικαστήριο, αίθουσα 4",
  "名古屋家庭裁判所 3階", "Cwrt Teulu Caerdydd — Ystafell 2", "O'Brien's home visit, Ballymun", "محكمة الأسرة، القاعة ٥",
]

/// An agency's register of 100 cases of three volumes each, in both offices: checked out (one
/// overdue, one of a confidential case with its practitioner), missing, at a home base, with
/// awkward text. Returns the rows and the labels of each state.
private func awkwardRegister(_ agency: Agency) -> (rows: [String], out: [String], overdue: String, missing: [String]) {
  let pat = agency.login("pat")
  let hana = agency.login("hana")
  var rows: [String] = []
  var out: [String] = []
  var missing: [String] = []
  var overdue = ""
  for number in 1...100 {
    let office = number <= 60 ? "NTH" : "STH"
    let confidential = number == 7
    let law = ["private", "public", "adoption"][number % 3]
    let born = number % 4 == 0 ? quoted("2015-03-01; 2018-07-22") : number % 4 == 1 ? "2019-11-30" : ""
    let practitioner = office == "NTH" ? (number % 2 == 0 || confidential ? pat : "") : hana
    for volume in 1...3 {
      let label = "\(office)-IMP-\(number)-\(volume)"
      var status = "", base = "", holder = "", whereabouts = "", expected = ""
      if office == "NTH" && volume == 1 && (number % 5 == 2) {
        status = "checked_out"
        holder = pat
        whereabouts = quoted(places[number % places.count])
        expected = registerTime(hours: number == 7 ? 5 : number == 12 ? -30 : 48)
        out.append(label)
        if number == 12 { overdue = label }
      } else if volume == 3 && number % 10 == 3 {
        status = "missing"
        missing.append(label)
      } else if office == "STH" && volume == 2 {
        base = "home:\(hana)"
      }
      let kind = law == "private" && volume == 3 ? "folder" : ""
      rows.append(
        [label, "\(office)/IMP/\(number)", office, law, confidential ? "confidential" : "", born, practitioner,
         String(volume), kind, status, base, holder, whereabouts, expected].joined(separator: ","))
    }
  }
  return (rows, out, overdue, missing)
}

@Suite("Import: an existing register comes in all or nothing, by the rules of case open and file register")
struct ImportTests {
  @Test("300 rows with quotes, commas, non-Latin places, a byte-order mark and CRLF import; their state, history and reports follow; a second import records nothing")
  func awkward() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let register = awkwardRegister(agency)
      try withRegister(header: header, register.rows + [""], lineEnd: "\r\n", bom: true) { path in
        let imported = try agency.run("dee", ["import", path])
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stdout == "recorded 100 cases and 300 files from 300 rows\n", "\(imported)")
        #expect(try count(agency, "SELECT count(*) FROM custody.file WHERE label LIKE '%-IMP-%'") == 300)
        #expect(try count(agency, "SELECT count(*) FROM custody.event WHERE kind = 'imported'") == 400)
        #expect(try count(agency, "SELECT count(*) FROM custody.case_child k JOIN custody.case_record c ON c.id = k.case_id WHERE c.number = 'NTH/IMP/4'") == 2)

        // A checked-out volume: its holder, whereabouts exactly as written and its return time.
        let label = "NTH-IMP-17-1"
        let shown = try agency.run("dee", ["whereabouts", label, "--format", "json"])
        #expect(shown.status == 0, "\(shown)")
        let file = try shown.jsonObject()
        #expect(file["status"] as? String == "checked_out")
        #expect(file["holder"] as? String == agency.login("pat"))
        #expect(file["whereabouts"] as? String == places[17 % places.count])
        let history = file["history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["event"] as? String } == ["imported"], "\(history)")
        #expect((history.first?["details"] as? String)?.hasPrefix("line ") == true, "\(history)")
        #expect((history.first?["details"] as? String)?.hasSuffix("checked out") == true, "\(history)")
        // The table says so in words.
        let table = try agency.run("pat", ["whereabouts", label])
        #expect(table.stdout.contains("imported"), "\(table)")

        let home = try agency.run("hana", ["whereabouts", "STH-IMP-70-2", "--format", "json"]).jsonObject()
        #expect(home["status"] as? String == "at_base" && home["secure_base"] as? String == "home:\(agency.login("hana"))")
        #expect(try agency.state(register.missing[0]).status == "missing")
        #expect(try agency.run("dee", ["whereabouts", "NTH-IMP-3-3", "--format", "json"]).jsonObject()["kind"] as? String == "folder")

        let report = try agency.run("dee", ["report", "out", "--format", "json"])
        #expect(report.status == 0, "\(report)")
        #expect(Set(try report.jsonRows().compactMap { $0["label"] as? String }) == Set(register.out))
        let late = try agency.run("oma", ["report", "overdue", "--format", "json"]).jsonRows()
        #expect(late.compactMap { $0["label"] as? String } == [register.overdue])
        let lost = try agency.run("dee", ["report", "missing", "--format", "json"]).jsonRows()
        #expect(Set(lost.compactMap { $0["label"] as? String }) == Set(register.missing))
        // Reported by whoever imported it, from its line of the register.
        #expect(lost.allSatisfy { $0["reported_by"] as? String == agency.login("dee") }, "\(lost)")
        #expect(lost.allSatisfy { ($0["reason"] as? String)?.hasSuffix(", missing") == true }, "\(lost)")
        // The confidential case's volume stays out of sight of a colleague.
        #expect(try agency.run("pip", ["whereabouts", "NTH-IMP-7-1"]).status == 66)

        let events = try agency.eventCount()
        let again = try agency.run("dee", ["import", path])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout == "recorded 0 cases and 0 files from 300 rows\n", "\(again)")
        #expect(try agency.eventCount() == events)
        // A checked-out volume returned since is still the row's file: nothing new, no error.
        #expect(try agency.run("pat", ["return", label]).status == 0)
        #expect(try agency.run("dee", ["import", path]).stdout == "recorded 0 cases and 0 files from 300 rows\n")
      }
    }
  }

  @Test("--dry-run checks every row and records nothing; JSON says what it would have")
  func dryRun() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let rows = ["NTH-DRY-1,NTH/DRY/1,NTH,public", "NTH-DRY-2,NTH/DRY/1,NTH,public", "NTH-DRY-3,NTH/DRY/2,NTH,private"]
      try withRegister(header: "label,case,office,law", rows) { path in
        let events = try agency.eventCount()
        let table = try agency.run("bea", ["import", path, "--dry-run"])
        #expect(table.status == 0, "\(table)")
        #expect(table.stdout == "would record 2 cases and 3 files from 3 rows (dry run: nothing was recorded)\n")
        let json = try agency.run("bea", ["import", path, "--dry-run", "--format", "json"])
        let outcome = try json.jsonObject()
        #expect(outcome["cases"] as? Int == 2 && outcome["files"] as? Int == 3 && outcome["dry_run"] as? Bool == true)
        #expect(try agency.eventCount() == events)
        #expect(try count(agency, "SELECT count(*) FROM custody.case_record WHERE number LIKE 'NTH/DRY/%'") == 0)
        // Then for real, the volumes numbered in order.
        #expect(try agency.run("bea", ["import", path]).stdout == "recorded 2 cases and 3 files from 3 rows\n")
        #expect(try agency.run("bea", ["whereabouts", "NTH-DRY-2", "--format", "json"]).jsonObject()["volume"] as? Int == 2)
      }
    }
  }

  @Test("Ctrl-C during an import of 40,000 rows records nothing, and the next import is not held up")
  func interrupted() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let rows = (1...10_000).flatMap { n in (1...4).map { "NTH-INT-\(n)-\($0),NTH/INT/\(n),NTH,public" } }
      try withRegister(header: "label,case,office,law", rows) { path in
        let events = try agency.eventCount()
        // As a terminal's Ctrl-C does: SIGINT to the running command, which a shell at a terminal
        // starts with SIGINT neither ignored nor blocked (the test runner's threads block it).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
          "-c",
          "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            + "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT]); os.execv(sys.argv[1], sys.argv[1:])",
          CLI.binary.path, "import", path,
        ]
        process.environment = ["CUSTODY_DATABASE_URL": db.conninfo(user: agency.login("bea")), "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 2)
        #expect(process.isRunning, "the import ended within 2 s: the test needs a larger register")
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT)
        #expect(try agency.eventCount() == events)
        #expect(try count(agency, "SELECT count(*) FROM custody.case_record WHERE number LIKE 'NTH/INT/%'") == 0)
      }
      try withRegister(header: "label,case,office,law", ["NTH-INT-X,NTH/INT/X,NTH,public"]) { path in
        let next = try agency.run("bea", ["import", path])
        #expect(next.stdout == "recorded 1 case and 1 file from 1 row\n", "\(next)")
      }
    }
  }

  @Test("five bad rows (unknown office, impossible date, a label in use, a case that disagrees, invalid UTF-8): 65, all five named, nothing recorded")
  func fiveBadRows() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let taken = try agency.openCase("NTH/OLD/1")[0]
      let rows = [
        "NTH-BAD-1,NTH/BAD/1,NTH,public,",  // line 2: good
        "NTH-BAD-2,NTH/BAD/2,WST,public,",  // line 3: no office WST
        "NTH-BAD-3,NTH/BAD/1,NTH,public,",  // line 4: good
        "NTH-BAD-4,NTH/BAD/4,NTH,public,2019-02-30",  // line 5: no such day
        "\(taken),NTH/BAD/1,NTH,public,",  // line 6: the label is another file's
        "NTH-BAD-6,NTH/BAD/6,NTH,private,",  // line 7: good
        "NTH-BAD-7,NTH/BAD/6,NTH,public,",  // line 8: the case's law differs from line 7
        "NTH-BAD-8,NTH/BAD/8,NTH,public,",  // line 9: good
      ]
      // Line 10: a place name whose bytes are not UTF-8 (Latin-1 "Bézier").
      let latin1: [UInt8] = Array("NTH-BAD-9,NTH/BAD/9,NTH,public,,B".utf8) + [0xE9] + Array("zier\n".utf8)
      try withRegister(header: "label,case,office,law,children_born", rows, extra: latin1) { path in
        let events = try agency.eventCount()
        let outcome = try agency.run("bea", ["import", path])
        #expect(outcome.status == 65, "\(outcome)")
        let named = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("line ") }
        #expect(named.count == 5, "\(outcome.stderr)")
        #expect(named.count == 5 && named[0].hasPrefix("line 3: office: ") && named[0].contains("WST"), "\(named)")
        #expect(named.count == 5 && named[1].hasPrefix("line 5: children_born: "), "\(named)")
        #expect(named.count == 5 && named[2] == "line 6: label: the label \(taken) is already in use", "\(named)")
        #expect(named.count == 5 && named[3].hasPrefix("line 8: law: "), "\(named)")
        #expect(named.count == 5 && named[4].hasPrefix("line 10: ") && named[4].contains("UTF-8"), "\(named)")
        #expect(outcome.stderr.contains("5 bad rows of 9: nothing was recorded"), "\(outcome.stderr)")
        #expect(try agency.eventCount() == events)
        #expect(try count(agency, "SELECT count(*) FROM custody.case_record WHERE number LIKE 'NTH/BAD/%'") == 0)
        // --dry-run finds the same five.
        let dry = try agency.run("bea", ["import", path, "--dry-run"])
        #expect(dry.status == 65 && dry.stderr.split(separator: "\n").filter { $0.hasPrefix("line ") } == named)
      }
    }
  }

  @Test("a line break inside a cell is a bad row named by its first line, and the lines after it keep their numbers")
  func lineBreakInCell() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let pat = agency.login("pat")
      let rows = [
        "NTH-LB-1,NTH/LB/1,NTH,public,checked_out,\(pat),\"Leeds court,\nRoom 2\",\(registerTime(hours: 5))",
        "NTH-LB-2,NTH/LB/2,NOPE,public,,,,",
        "NTH-LB-3,NTH/LB/3,NTH,public,,,\"a place\",",
      ]
      try withRegister(header: "label,case,office,law,status,holder,whereabouts,expected_return", rows) { path in
        let outcome = try agency.run("bea", ["import", path])
        #expect(outcome.status == 65, "\(outcome)")
        let named = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("line ") }.map(String.init)
        #expect(named.count == 3, "\(outcome.stderr)")
        #expect(named.first?.hasPrefix("line 2: whereabouts: ") == true, "\(named)")
        #expect(named.first?.contains("control") == true, "\(named)")
        #expect(named.dropFirst().first?.hasPrefix("line 4: office: ") == true, "\(named)")
        #expect(named.last == "line 5: whereabouts: only a checked-out file has a whereabouts", "\(named)")
        #expect(try count(agency, "SELECT count(*) FROM custody.case_record WHERE number LIKE 'NTH/LB/%'") == 0)
      }
    }
  }

  @Test("rows that contradict the record, or reach what the login may not see, are bad rows; the same answer seen or not")
  func contradictions() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/HAVE/1")
      // Another office's case and label, numbered without an office's prefix.
      let sam = CustodyAPI(try db.connect(user: agency.login("sam")))
      _ = try sam.openCase(
        request: UUID(), number: "OLD/HAVE/1", office: "STH", law: "private", classification: "restricted",
        childrenBorn: [], practitioner: nil)
      _ = try sam.registerFile(request: UUID(), caseNumber: "OLD/HAVE/1", volume: nil, kind: "file", label: "OLD-1")
      let rows = [
        "NTH-C-1,NTH/HAVE/1,NTH,public",  // line 2: recorded as private
        "NTH-C-2,OLD/HAVE/1,NTH,private",  // line 3: another office's case, unseen
        "NTH-C-3,NTH/C/3,STH,private",  // line 4: bea is not STH's
        "OLD-1,NTH/C/5,NTH,private",  // line 5: another office's label, unseen
        "STH-C-6,NTH/C/6,NTH,private",  // line 6: another office's prefix
        "NTH-C-7,NTH/C/7,NTH,private,checked_out,\(agency.login("hana")),court,\(registerTime(hours: 3))",  // line 7: STH's
      ].map { $0.filter { $0 == "," }.count == 3 ? $0 + ",,,," : $0 }
      try withRegister(header: "label,case,office,law,status,holder,whereabouts,expected_return", rows) { path in
        let events = try agency.eventCount()
        let outcome = try agency.run("bea", ["import", path])
        #expect(outcome.status == 65, "\(outcome)")
        let named = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("line ") }.map(String.init)
        #expect(named.count == 6, "\(outcome.stderr)")
        #expect(named.contains { $0.hasPrefix("line 7: holder: ") && $0.contains("may not hold") }, "\(named)")
        #expect(named.first?.hasPrefix("line 2: law: case NTH/HAVE/1 is recorded with another law") == true, "\(named)")
        #expect(named.contains("line 3: case: case OLD/HAVE/1 already exists"), "\(named)")
        #expect(named.contains { $0.hasPrefix("line 4: office: ") && $0.contains("may not import files for office STH") }, "\(named)")
        #expect(named.contains("line 5: label: the label OLD-1 is already in use"), "\(named)")
        #expect(named.contains { $0.hasPrefix("line 6: label: ") && $0.contains("begins with STH") }, "\(named)")
        #expect(try agency.eventCount() == events)
      }
    }
  }

  @Test("refused before any row: a practitioner (77), a missing file (66), an unknown or missing column (65), an empty register (65)")
  func refusals() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let events = try agency.eventCount()
      try withRegister(header: "label,case,office,law", ["NTH-R-1,NTH/R/1,NTH,public"]) { path in
        let practitioner = try agency.run("pat", ["import", path])
        #expect(practitioner.status == 77, "\(practitioner)")
      }
      let missing = try agency.run("bea", ["import", "/nonexistent/register.csv"])
      #expect(missing.status == 66 && missing.stderr.contains("/nonexistent/register.csv"), "\(missing)")
      let folder = try agency.run("bea", ["import", FileManager.default.temporaryDirectory.path])
      #expect(folder.status == 66 && folder.stderr.contains("is a folder, not a register"), "\(folder)")
      try withRegister(header: "label,case,office,law,colour", ["NTH-R-1,NTH/R/1,NTH,public,red"]) { path in
        let unknown = try agency.run("bea", ["import", path])
        #expect(unknown.status == 65 && unknown.stderr.contains("\"colour\" is not a column"), "\(unknown)")
      }
      try withRegister(header: "label,case,office", ["NTH-R-1,NTH/R/1,NTH"]) { path in
        let lacking = try agency.run("bea", ["import", path])
        #expect(lacking.status == 65 && lacking.stderr.contains("needs the column law"), "\(lacking)")
      }
      try withRegister(header: "", []) { path in
        let empty = try agency.run("bea", ["import", path])
        #expect(empty.status == 65 && empty.stderr.contains("empty"), "\(empty)")
      }
      #expect(try agency.eventCount() == events)
    }
  }
}
