import Custody
import Foundation
import Postgres

/// A small agency in a test database: two offices and their staff, each with a login of their own.
///
/// Logins are PostgreSQL roles, which belong to the whole cluster, so each test's logins carry
/// its database's suffix (`pat_1a2b3c4d`); `TestDatabase.drop()` removes them.
public struct Agency: Sendable {
  public let database: TestDatabase

  /// An agency with no offices or staff yet; `make(in:)` sets one up.
  public init(database: TestDatabase) {
    self.database = database
  }

  /// Short names and how each is set up: (role, office, home-based).
  public static let people: [(String, String, String, Bool)] = [
    ("pat", "practitioner", "NTH", false),
    ("pip", "practitioner", "NTH", false),
    ("bea", "business-support", "NTH", false),
    ("oma", "office-manager", "NTH", false),
    ("sam", "business-support", "STH", false),
    ("hana", "practitioner", "STH", true),
    ("dee", "director", "NTH", false),
  ]

  /// The login of the person called `name` in this test.
  public func login(_ name: String) -> String { "\(name)_\(database.suffix)" }

  /// Creates the offices and staff through the custody API, as the database owner.
  public static func make(in database: TestDatabase) throws -> Agency {
    let agency = Agency(database: database)
    let api = CustodyAPI(try database.connect())
    _ = try api.addOffice(request: UUID(), code: "NTH", name: "North Office", email: "north@example.org")
    _ = try api.addOffice(request: UUID(), code: "STH", name: "South Office", email: nil)
    for (name, role, office, homeBased) in people {
      _ = try api.addStaff(
        request: UUID(), login: agency.login(name), name: name.capitalized, role: role, office: office,
        employment: homeBased ? "self-employed" : "employed", homeBased: homeBased, email: nil)
    }
    return agency
  }

  /// Runs `custody` as `name` (or as the database owner when nil), with times shown in UTC.
  public func run(_ name: String?, _ arguments: [String], zone: String = "UTC") throws -> CLI.Outcome {
    let user = name.map(login) ?? database.installer
    return try CLI.run(
      arguments,
      environment: ["CUSTODY_DATABASE_URL": database.conninfo(user: user), "CUSTODY_TZ": zone])
  }

  /// Opens a case at `office` (as its business support) and registers `volumes` files; returns their labels.
  public func openCase(_ number: String, office: String = "NTH", volumes: Int = 1) throws -> [String] {
    let api = CustodyAPI(try database.connect(user: login(office == "NTH" ? "bea" : "sam")))
    _ = try api.openCase(
      request: UUID(), number: number, office: office, law: "private", classification: "restricted",
      childrenBorn: [], practitioner: nil)
    return try (0..<volumes).map { _ in
      try api.registerFile(request: UUID(), caseNumber: number, volume: nil, kind: "file", label: nil).label ?? ""
    }
  }

  /// The number of events in the custody record.
  public func eventCount() throws -> Int {
    try database.connect().query("SELECT count(*) FROM custody.event").first?.decode(0) ?? -1
  }

  /// The kinds of events recorded for a file, oldest first.
  public func eventKinds(_ label: String) throws -> [String] {
    try database.connect().query(
      "SELECT e.kind FROM custody.event e JOIN custody.file f ON f.id = e.file_id WHERE f.label = $1 ORDER BY e.id",
      [label]
    ).map { try $0.decode(0) }
  }

  /// The file's status, secure base and holder.
  public func state(_ label: String) throws -> (status: String, base: String, holder: String?) {
    let row = try database.connect().query(
      """
      SELECT f.status, f.base, r.holder FROM custody.file f LEFT JOIN custody.removal r ON r.id = f.open_removal
       WHERE f.label = $1
      """, [label]
    ).first
    guard let row else { throw TestSetupError("no file \(label)") }
    return (try row.decode(0), try row.decode(1), try row.decodeIfPresent(2))
  }
}
