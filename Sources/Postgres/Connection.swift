import CLibPQ

/// One libpq connection. Not thread-safe: use it from one task at a time.
///
/// `PQfinish` runs exactly once, in `deinit`, also when the connection failed to open.
public final class Connection {
  private let conn: OpaquePointer
  private let conninfo: String?
  /// NOTICE and WARNING messages the server sent since the last `takeNotices()`.
  private var notices: [PostgresError] = []
  /// Hears each notice as it arrives; returning true consumes it, so `takeNotices()` will not.
  public var onNotice: ((PostgresError) -> Bool)?

  /// Opens a connection.
  ///
  /// - Parameter conninfo: a libpq URI or `key=value` string passed to libpq untouched;
  ///   nil uses libpq's own defaults (PGHOST, PGUSER, PGSERVICE, ~/.pgpass, ...).
  public init(_ conninfo: String? = nil) throws {
    let keywords = ["dbname", "client_encoding", "fallback_application_name"]
    let values: [String?] = [conninfo, "UTF8", "custody"]
    // Both arrays end with a NULL entry, as libpq requires.
    let keywordArray = CStringArray(keywords.map { Array($0.utf8) } + [nil])
    let valueArray = CStringArray(values.map { $0.map { Array($0.utf8) } } + [nil])
    let opened: OpaquePointer? = keywordArray.withPointers { keywordPointers in
      valueArray.withPointers { valuePointers in
        PQconnectdbParams(keywordPointers, valuePointers, 1)
      }
    }
    guard let opened else {
      throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection")
    }
    self.conn = opened
    self.conninfo = conninfo
    PQsetNoticeReceiver(
      opened,
      { context, result in
        guard let context, let result else { return }
        let connection = Unmanaged<Connection>.fromOpaque(context).takeUnretainedValue()
        let notice = connection.resultError(result)
        if connection.onNotice?(notice) != true { connection.notices.append(notice) }
      }, Unmanaged.passUnretained(self).toOpaque())
    guard PQstatus(opened) == CONNECTION_OK else {
      // deinit runs PQfinish for the failed connection.
      throw connectionError(kind: .connectionFailed)
    }
    try settleSession()
  }

  deinit { PQfinish(conn) }

  /// True while libpq considers the connection usable.
  public var isConnected: Bool { PQstatus(conn) == CONNECTION_OK }

  /// The server process serving this session.
  public var backendPID: Int32 { PQbackendPID(conn) }

  /// A run-time parameter the server reported (`server_version`, `DateStyle`, ...).
  public func parameterStatus(_ name: String) -> String? {
    PQparameterStatus(conn, name).map { String(cString: $0) }
  }

  /// Returns and forgets the notices and warnings the server sent.
  public func takeNotices() -> [PostgresError] {
    defer { notices = [] }
    return notices
  }

  /// A libpq cancel object for this connection (`Interruption`); the caller frees it.
  func makeCancel() -> OpaquePointer? { PQgetCancel(conn) }

  /// The server's major version (15 for 15.4), from the version it reported at connection start.
  public var serverMajorVersion: Int { Int(PQserverVersion(conn)) / 10000 }

  /// Opens the connection again with the same settings, after it was lost.
  public func reconnect() throws {
    PQreset(conn)
    guard isConnected else { throw connectionError(kind: .connectionFailed) }
    try settleSession()
  }

  /// Runs one statement with `$n` parameters through `PQexecParams` and returns all its rows.
  ///
  /// The server refuses more than one statement here, so values can never become SQL.
  @discardableResult
  public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws -> QueryResult {
    let bound = try BoundParameters(parameters)
    let result = bound.withPointers { values in
      PQexecParams(conn, sql, bound.count, nil, values, nil, nil, 0)
    }
    return try check(result)
  }

  /// Runs one statement and returns the number of rows it changed.
  @discardableResult
  public func execute(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws -> Int {
    try query(sql, parameters).affectedRows
  }

  /// Runs one statement and hands its rows to `body` one at a time (libpq single-row mode),
  /// so memory does not grow with the number of rows.
  ///
  /// If `body` throws, the query is cancelled and the error rethrown.
  public func stream(
    _ sql: String, _ parameters: [(any PostgresParameter)?] = [], row body: (Row) throws -> Void
  ) throws {
    let bound = try BoundParameters(parameters)
    let sent = bound.withPointers { values in
      PQsendQueryParams(conn, sql, bound.count, nil, values, nil, nil, 0)
    }
    guard sent == 1 else { throw connectionError(kind: isConnected ? .server : .connectionLost) }
    PQsetSingleRowMode(conn)
    var failure: Error?
    while let next = PQgetResult(conn) {
      let handle = ResultHandle(next)
      if failure != nil { continue }
      let status = PQresultStatus(next)
      if status == PGRES_SINGLE_TUPLE {
        do {
          try body(Row(handle: handle, index: 0))
        } catch {
          failure = error
          cancelRunningQuery()
        }
      } else if status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK {
        failure = resultError(next)
      }
    }
    if let failure { throw failure }
    if !isConnected { throw connectionError(kind: .connectionLost) }
  }

  /// Runs `COPY ... FROM STDIN` and lets `body` send its data through the function it is given,
  /// in pieces of any size; returns the number of rows copied. If `body` throws, the copy is
  /// abandoned (the server discards it) and the error rethrown.
  @discardableResult
  public func copyIn(_ sql: String, _ body: (_ send: ([UInt8]) throws -> Void) throws -> Void) throws -> Int {
    let started = PQexec(conn, sql)
    guard let started, PQresultStatus(started) == PGRES_COPY_IN else {
      try check(started)
      throw PostgresError(kind: .client, message: "not a COPY FROM STDIN statement")
    }
    PQclear(started)
    var failure: Error?
    do {
      try body { bytes in
        let sent = bytes.withUnsafeBufferPointer { buffer in
          buffer.baseAddress.map { base in
            base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { PQputCopyData(conn, $0, Int32(buffer.count)) }
          } ?? 1
        }
        guard sent == 1 else { throw connectionError(kind: isConnected ? .server : .connectionLost) }
      }
    } catch {
      failure = error
    }
    guard PQputCopyEnd(conn, failure == nil ? nil : "abandoned by the client") == 1 else {
      throw failure ?? connectionError(kind: isConnected ? .server : .connectionLost)
    }
    var copied = 0
    var serverError: Error?
    while let next = PQgetResult(conn) {
      let handle = ResultHandle(next)
      if PQresultStatus(next) == PGRES_COMMAND_OK {
        copied = QueryResult(handle: handle).affectedRows
      } else if serverError == nil {
        serverError = resultError(next)
      }
    }
    if let failure { throw failure }
    if let serverError { throw serverError }
    return copied
  }

  /// Runs `body` inside BEGIN ... COMMIT; any error rolls back and is rethrown.
  public func withTransaction<T>(_ body: () throws -> T) throws -> T {
    try query("BEGIN")
    let value: T
    do {
      value = try body()
    } catch {
      rollbackQuietly()
      throw error
    }
    do {
      try query("COMMIT")
    } catch {
      rollbackQuietly()
      throw error
    }
    return value
  }

  /// Runs SQL text shipped inside this program (migrations) through the simple query protocol.
  ///
  /// Never pass user input: unlike `query`, this accepts several statements.
  public func executeTrustedScript(_ sql: String) throws {
    try check(PQexec(conn, sql))
  }

  // MARK: - Internals

  private func settleSession() throws {
    // Typed reads of dates and timestamps rely on ISO output.
    if parameterStatus("DateStyle")?.hasPrefix("ISO") != true {
      try executeTrustedScript("SET DateStyle = 'ISO, YMD'")
    }
  }

  private func rollbackQuietly() {
    guard isConnected, PQtransactionStatus(conn) != PQTRANS_IDLE else { return }
    if let result = PQexec(conn, "ROLLBACK") { PQclear(result) }
  }

  private func cancelRunningQuery() {
    guard let cancel = PQgetCancel(conn) else { return }
    defer { PQfreeCancel(cancel) }
    var buffer = [CChar](repeating: 0, count: 256)
    _ = PQcancel(cancel, &buffer, Int32(buffer.count))
  }

  @discardableResult
  private func check(_ result: OpaquePointer?) throws -> QueryResult {
    guard let result else {
      throw connectionError(kind: isConnected ? .server : .connectionLost)
    }
    let handle = ResultHandle(result)
    switch PQresultStatus(result) {
    case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
      return QueryResult(handle: handle)
    case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
      throw PostgresError(kind: .client, message: "COPY is not supported through this connection")
    default:
      throw resultError(result)
    }
  }

  /// Builds the error from a failed result, before the result is freed.
  private func resultError(_ result: OpaquePointer) -> PostgresError {
    func field(_ code: Int32) -> String? {
      PQresultErrorField(result, code).map { String(cString: $0) }
    }
    let lost = !isConnected
    let primary = field(Int32(CPG_DIAG_MESSAGE_PRIMARY))
    let fallback = String(cString: PQresultErrorMessage(result))
    var error = PostgresError(
      kind: lost ? .connectionLost : .server,
      message: Redaction.scrub(primary ?? Self.tidy(fallback).message, conninfo: conninfo),
      sqlstate: field(Int32(CPG_DIAG_SQLSTATE)),
      severity: field(Int32(CPG_DIAG_SEVERITY_NONLOCALIZED)) ?? field(Int32(CPG_DIAG_SEVERITY)),
      detail: field(Int32(CPG_DIAG_MESSAGE_DETAIL)),
      hint: field(Int32(CPG_DIAG_MESSAGE_HINT)))
    error.position = field(Int32(CPG_DIAG_STATEMENT_POSITION)).flatMap { Int($0) }
    error.internalPosition = field(Int32(CPG_DIAG_INTERNAL_POSITION)).flatMap { Int($0) }
    error.internalQuery = field(Int32(CPG_DIAG_INTERNAL_QUERY))
    error.context = field(Int32(CPG_DIAG_CONTEXT))
    error.schema = field(Int32(CPG_DIAG_SCHEMA_NAME))
    error.table = field(Int32(CPG_DIAG_TABLE_NAME))
    error.column = field(Int32(CPG_DIAG_COLUMN_NAME))
    error.constraint = field(Int32(CPG_DIAG_CONSTRAINT_NAME))
    if lost && primary == nil {
      error.message = "the connection to the server was lost: " + error.message
    }
    return error
  }

  /// An error from libpq's connection-level message, with any password removed.
  private func connectionError(kind: PostgresError.Kind) -> PostgresError {
    let raw = PQerrorMessage(conn).map { String(cString: $0) } ?? ""
    let tidied = Self.tidy(Redaction.scrub(raw, conninfo: conninfo))
    var message = tidied.message.isEmpty ? "no further detail from libpq" : tidied.message
    if kind == .connectionLost { message = "the connection to the server was lost: " + message }
    return PostgresError(kind: kind, message: message, hint: tidied.hint)
  }

  /// libpq's messages are multi-line; the first line is the reason, an indented line is advice.
  static func tidy(_ raw: String) -> (message: String, hint: String?) {
    let lines = raw.split(separator: "\n").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    guard let first = lines.first else { return ("", nil) }
    let rest = lines.dropFirst().joined(separator: " ")
    return (first, rest.isEmpty ? nil : rest)
  }
}

extension Substring {
  func trimmingWhitespace() -> String {
    String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
  }
}
