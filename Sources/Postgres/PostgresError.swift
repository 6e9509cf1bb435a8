/// An error from PostgreSQL or from libpq, keeping every field the server sent.
///
/// Its description never contains a connection string or a password: connection
/// failures are scrubbed before they are built (see `Redaction`).
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Where the error came from.
  public enum Kind: Sendable, Equatable {
    /// libpq could not open a connection (server down, bad host, authentication).
    case connectionFailed
    /// The connection broke during a command; libpq's `PQstatus` is `CONNECTION_BAD`.
    case connectionLost
    /// The server refused a command and said why (SQLSTATE and the rest).
    case server
    /// This client refused to send or read something (a NUL in a parameter, invalid UTF-8).
    case client
  }

  public var kind: Kind
  /// Five-character SQLSTATE, when the server sent one.
  public var sqlstate: String?
  /// `ERROR`, `FATAL` or `PANIC` (not localised).
  public var severity: String?
  public var message: String
  public var detail: String?
  public var hint: String?
  /// One-based character position in the statement text.
  public var position: Int?
  /// One-based character position in `internalQuery`, for errors inside functions.
  public var internalPosition: Int?
  public var internalQuery: String?
  public var context: String?
  public var schema: String?
  public var table: String?
  public var column: String?
  public var constraint: String?

  public init(
    kind: Kind, message: String, sqlstate: String? = nil, severity: String? = nil,
    detail: String? = nil, hint: String? = nil
  ) {
    self.kind = kind
    self.message = message
    self.sqlstate = sqlstate
    self.severity = severity
    self.detail = detail
    self.hint = hint
  }

  /// True when the session is gone and a new connection is needed.
  public var isConnectionLost: Bool { kind == .connectionLost }

  /// The server ended the session (terminated, shutting down, crashed): whatever the statement
  /// did may or may not have been committed.
  public var isConnectionEnding: Bool {
    kind == .connectionLost || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P05"
  }

  public var description: String {
    var text = message
    if let sqlstate { text += " (SQLSTATE \(sqlstate))" }
    if let detail { text += "; \(detail)" }
    return text
  }
}
