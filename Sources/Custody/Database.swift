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
      let connection = try Connection(conninfo)
      Interruption.arm(connection)
      return connection
    } catch let error as PostgresError where error.kind == .connectionFailed && !isConfigured {
      throw CustodyError.configuration(
        "no database configured, and libpq's default failed: \(error.message)",
        hint: "give --database-url URL, set CUSTODY_DATABASE_URL, or set PGHOST/PGDATABASE/PGSERVICE")
    }
  }

  /// Opens a connection and checks that the schema is exactly the one this binary carries and
  /// that row-level security binds its engine (`InstallState`).
  public func connectChecked(zone: Zone? = nil) throws -> Connection {
    let lockTimeout = try LockTimeout(environment: ProcessInfo.processInfo.environment)
    let connection = try connectVerified(zone: zone)
    try Self.installState(connection).requireSound()
    try lockTimeout.apply(to: connection)
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

/// Where reads may go: `--reports-url`, else `CUSTODY_REPORTS_URL`; nil means the primary.
public struct ReportsTarget: Sendable {
  public let target: DatabaseTarget?

  public init(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) {
    let chosen = option ?? environment["CUSTODY_REPORTS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    target = chosen.map { DatabaseTarget(option: $0, environment: environment) }
  }

  /// Connects to the reports connection, or to `primary` when none is named; warns on standard
  /// error when it is a standby more than a minute behind its primary.
  public func connectChecked(primary: DatabaseTarget, zone: Zone) throws -> Connection {
    guard let target else { return try primary.connectChecked(zone: zone) }
    let connection: Connection
    do {
      connection = try target.connectChecked(zone: zone)
    } catch let error as PostgresError
      where error.kind == .connectionFailed && Failure.connectionFailure(error.message) == .configuration
    {
      throw CustodyError.configuration(
        "cannot read the reports connection: \(error.message)",
        hint: "check --reports-url or CUSTODY_REPORTS_URL (a libpq URI or key=value string)")
    }
    if let lag = try ReplicaLag.measure(connection), lag.seconds > 60 {
      StandardError.write(lag.warning(zone: zone))
    }
    return connection
  }
}

/// How far a standby is behind its primary, as far as the standby can tell.
public struct ReplicaLag: Sendable {
  /// Seconds since the newest change replayed was committed, or 0 when all that arrived is replayed.
  public let seconds: Double
  /// When the newest change replayed was committed on the primary.
  public let replayedUpTo: Date?

  /// Nil on a primary, or on a standby that has replayed nothing since it started.
  public static func measure(_ connection: Connection) throws -> ReplicaLag? {
    let row = try connection.query(
      """
      SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                  ELSE extract(epoch FROM statement_timestamp() - pg_last_xact_replay_timestamp())::float8 END,
             pg_last_xact_replay_timestamp()
       WHERE pg_is_in_recovery()
      """
    ).first
    guard let row, let seconds = try row.decodeIfPresent(0, as: Double.self) else { return nil }
    return ReplicaLag(seconds: seconds, replayedUpTo: try row.decodeIfPresent(1, as: Date.self))
  }

  public func warning(zone: Zone) -> String {
    let minutes = Int(seconds / 60)
    let behind = minutes < 120 ? "\(minutes) min" : "\(minutes / 60) h \(minutes % 60) min"
    let since = replayedUpTo.map { ": changes made after \(zone.short($0)) are not shown" } ?? ""
    return "custody: warning: read from a replica \(behind) behind the primary\(since)\n"
  }
}

/// How long a command waits for a file another command holds before it gives up with 75 (busy):
/// `CUSTODY_LOCK_TIMEOUT`, default 5 s. A number with `ms`, `s` or `min` (a bare number is seconds);
/// 0 waits as long as it takes.
public struct LockTimeout: Sendable, Equatable {
  public let milliseconds: Int

  public init(environment: [String: String]) throws {
    guard let text = environment["CUSTODY_LOCK_TIMEOUT"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
      milliseconds = 5000
      return
    }
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
    let scale = ["": 1000, "ms": 1, "s": 1000, "min": 60_000][unit]
    guard !digits.isEmpty, digits.count <= 9, let scale, let value = Int(digits), value * scale <= 86_400_000 else {
      throw CustodyError.configuration(
        "CUSTODY_LOCK_TIMEOUT '\(text)' is not a time such as 5s, 500ms or 1min (at most a day)",
        hint: "unset it for the default, 5s")
    }
    milliseconds = value * scale
  }

  /// Sets the session's lock_timeout; and, where the server can, has it look every second for a
  /// client that went away, so that a killed command stops waiting rather than going on alone.
  func apply(to connection: Connection) throws {
    if connection.serverMajorVersion >= 14 {
      try connection.execute(
        "SELECT set_config('lock_timeout', $1, false), set_config('client_connection_check_interval', '1s', false)",
        ["\(milliseconds)ms"])
    } else {
      try connection.execute("SELECT set_config('lock_timeout', $1, false)", ["\(milliseconds)ms"])
    }
  }
}
