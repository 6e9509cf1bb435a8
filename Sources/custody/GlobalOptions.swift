import ArgumentParser
import Custody
import Foundation
import Postgres

extension OutputFormat: ExpressibleByArgument {}

/// Options every command takes (CLI.md, "Global options").
struct GlobalOptions: ParsableArguments {
  @Option(
    name: .customLong("database-url"),
    help: ArgumentHelp(
      "libpq connection URI or key=value string.",
      discussion: "Default: CUSTODY_DATABASE_URL, else libpq's own defaults (PGHOST, PGUSER, PGSERVICE, ~/.pgpass).",
      valueName: "url"))
  var databaseURL: String?

  @Option(help: "Output format: table, csv (RFC 4180) or json.")
  var format: OutputFormat = .table

  @Option(
    name: .customLong("tz"),
    help: ArgumentHelp(
      "IANA time zone for reading and showing local times (default: CUSTODY_TZ, else Europe/London).",
      valueName: "zone"))
  var zoneName: String?

  var target: DatabaseTarget { DatabaseTarget(option: databaseURL) }

  func zone() throws -> Zone { try Zone(option: zoneName) }

  func writer() throws -> ResultWriter { ResultWriter(format: format, zone: try zone()) }

  /// Validates the options, then connects and checks the schema: what every command but migrate does.
  /// A command that only reads passes its reports connection, used instead when one is named.
  func open(reading reports: ReportsTarget? = nil) throws -> (connection: Connection, writer: ResultWriter) {
    let writer = try writer()
    let connection =
      try reports?.connectChecked(primary: target, zone: writer.zone) ?? target.connectChecked(zone: writer.zone)
    return (connection, writer)
  }
}

/// `--request-id`, for commands that change something.
struct RequestOptions: ParsableArguments {
  @Option(
    name: .customLong("request-id"),
    help: ArgumentHelp(
      "Id of this change; sending the same id again returns the first outcome and records nothing new.",
      discussion: "Default: a new random UUID. Reuse one to retry safely after a dropped connection.",
      valueName: "uuid"))
  var requestID: String?

  func id() throws -> UUID {
    guard let requestID else { return UUID() }
    guard let id = UUID(uuidString: requestID) else {
      throw CustodyError.invalidValue("--request-id '\(requestID)' is not a UUID")
    }
    return id
  }
}

/// Runs one change through the custody API and shows its outcome.
func perform(
  _ global: GlobalOptions, _ request: RequestOptions, _ change: (CustodyAPI, UUID, Zone) throws -> Event
) throws {
  let id = try request.id()
  let (connection, writer) = try global.open()
  let api = CustodyAPI(connection)
  let started = try connection.query("SELECT statement_timestamp()").first?.decode(0, as: Date.self)
  let event = try recording(connection, request: id) { try change(api, id, writer.zone) }
  // A replayed request returns the event its first run recorded, before this command began.
  if let started, event.at < started {
    StandardError.write(
      "custody: note: request id \(id.uuidString.lowercased()) was already used: this is its first outcome, "
        + "and nothing new was recorded\n")
  }
  if event.kind == "received", event.sealDiscrepancy == true {
    let dispatched = try api.dispatchedSeal(before: event)
    StandardError.write(
      "custody: warning: seal '\(event.seal ?? "")' differs from the seal recorded at dispatch "
        + "(\(dispatched.map { "'\($0)'" } ?? "none")); the discrepancy is recorded\n")
  } else if event.kind == "received", event.seal == nil, let dispatched = try api.dispatchedSeal(before: event) {
    StandardError.write(
      "custody: warning: \(event.label ?? event.subject) was dispatched under seal '\(dispatched)', which was not "
        + "checked at receipt; the receipt is recorded without a seal check\n")
  }
  writer.show(event)
}

/// Runs one change under `request` in a transaction of its own, committed only once its outcome has
/// been read: a command killed while the change waits (for a file's lock) never sends COMMIT, so its
/// transaction rolls back when the server notices. A connection lost meanwhile is an unknown outcome.
func recording<T>(_ connection: Connection, request: UUID, _ change: () throws -> T) throws -> T {
  do {
    return try connection.withTransaction(change)
  } catch let error as PostgresError where error.isConnectionEnding {
    throw unknownOutcome(error, request: request)
  }
}

/// A change whose connection ended before its outcome came back: it may or may not be recorded.
private func unknownOutcome(_ error: PostgresError, request: UUID) -> CustodyError {
  let id = request.uuidString.lowercased()
  return .temporary(
    "the connection to the database was lost before the outcome was known (\(error.message))",
    hint: "run the same command again with --request-id \(id): it is recorded once, whether or not it was before")
}

/// `--reports-url`, on the commands that only read: they may read from a streaming replica.
struct ReportsSource: ParsableArguments {
  @Option(
    name: .customLong("reports-url"),
    help: ArgumentHelp(
      "Read from this connection, typically a streaming replica; changes always go to the primary.",
      discussion: "Default: CUSTODY_REPORTS_URL, else the database of --database-url. "
        + "A warning on standard error says when the replica is more than a minute behind.",
      valueName: "url"))
  var reportsURL: String?

  func open(_ global: GlobalOptions) throws -> (connection: Connection, writer: ResultWriter) {
    try global.open(reading: ReportsTarget(option: reportsURL))
  }
}
