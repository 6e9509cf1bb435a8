import Crypto
import Foundation

/// One schema change: `migrations/NNNN_name.sql`, identified by its version and checksummed.
public struct Migration: Sendable {
  public let version: Int
  public let name: String
  public let sql: String
  /// SHA-256 of the file's bytes, in lower-case hex.
  public let checksum: String

  public init(version: Int, name: String, sql: String) {
    self.version = version
    self.name = name
    self.sql = sql
    self.checksum = SHA256.hash(data: Data(sql.utf8)).map { pad(Int($0), 2, radix: 16) }.joined()
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
    public let version: Int
    public let name: String
    public let state: State
    public let appliedAt: Date?
    public var fileName: String { Migration.fileName(version: version, name: name) }
  }

  public let entries: [Entry]
}

/// Applies migrations in order, each with its `schema_migrations` row in one transaction,
/// under an advisory lock so that concurrent runs apply each migration exactly once.
public struct Migrator: Sendable {
  public let migrations: [Migration]

  /// Key of the advisory lock that serialises migration runs on a database.
  static let lockKey: Int64 = 0x6375_7374_6f64_79  // "custody"

  public init(_ migrations: [Migration]) {
    self.migrations = migrations.sorted { $0.version < $1.version }
  }

  /// Applies every pending migration and returns those it applied.
  ///
  /// - Parameters:
  ///   - waiting: called once if another run holds the lock and this one has to wait.
  ///   - applying: called before each migration is applied.
  ///   - settle: run at the end of each migration's transaction, or in a transaction of its own
  ///     when nothing is pending, so that what it puts right commits with the migrations.
  @discardableResult
  public func migrate(
    on connection: Connection, waiting: () -> Void = {}, applying: (Migration) -> Void = { _ in },
    settle: (Connection) throws -> Void = { _ in }
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
      """)
    let applied = try appliedMigrations(on: connection) ?? []
    try checkApplied(applied)
    let done = Set(applied.map(\.version))
    var appliedNow: [Migration] = []
    for migration in migrations where !done.contains(migration.version) {
      applying(migration)
      try connection.withTransaction {
        for statement in SQLScript.statements(in: migration.sql) {
          do {
            try connection.executeTrustedScript(statement.text)
          } catch let error as PostgresError {
            let line = error.position.map(statement.line(atPosition:)) ?? statement.keywordLine
            throw MigrationError.statementFailed(file: migration.fileName, line: line, error: error)
          }
        }
        try settle(connection)
        try connection.query(
          "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
          [migration.version, migration.name, migration.checksum])
      }
      appliedNow.append(migration)
    }
    if appliedNow.isEmpty {
      try connection.withTransaction { try settle(connection) }
    }
    return appliedNow
  }

  /// Each migration this binary carries or the database has applied, and its state.
  public func status(on connection: Connection) throws -> MigrationStatus {
    let applied = try appliedMigrations(on: connection) ?? []
    let carried = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
    var entries: [MigrationStatus.Entry] = applied.map { row in
      let state: MigrationStatus.State
      if let migration = carried[row.version] {
        state = migration.checksum == row.checksum ? .applied : .changed
      } else {
        state = .unknown
      }
      return .init(version: row.version, name: row.name, state: state, appliedAt: row.appliedAt)
    }
    let done = Set(applied.map(\.version))
    entries += migrations.filter { !done.contains($0.version) }.map {
      .init(version: $0.version, name: $0.name, state: .pending, appliedAt: nil)
    }
    return MigrationStatus(entries: entries.sorted { $0.version < $1.version })
  }

  /// Throws unless the database has applied exactly the migrations this binary carries.
  public func verify(on connection: Connection) throws {
    let applied = try appliedMigrations(on: connection) ?? []
    try checkApplied(applied)
    let done = Set(applied.map(\.version))
    let pending = migrations.filter { !done.contains($0.version) }
    if !pending.isEmpty { throw MigrationError.pending(files: pending.map(\.fileName)) }
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
    if let changed = applied.first(where: { carried[$0.version]?.checksum != $0.checksum }) {
      throw MigrationError.checksumChanged(file: changed.fileName)
    }
  }
}
