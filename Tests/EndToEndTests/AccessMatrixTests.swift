import Custody
import Foundation
import Postgres
import TestSupport
import Testing

/// Who may do what, from the access-control issue's table, written out independently of the SQL.
struct AccessRules {
  let role: String
  let ownOffice: Bool
  let confidential: Bool

  var officeStaff: Bool { ["business-support", "office-manager", "service-manager"].contains(role) }
  var director: Bool { role == "director" }
  var visible: Bool { director || (ownOffice && (!confidential || officeStaff)) }
  var authority: Bool { director || (ownOffice && officeStaff) }

  /// Register, transfer, cancel, missing, found, allocate, return on someone's behalf, receive at an office.
  var officeAction: Int32 { !visible ? 66 : authority ? 0 : 77 }
  var checkout: Int32 { visible ? 0 : 66 }
  var classify: Int32 { !visible ? 66 : (director || (ownOffice && role == "service-manager")) ? 0 : 77 }
  var openCase: Int32 {
    guard authority else { return 77 }
    return confidential && !(director || role == "service-manager") ? 77 : 0
  }
}

@Suite("Access control: each role, in its own and another office, on restricted and confidential files")
struct AccessMatrixTests {
  static let roles = [
    "practitioner", "family-support-worker", "business-support", "office-manager", "service-manager", "director",
  ]

  /// Sets up one case at `office` with a volume in the state each command needs, and one file
  /// coming to `office` from EST; returns the labels by purpose.
  static func prepare(_ db: TestDatabase, _ agency: MatrixAgency, office: String, number: String, confidential: Bool)
    throws -> [String: String]
  {
    let api = CustodyAPI(try db.connect(user: agency.login("sm", office)))
    let classification = confidential ? "confidential" : "restricted"
    _ = try api.openCase(
      request: UUID(), number: number, office: office, law: "public", classification: classification,
      childrenBorn: [], practitioner: nil)
    var labels: [String: String] = [:]
    for purpose in ["checkout", "onBehalf", "transfer", "cancel", "missing", "found"] {
      labels[purpose] = try api.registerFile(request: UUID(), caseNumber: number, volume: nil, kind: "file", label: nil).label
    }
    let later = Date().addingTimeInterval(86_400)
    _ = try api.checkout(request: UUID(), label: labels["onBehalf"] ?? "", whereabouts: "desk", returnBy: later)
    _ = try api.transfer(
      request: UUID(), label: labels["cancel"] ?? "", destination: "EST", method: "hand", expectedBy: later,
      carrier: nil, reference: nil, seal: nil, courier: nil)
    _ = try api.reportMissing(request: UUID(), label: labels["found"] ?? "", reason: "not in the cabinet")
    let east = CustodyAPI(try db.connect(user: agency.login("sm", "EST")))
    _ = try east.openCase(
      request: UUID(), number: number + "-IN", office: "EST", law: "public", classification: classification,
      childrenBorn: [], practitioner: nil)
    let incoming = try east.registerFile(request: UUID(), caseNumber: number + "-IN", volume: nil, kind: "file", label: nil)
    _ = try east.transfer(
      request: UUID(), label: incoming.label ?? "", destination: office, method: "hand", expectedBy: later,
      carrier: nil, reference: nil, seal: nil, courier: nil)
    labels["receive"] = incoming.label
    return labels
  }

  @Test("every command gives the expected exit code through the CLI", arguments: TestDatabase.Install.allCases)
  func matrix(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try MatrixAgency.make(in: db, actors: Self.roles)
      let combinations = Self.roles.flatMap { role in
        ["NTH", "STH"].flatMap { office in [false, true].map { (role, office, $0) } }
      }
      let mismatches = Concurrently.run(combinations.count) { index -> (checked: Int, found: [String]) in
        let (role, office, confidential) = combinations[index]
        let rules = AccessRules(role: role, ownOffice: office == "NTH", confidential: confidential)
        let number = "M\(index)-\(office)"
        let labels = try Self.prepare(db, agency, office: office, number: number, confidential: confidential)
        let actor = agency.actor(role)
        var found: [String] = []
        var checked = 0
        func check(_ arguments: [String], _ expected: Int32) throws {
          checked += 1
          let outcome = try agency.run(actor, arguments)
          if outcome.status != expected {
            found.append("\(role) on \(office) \(confidential ? "confidential" : "restricted"): \(arguments[0]) "
              + "expected \(expected), got \(outcome.status): \(outcome.stderr)")
          }
        }
        let label = { (purpose: String) in labels[purpose] ?? "" }
        try check(["checkout", label("checkout"), "--whereabouts", "court", "--return-by", "+2h"], rules.checkout)
        if rules.checkout == 0 {
          try check(["extend", label("checkout"), "--return-by", "+1d"], 0)
          try check(["return", label("checkout")], 0)
        }
        try check(["return", label("onBehalf")], rules.officeAction)
        try check(["file", "register", number], rules.officeAction)
        try check(["transfer", label("transfer"), "--to", "EST", "--method", "hand", "--expected-by", "+1d"], rules.officeAction)
        try check(["cancel-transfer", label("cancel"), "--reason", "not needed"], rules.officeAction)
        try check(["missing", label("missing"), "--reason", "gone"], rules.officeAction)
        try check(["found", label("found"), "--at", office], rules.officeAction)
        try check(["receive", label("receive")], rules.officeAction)
        try check(
          ["case", "open", number + "-NEW", "--office", office, "--law", "private",
           "--classification", confidential ? "confidential" : "restricted"], rules.openCase)
        try check(
          ["case", "classify", number, "--classification", confidential ? "restricted" : "confidential",
           "--reason", "review"], rules.classify)
        try check(["case", "allocate", number, "--practitioner", agency.login("pr", office)], rules.officeAction)
        try check(["case", "end", number], rules.officeAction)
        return (checked, found)
      }
      let failures = mismatches.flatMap { result -> [String] in
        switch result {
        case .success(let outcome): return outcome.found
        case .failure(let error): return ["setup failed: \(error)"]
        }
      }
      #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
      let checked = mismatches.map { (try? $0.get().checked) ?? 0 }.reduce(0, +)
      // 24 combinations of 12 commands, plus extend and return where checkout succeeds: for the
      // director (4), business support, office and service managers at home (6), and
      // practitioners and family support workers on their office's restricted files (2).
      #expect(combinations.count == 24)
      #expect(checked == 24 * 12 + 2 * 12)
    }
  }

  @Test(
    "home bases are seen by the worker's office and the case's, the dispatching office sees the receipt, a leaver cannot connect",
    arguments: TestDatabase.Install.allCases)
  func homeBasesDispatchersAndLeavers(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try Agency.make(in: db)
      let owner = CustodyAPI(try db.connect())
      _ = try owner.addOffice(request: UUID(), code: "WST", name: "West", email: nil)
      let wes = "wes_\(db.suffix)"
      _ = try owner.addStaff(
        request: UUID(), login: wes, name: "Wes", role: "business-support", office: "WST", employment: "employed",
        homeBased: false, email: nil)
      let home = "home:" + agency.login("hana")
      // North's volume kept at Hana's home (Hana is South's), South's volume there too, and a North
      // volume South received and sent on to West.
      let north = try agency.openCase("NTH/MX/1", volumes: 2)
      let south = try agency.openCase("STH/MX/2", office: "STH")[0]
      #expect(try agency.run("bea", ["transfer", north[0], "--to", home, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["transfer", south, "--to", home, "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("hana", ["receive", north[0]]).status == 0)
      #expect(try agency.run("hana", ["receive", south]).status == 0)
      #expect(try agency.run("bea", ["transfer", north[1], "--to", "STH", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      #expect(try agency.run("sam", ["receive", north[1]]).status == 0)
      #expect(try agency.run("sam", ["transfer", north[1], "--to", "WST", "--method", "hand", "--expected-by", "+1d"]).status == 0)
      let received = try CLI.run(
        ["receive", north[1]], environment: ["CUSTODY_DATABASE_URL": db.conninfo(user: wes), "CUSTODY_TZ": "UTC"])
      #expect(received.status == 0, "\(received)")

      var failures: [String] = []
      let expected: [(String, String, Int32)] = [
        ("oma", north[0], 0), ("bea", north[0], 0), ("pat", north[0], 0), ("sam", north[0], 0), ("hana", north[0], 0),
        ("oma", south, 66), ("bea", south, 66), ("pat", south, 66), ("sam", south, 0), ("hana", south, 0),
        ("sam", north[1], 0), ("hana", north[1], 0), ("oma", north[1], 0),
      ]
      for (who, label, code) in expected {
        let outcome = try agency.run(who, ["whereabouts", label])
        if outcome.status != code { failures.append("\(who) whereabouts \(label): expected \(code), \(outcome)") }
      }
      #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
      // The case's office lists every volume, at a home base of another office's worker or elsewhere.
      for who in ["oma", "bea"] {
        let shown = try agency.run(who, ["case", "show", "NTH/MX/1", "--format", "json"]).jsonObject()
        let volumes = (shown["volumes"] as? [[String: Any]] ?? []).map { $0["secure_base"] as? String ?? "" }
        #expect(volumes.sorted() == [home, "WST"].sorted(), "\(who): \(shown)")
      }

      // A leaver holding a file: deactivated with --force, cannot connect; the removal is listed under them.
      let spare = try agency.openCase("NTH/MX/3")[0]
      #expect(try agency.run("pat", ["checkout", spare, "--whereabouts", "court", "--return-by", "+2h"]).status == 0)
      let gone = try agency.run("oma", ["staff", "deactivate", agency.login("pat"), "--reason", "left", "--force"])
      #expect(gone.status == 0, "\(gone)")
      for arguments in [["whoami"], ["mine"], ["whereabouts", spare], ["return", spare]] {
        let outcome = try agency.run("pat", arguments)
        #expect(outcome.status == 77, "\(arguments): \(outcome)")
      }
      let out = try agency.run("oma", ["report", "out", "--format", "json"]).jsonRows()
      #expect(out.map { $0["label"] as? String } == [spare], "\(out)")
      #expect(out.first?["holder_deactivated"] as? Bool == true, "\(out)")
    }
  }

  @Test("office add is for directors; staff add for directors and the office's own manager", arguments: TestDatabase.Install.allCases)
  func setupCommands(install: TestDatabase.Install) throws {
    try TestDatabase.with(install: install) { db in
      let agency = try MatrixAgency.make(in: db, actors: Self.roles)
      var failures: [String] = []
      for (index, role) in Self.roles.enumerated() {
        let office = try agency.run(agency.actor(role), ["office", "add", "X\(index)", "--name", "New"])
        let expectedOffice: Int32 = role == "director" ? 0 : 77
        if office.status != expectedOffice { failures.append("\(role) office add: \(office)") }
        for target in ["NTH", "STH"] {
          let login = "new\(index)\(target.lowercased())_\(db.suffix)"
          let staff = try agency.run(
            agency.actor(role), ["staff", "add", login, "--name", "New", "--role", "practitioner", "--office", target])
          let expected: Int32 = role == "director" || (role == "office-manager" && target == "NTH") ? 0 : 77
          if staff.status != expected { failures.append("\(role) staff add at \(target): \(staff)") }
        }
      }
      #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
  }
}

/// Offices NTH, STH and EST; one actor of each role at NTH; at each office a service manager who
/// sets things up and a practitioner to allocate cases to.
struct MatrixAgency: Sendable {
  let database: TestDatabase

  func login(_ name: String, _ office: String) -> String { "\(name)\(office.lowercased())_\(database.suffix)" }
  func actor(_ role: String) -> String { "a\(role.prefix(3))_\(database.suffix)" }

  static func make(in database: TestDatabase, actors: [String]) throws -> MatrixAgency {
    let agency = MatrixAgency(database: database)
    let api = CustodyAPI(try database.connect())
    for office in ["NTH", "STH", "EST"] {
      _ = try api.addOffice(request: UUID(), code: office, name: office, email: nil)
      for (name, role) in [("sm", "service-manager"), ("pr", "practitioner")] {
        _ = try api.addStaff(
          request: UUID(), login: agency.login(name, office), name: name, role: role, office: office,
          employment: "employed", homeBased: false, email: nil)
      }
    }
    for role in actors {
      _ = try api.addStaff(
        request: UUID(), login: agency.actor(role), name: role, role: role, office: "NTH",
        employment: "employed", homeBased: false, email: nil)
    }
    return agency
  }

  func run(_ login: String, _ arguments: [String]) throws -> CLI.Outcome {
    try CLI.run(arguments, environment: ["CUSTODY_DATABASE_URL": database.conninfo(user: login), "CUSTODY_TZ": "UTC"])
  }
}
