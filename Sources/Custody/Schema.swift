import Postgres

/// The database schema this binary was built with.
public enum Schema {
  /// Every migration in `migrations/`, embedded at build time.
  public static let migrations: [Migration] = Migration.embedded

  /// The engine's code, `engine/*.sql`, embedded at build time.
  public static let engine: [EngineFile] = EngineFile.embedded

  public static let migrator = Migrator(migrations, engine: engine)

  /// Applies the pending migrations and leaves the engine owned by a role that row-level
  /// security binds (`InstallState.settle`), whoever runs it.
  @discardableResult
  public static func migrate(
    on connection: Connection, waiting: () -> Void = {}, applying: (Migration) -> Void = { _ in },
    applyingEngine: ([EngineFile]) -> Void = { _ in }
  ) throws -> [Migration] {
    try migrator.migrate(
      on: connection, waiting: waiting, applying: applying, applyingEngine: applyingEngine,
      settle: InstallState.settle)
  }
}
