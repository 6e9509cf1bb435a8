import Postgres

/// The exit codes of CLI.md, in one place.
public enum ExitStatus: Int32, Sendable {
  case success = 0
  case refused = 1
  case recordBroken = 3
  case usage = 64
  case invalidValue = 65
  case notFound = 66
  case unavailable = 69
  case internalError = 70
  case temporary = 75
  case permissionDenied = 77
  case configuration = 78
}

/// What `custody` prints and returns for an error: one `custody: error:` line, an optional hint.
public struct Failure: Sendable, Equatable {
  public let code: ExitStatus
  public let message: String
  public let hint: String?

  public init(code: ExitStatus, message: String, hint: String? = nil) {
    self.code = code
    self.message = message
    self.hint = hint
  }

  /// Maps any error to its exit code and message.
  public init(_ error: any Error) {
    switch error {
    case let error as CustodyError: self = Failure(error)
    case let error as MigrationError: self = Failure(error)
    case let error as PostgresError: self = Failure(error)
    default: self.init(code: .internalError, message: "internal error: \(error)")
    }
  }

  init(_ error: CustodyError) {
    switch error {
    case .usage(let message): self.init(code: .usage, message: message)
    case .invalidValue(let message): self.init(code: .invalidValue, message: message)
    case .notFound(let message): self.init(code: .notFound, message: message)
    case .refused(let message): self.init(code: .refused, message: message)
    case .permissionDenied(let message): self.init(code: .permissionDenied, message: message)
    case .configuration(let message, let hint): self.init(code: .configuration, message: message, hint: hint)
    case .temporary(let message, let hint): self.init(code: .temporary, message: message, hint: hint)
    case .recordBroken(let message, let hint): self.init(code: .recordBroken, message: message, hint: hint)
    }
  }

  init(_ error: MigrationError) {
    switch error {
    case .checksumChanged(let file):
      self.init(
        code: .configuration,
        message: "migration \(file) was changed after it was applied to this database",
        hint: "an applied migration must never change; restore the original file or use a binary built from it")
    case .unknownApplied(let files):
      self.init(
        code: .configuration,
        message: "the database schema is ahead of this binary: it has \(files.joined(separator: ", ")), "
          + "which this binary does not carry",
        hint: "use the custody binary that migrated this database, or a newer one")
    case .pending(let files):
      self.init(
        code: .configuration,
        message: "the database schema is behind this binary: \(files.joined(separator: ", ")) "
          + (files.count == 1 ? "is" : "are") + " not applied",
        hint: "run 'custody migrate' as the database owner")
    case .engineDiffers(let files):
      self.init(
        code: .configuration,
        message: "the custody engine in the database differs from this binary's: \(files.joined(separator: ", "))",
        hint: "run 'custody migrate' with the newest custody binary you have; an older one would put back its own engine")
    case .statementFailed(let file, let line, let error):
      let underlying = Failure(error)
      self.init(
        code: underlying.code == .internalError ? .configuration : underlying.code,
        message: "migration \(file) failed at line \(line): \(error.message)"
          + (error.detail.map { " (\($0))" } ?? ""),
        hint: underlying.hint ?? "nothing from \(file) was applied")
    }
  }

  init(_ error: PostgresError) {
    switch error.kind {
    case .connectionFailed:
      self.init(code: Self.connectionFailure(error.message), message: "cannot connect to the database: \(error.message)",
        hint: error.hint ?? Self.connectionHint(error.message))
    case .connectionLost:
      self.init(
        code: .temporary, message: error.message,
        hint: "run the command again; a change sent with the same --request-id is recorded once")
    case .client:
      self.init(code: error.sqlstate.map { Self.exitCode(sqlstate: $0) } ?? .internalError, message: error.message)
    case .server where error.sqlstate?.hasPrefix("23") == true:
      self = Self.integrityViolation(error)
    case .server where error.sqlstate == "55P03":
      self.init(
        code: .temporary, message: "the file is busy: another command is changing it",
        hint: "nothing was recorded; run the command again in a moment")
    case .server where error.isConnectionEnding:
      self.init(
        code: .temporary, message: "the connection to the server was lost: \(error.message)",
        hint: "run the command again; a change sent with the same --request-id is recorded once")
    case .server:
      self.init(code: Self.exitCode(sqlstate: error.sqlstate), message: error.message, hint: error.hint)
    }
  }

  /// A change the database's own constraints refused. Their words name tables, keys and values,
  /// some of which the login may not see, so they never reach the person.
  static func integrityViolation(_ error: PostgresError) -> Failure {
    if error.constraint == "event_request_id_key" {
      return Failure(
        code: .invalidValue, message: "this request id was already used for a different command",
        hint: "send a new request id, or leave --request-id out")
    }
    return Failure(
      code: exitCode(sqlstate: error.sqlstate),
      message: "the custody record refused this change: it does not agree with what is recorded",
      hint: "nothing was changed; if the command line let this through, please report it with the command you ran")
  }

  /// A connection that failed: a connection string libpq cannot read is configuration (78), a
  /// login that failed to authenticate is permission (77), anything else unreachable (69).
  static func connectionFailure(_ message: String) -> ExitStatus {
    let configuration = [
      "invalid connection option", "invalid sslmode value", "missing \"=\" after", "invalid URI",
      "unterminated quoted string", "invalid integer value", "invalid value for parameter", "invalid port number",
      " in URI", "URI query parameter",
    ]
    let authentication = [
      "password authentication failed", "no password supplied", "authentication failed", "certificate authentication failed",
      "is not permitted to log in",
    ]
    if configuration.contains(where: message.contains) { return .configuration }
    if authentication.contains(where: message.contains) { return .permissionDenied }
    return .unavailable
  }

  static func connectionHint(_ message: String) -> String? {
    switch connectionFailure(message) {
    case .configuration: return "check --database-url or CUSTODY_DATABASE_URL (a libpq URI or key=value string)"
    case .permissionDenied where message.contains("is not permitted to log in"):
      return "a member of staff who has left is deactivated and cannot connect; a director can tell you more"
    case .permissionDenied: return "check the login's password (~/.pgpass, PGPASSWORD) or certificate"
    default: return nil
    }
  }

  /// Text as one error line shows it: control, format and line-separator characters written as
  /// escapes (\n, \u{202e}), and anything longer than `limit` characters cut short.
  public static func printable(_ text: String, limit: Int = 400) -> String {
    var shown = ""
    for scalar in text.unicodeScalars {
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator:
        shown += scalar == "\n" ? "\\n" : scalar == "\t" ? "\\t" : "\\u{\(String(scalar.value, radix: 16))}"
      default:
        shown.unicodeScalars.append(scalar)
      }
    }
    return shown.count > limit ? String(shown.prefix(limit)) + "…" : shown
  }

  /// Exit code for a server error's SQLSTATE.
  static func exitCode(sqlstate: String?) -> ExitStatus {
    guard let sqlstate else { return .internalError }
    switch sqlstate {
    case "U0001": return .refused
    case "U0002": return .notFound
    case "U0003": return .invalidValue
    case "40001", "40P01", "55P03", "57014": return .temporary
    case "42501": return .permissionDenied
    case "23505", "23P01": return .refused
    case "22021": return .invalidValue
    default: break
    }
    switch sqlstate.prefix(2) {
    case "08", "57": return .unavailable
    case "22", "23": return .invalidValue
    case "28": return .permissionDenied
    case "53": return .temporary
    default: return .internalError
    }
  }
}
