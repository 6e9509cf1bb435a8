import Postgres

/// The database schema this binary was built with.
public enum Schema {
  /// Every migration in `migrations/`, embedded at build time.
  public static let migrations: [Migration] = Migration.embedded

  public static let migrator = Migrator(migrations)
}
