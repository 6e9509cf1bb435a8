import Foundation
import Postgres

/// Where the database is: `--database-url`, else `CUSTODY_DATABASE_URL`, else libpq's defaults.
public struct DatabaseTarget: Sendable {
  /// The connection string handed to libpq untouched; nil means libpq's own defaults.
  public let conninfo: String?
  /// Whether anything at all named a database (an option, or a CUSTODY_/PG variable).
  public let isConfigured: Bool

  static let libpqVariables = [
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGSERVICEFILE",
  ]

  public init(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) {
    let fromEnvironment = environment["CUSTODY_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    conninfo = option ?? fromEnvironment
    isConfigured =
      conninfo != nil || Self.libpqVariables.contains { !(environment[$0] ?? "").isEmpty }
  }

  /// Opens a connection; failures become exit 69, or 78 when nothing names a database.
  ///
  /// With a zone, the session's TimeZone is set to it at connection start (libpq's PGTZ), so
  /// times in the server's messages are in the person's zone.
  public func connect(zone: Zone? = nil) throws -> Connection {
    if let zone { setenv("PGTZ", zone.identifier, 1) }
    do {
      return try Connection(conninfo)
    } catch let error as PostgresError where error.kind == .connectionFailed && !isConfigured {
      throw CustodyError.configuration(
        "no database configured, and libpq's default failed: \(error.message)",
        hint: "give --database-url URL, set CUSTODY_DATABASE_URL, or set PGHOST/PGDATABASE/PGSERVICE")
    }
  }

  /// Opens a connection and checks that the schema is exactly the one this binary carries and
  /// that row-level security binds its engine (`InstallState`).
  public func connectChecked(zone: Zone? = nil) throws -> Connection {
    let connection = try connectVerified(zone: zone)
    try Self.installState(connection).requireSound()
    return connection
  }

  /// Opens a connection and checks the schema version only.
  public func connectVerified(zone: Zone? = nil) throws -> Connection {
    let connection = try connect(zone: zone)
    try Schema.migrator.verify(on: connection)
    return connection
  }

  /// The install's state, as the login may read it: one that is not staff may not read the schema.
  public static func installState(_ connection: Connection) throws -> InstallState {
    do {
      return try InstallState.load(connection)
    } catch let error as PostgresError where error.sqlstate == "42501" {
      let login = try? connection.query("SELECT session_user::text").first?.decode(0, as: String.self)
      throw CustodyError.permissionDenied(
        "you are logged in as \(login ?? "a login"), who is not a member of staff")
    }
  }
}
