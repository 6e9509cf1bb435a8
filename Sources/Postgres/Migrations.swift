import Crypto
import Foundation

/// One schema change: `migrations/NNNN_name.sql`, identified by its version and checksummed.
public struct Migration: Sendable {
  public let version: Int
  public let name: String
  public let sql: String
  /// SHA-256 of the file's bytes, in lower-case hex.
  public let checksum: String

  /// Checksums this migration was released with before its file was rewritten (its functions
  /// moved to engine/), from lines `-- Released as sha256:HEX`. A database that applied one of
  /// those has this migration applied.
  public let releasedChecksums: Set<String>

  public init(version: Int, name: String, sql: String) {
    self.version = version
    self.name = name
    self.sql = sql
    self.checksum = Migration.checksum(of: sql)
    self.releasedChecksums = Set(
      sql.split(separator: "\n").compactMap { line -> String? in
        guard line.hasPrefix("-- Released as sha256:") else { return nil }
        let hex = line.dropFirst("-- Released as sha256:".count).prefix(64)
        return hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? String(hex) : nil
      })
  }

  /// SHA-256 of the text's UTF-8 bytes, in lower-case hex: what `schema_migrations` and
  /// `schema_engine` record.
  public static func checksum(of sql: String) -> String {
    SHA256.hash(data: Data(sql.utf8)).map { pad(Int($0), 2, radix: 16) }.joined()
  }

  /// Whether a database that recorded `checksum` for this version has this migration.
  func matches(_ checksum: String) -> Bool {
    checksum == self.checksum || releasedChecksums.contains(checksum)
  }

  /// A migration whose file bytes were embedded as base64 at build time.
  public init(version: Int, name: String, base64: String) {
    guard let data = Data(base64Encoded: base64) else {
      preconditionFailure("embedded migration \(version) is not valid base64")
    }
    self.init(version: version, name: name, sql: String(decoding: data, as: UTF8.self))
  }

  /// `0001_offices.sql`
  public var fileName: String { Migration.fileName(version: version, name: name) }

  static func fileName(version: Int, name: String) -> String {
    pad(version, 4) + "_" + name + ".sql"
  }
}

/// A file of the engine's code (`engine/NAME.sql`: functions, views, policies, triggers, grants),
/// each object defined once and written to be applied again: applied after the versioned
/// migrations whenever the file's content changed, with its checksum in `schema_engine`.
public struct EngineFile: Sendable {
  public let name: String
  public let sql: String
  /// SHA-256 of the file's bytes, in lower-case hex.
  public let checksum: String

  public init(name: String, sql: String) {
    self.name = name
    self.sql = sql
    self.checksum = Migration.checksum(of: sql)
  }

  /// A file whose bytes were embedded as base64 at build time.
  public init(name: String, base64: String) {
    guard let data = Data(base64Encoded: base64) else {
      preconditionFailure("embedded engine file \(name) is not valid base64")
    }
    self.init(name: name, sql: String(decoding: data, as: UTF8.self))
  }

  /// `engine/movement.sql`
  public var fileName: String { "engine/" + name + ".sql" }
}

/// A row of `schema_migrations`.
public struct AppliedMigration: Sendable {
  public let version: Int
  public let name: String
  public let checksum: String
  public let appliedAt: Date

  public var fileName: String { Migration.fileName(version: version, name: name) }
}

public enum MigrationError: Error, Sendable, Equatable {
  /// An applied migration's file changed after it was applied.
  case checksumChanged(file: String)
  /// The database has applied migrations this binary does not carry (it is newer than the binary).
  case unknownApplied(files: [String])
  /// Migrations this binary carries are not applied yet.
  case pending(files: [String])
  /// The engine's files in the database differ from this binary's (new, changed or gone).
  case engineDiffers(files: [String])
  /// A statement in a migration failed; the migration was rolled back.
  case statementFailed(file: String, line: Int, error: PostgresError)
}

/// What `migrate --status` shows: each migration and whether it is applied.
public struct MigrationStatus: Sendable {
  public enum State: String, Sendable {
    case applied, pending
    /// Applied, but the file now differs from what was applied.
    case changed
    /// Applied, but this binary does not carry it.
    case unknown
  }

  public struct Entry: Sendable {
    /// The migration's version; nil for a file of the engine.
    public let version: Int?
    public let name: String
    public let state: State
    public let appliedAt: Date?
    public var kind: String { version == nil ? "engine" : "versioned" }
    public var fileName: String {
      version.map { Migration.fileName(version: $0, name: name) } ?? "engine/\(name).sql"
    }
  }

  /// The versioned migrations in order, then the engine's files.
  public let entries: [Entry]
}

/// Applies migrations in order, each with its `schema_migrations` row in one transaction,
/// under an advisory lock so that concurrent runs apply each migration exactly once.
public struct Migrator: Sendable {
  public let migrations: [Migration]
  public let engine: [EngineFile]

  /// Key of the advisory lock that serialises migration runs on a database.
  static let lockKey: Int64 = 0x6375_7374_6f64_79  // "custody"

  public init(_ migrations: [Migration], engine: [EngineFile] = []) {
    self.migrations = migrations.sorted { $0.version < $1.version }
    self.engine = engine.sorted { $0.name < $1.name }
  }

  /// Applies every pending migration, then the engine's files if any changed, and returns the
  /// migrations it applied.
  ///
  /// The engine is applied in the transaction of the last pending migration (or in one of its
  /// own), so that a database never holds new tables without the code that goes with them.
  ///
  /// - Parameters:
  ///   - waiting: called once if another run holds the lock and this one has to wait.
  ///   - applying: called before each migration is applied.
  ///   - applyingEngine: called before the engine's files are applied.
  ///   - settle: run at the end of each migration's transaction, or in a transaction of its own
  ///     when nothing is pending, so that what it puts right commits with the migrations.
  @discardableResult
  public func migrate(
    on connection: Connection, waiting: () -> Void = {}, applying: (Migration) -> Void = { _ in },
    applyingEngine: ([EngineFile]) -> Void = { _ in }, settle: (Connection) throws -> Void = { _ in }
  ) throws -> [Migration] {
    let locked = try connection.query("SELECT pg_try_advisory_lock($1)", [Self.lockKey])
    if try locked.first?.decode(0, as: Bool.self) != true {
      waiting()
      try connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
    }
    defer {
      if connection.isConnected {
        _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
      }
    }
    try connection.executeTrustedScript(
      """
      CREATE TABLE IF NOT EXISTS public.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      GRANT SELECT ON public.schema_migrations TO PUBLIC;
      CREATE TABLE IF NOT EXISTS public.schema_engine (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      GRANT SELECT ON public.schema_engine TO PUBLIC;
      """)
    let applied = try appliedMigrations(on: connection) ?? []
    try checkApplied(applied)
    let done = Set(applied.map(\.version))
    let pending = migrations.filter { !done.contains($0.version) }
    let carried = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
    // Rows of migrations released before their files were rewritten take the new checksums,
    // and the engine that replaced their functions is applied, in the same transaction.
    let rewritten = applied.compactMap { row in carried[row.version].flatMap { $0.checksum == row.checksum ? nil : $0 } }
    let engineChanged = try engineDiffers(on: connection) || !rewritten.isEmpty
    func finish() throws {
      for migration in rewritten {
        try connection.query(
          "UPDATE public.schema_migrations SET checksum = $2 WHERE version = $1",
          [migration.version, migration.checksum])
      }
      try applyEngine(on: connection, announce: applyingEngine)
    }
    var appliedNow: [Migration] = []
    for (index, migration) in pending.enumerated() {
      applying(migration)
      try connection.withTransaction {
        try run(migration.sql, file: migration.fileName, on: connection)
        try connection.query(
          "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
          [migration.version, migration.name, migration.checksum])
        if index == pending.count - 1 { try finish() }
        try settle(connection)
      }
      appliedNow.append(migration)
    }
    if appliedNow.isEmpty {
      try connection.withTransaction {
        if engineChanged { try finish() }
        try settle(connection)
      }
    }
    return appliedNow
  }

  /// Runs a file's statements, naming the file and line of one that fails.
  private func run(_ sql: String, file: String, on connection: Connection) throws {
    for statement in SQLScript.statements(in: sql) {
      do {
        try connection.executeTrustedScript(statement.text)
      } catch let error as PostgresError {
        let line = error.position.map(statement.line(atPosition:)) ?? statement.keywordLine
        throw MigrationError.statementFailed(file: file, line: line, error: error)
      }
    }
  }

  /// Applies every file of the engine in name order (they may use one another) and records
  /// their checksums; rows of files this binary no longer carries are removed.
  private func applyEngine(on connection: Connection, announce: ([EngineFile]) -> Void) throws {
    guard !engine.isEmpty else { return }
    announce(engine)
    for file in engine {
      try run(file.sql, file: file.fileName, on: connection)
      try connection.query(
        """
        INSERT INTO public.schema_engine (name, checksum) VALUES ($1, $2)
        ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
        """, [file.name, file.checksum])
    }
    try connection.query(
      "DELETE FROM public.schema_engine WHERE NOT (name = ANY ($1::text[]))",
      ["{" + engine.map(\.name).joined(separator: ",") + "}"])
  }

  /// Whether the database's engine differs from this binary's (a file new, changed or gone).
  private func engineDiffers(on connection: Connection) throws -> Bool {
    let recorded = try appliedEngineRows(on: connection)
    return recorded.count != engine.count || engine.contains { recorded[$0.name]?.checksum != $0.checksum }
  }

  /// Each migration this binary carries or the database has applied, and its state.
  public func status(on connection: Connection) throws -> MigrationStatus {
    let applied = try appliedMigrations(on: connection) ?? []
    let carried = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
    var entries: [MigrationStatus.Entry] = applied.map { row in
      let state: MigrationStatus.State
      if let migration = carried[row.version] {
        state = migration.matches(row.checksum) ? .applied : .changed
      } else {
        state = .unknown
      }
      return .init(version: row.version, name: row.name, state: state, appliedAt: row.appliedAt)
    }
    let done = Set(applied.map(\.version))
    entries += migrations.filter { !done.contains($0.version) }.map {
      .init(version: $0.version, name: $0.name, state: .pending, appliedAt: nil)
    }
    entries.sort { ($0.version ?? 0) < ($1.version ?? 0) }
    let recorded = try appliedEngineRows(on: connection)
    for file in engine {
      let row = recorded[file.name]
      let state: MigrationStatus.State = row == nil ? .pending : row?.checksum == file.checksum ? .applied : .changed
      entries.append(.init(version: nil, name: file.name, state: state, appliedAt: row?.appliedAt))
    }
    let carriedEngine = Set(engine.map(\.name))
    for (name, row) in recorded.sorted(by: { $0.key < $1.key }) where !carriedEngine.contains(name) {
      entries.append(.init(version: nil, name: name, state: .unknown, appliedAt: row.appliedAt))
    }
    return MigrationStatus(entries: entries)
  }

  /// Checksum and time of each engine file the database has applied; none before the table exists.
  private func appliedEngineRows(on connection: Connection) throws -> [String: (checksum: String, appliedAt: Date)] {
    let result: QueryResult
    do {
      result = try connection.query("SELECT name, checksum, applied_at FROM public.schema_engine")
    } catch let error as PostgresError where error.sqlstate == "42P01" {
      return [:]
    }
    var rows: [String: (checksum: String, appliedAt: Date)] = [:]
    for row in result {
      rows[try row.decode(0)] = (try row.decode(1), try row.decode(2))
    }
    return rows
  }

  /// Throws unless the database has applied exactly the migrations this binary carries.
  public func verify(on connection: Connection) throws {
    let applied = try appliedMigrations(on: connection) ?? []
    try checkApplied(applied)
    let done = Set(applied.map(\.version))
    let pending = migrations.filter { !done.contains($0.version) }
    if !pending.isEmpty { throw MigrationError.pending(files: pending.map(\.fileName)) }
    let recorded = try appliedEngineRows(on: connection)
    let differing = engine.filter { recorded[$0.name]?.checksum != $0.checksum }.map(\.fileName)
      + recorded.keys.filter { name in !engine.contains { $0.name == name } }.sorted().map { "engine/\($0).sql" }
    if !differing.isEmpty { throw MigrationError.engineDiffers(files: differing) }
  }

  /// Rows of `schema_migrations`, or nil when the table does not exist yet.
  private func appliedMigrations(on connection: Connection) throws -> [AppliedMigration]? {
    let result: QueryResult
    do {
      result = try connection.query(
        "SELECT version, name, checksum, applied_at FROM public.schema_migrations ORDER BY version")
    } catch let error as PostgresError where error.sqlstate == "42P01" {
      return nil
    }
    return try result.map { row in
      AppliedMigration(
        version: try row.decode(0), name: try row.decode(1), checksum: try row.decode(2),
        appliedAt: try row.decode(3))
    }
  }

  private func checkApplied(_ applied: [AppliedMigration]) throws {
    let carried = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
    let unknown = applied.filter { carried[$0.version] == nil }
    if !unknown.isEmpty { throw MigrationError.unknownApplied(files: unknown.map(\.fileName)) }
    if let changed = applied.first(where: { carried[$0.version]?.matches($0.checksum) != true }) {
      throw MigrationError.checksumChanged(file: changed.fileName)
    }
  }
}
