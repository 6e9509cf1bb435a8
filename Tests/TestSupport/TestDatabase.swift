import Custody
import Foundation
import Postgres
import Synchronization

/// A throwaway database on the test cluster, dropped when the test ends.
///
/// The cluster is found the way libpq finds it: `CUSTODY_TEST_CONNINFO` (a `key=value`
/// string), else libpq's environment (PGHOST, PGPORT, PGUSER: `scripts/test` sets them),
/// else the private cluster of `scripts/dev-db` in this checkout. The connecting role must
/// be able to create databases and roles.
public struct TestDatabase: Sendable {
  public let name: String

  /// Who ran `migrate`: the two installs users make.
  public enum Install: String, CaseIterable, Sendable {
    /// A database owner that is not a superuser (`custody_test_owner`).
    case owner
    /// The cluster's superuser, as most DBAs do.
    case superuser

    /// `CUSTODY_TEST_INSTALL`, else `owner`: the install of tests that do not name one.
    public static let standard: Install =
      ProcessInfo.processInfo.environment["CUSTODY_TEST_INSTALL"].flatMap(Install.init(rawValue:)) ?? .owner

  }

  public let install: Install

  /// Where its cluster is, as the start of a connection string: the test cluster, unless the test
  /// made a cluster of its own (`PrivateCluster`).
  public let cluster: String

  public init(name: String, install: Install, cluster: String = TestDatabase.base) {
    self.name = name
    self.install = install
    self.cluster = cluster
  }

  /// The login that migrated this database and acts as its DBA in tests.
  public var installer: String { install == .owner ? Self.ownerRole : Self.superuser }

  /// The random part of the name; test logins end with it.
  public var suffix: String { String(name.split(separator: "_").last ?? "") }

  /// Role that owns each test database and runs its migrations: not a superuser.
  public static let ownerRole = "custody_test_owner"

  /// A `key=value` connection string for this database as `user` (the installer by default).
  public func conninfo(user: String? = nil) -> String {
    Self.conninfo(cluster: cluster, database: name, user: user ?? installer)
  }

  /// Connects to this database as `user` (the installer by default).
  public func connect(user: String? = nil) throws -> Connection {
    try Connection(conninfo(user: user))
  }

  /// Runs `body` with a new database: migrated from a template by default, or empty.
  public static func with<T>(
    migrated: Bool = true, install: Install = .standard, _ body: (TestDatabase) throws -> T
  ) throws -> T {
    let database = try create(migrated: migrated, install: install)
    defer { database.drop() }
    return try body(database)
  }

  /// Runs async `body` with a new database, dropped afterwards.
  public static func withAsync<T>(
    migrated: Bool = true, install: Install = .standard, _ body: (TestDatabase) async throws -> T
  ) async throws -> T {
    let database = try create(migrated: migrated, install: install)
    defer { database.drop() }
    return try await body(database)
  }

  // MARK: - Cluster

  /// Where the cluster is, spelled out so that child processes need no PG variables.
  public static let base: String = {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["CUSTODY_TEST_CONNINFO"] { return explicit }
    if let host = environment["PGHOST"], !host.isEmpty {
      var parts = ["host='\(host)'"]
      if let port = environment["PGPORT"], !port.isEmpty { parts.append("port='\(port)'") }
      if let user = environment["PGUSER"], !user.isEmpty { parts.append("user='\(user)'") }
      return parts.joined(separator: " ")
    }
    return "host='\(Released.root.path)/.custody/run' user=postgres"
  }()

  static func conninfo(cluster: String = base, database: String, user: String? = nil) -> String {
    var parts = [cluster, "dbname='\(database)'"]
    if let user { parts.append("user='\(user)'") }
    return parts.joined(separator: " ")
  }

  /// A connection string for any database on the test cluster, as the cluster's admin user.
  public static func conninfoForTests(database: String) -> String { conninfo(database: database) }

  /// A superuser connection to the cluster's `postgres` database.
  public static func admin() throws -> Connection {
    do {
      return try Connection(conninfo(database: "postgres"))
    } catch let error as PostgresError {
      throw TestSetupError(
        """
        cannot reach the test PostgreSQL (\(error.message)). Run scripts/test, or start the \
        private cluster with 'scripts/dev-db start' and run 'eval "$(scripts/dev-db env)"' first.
        """)
    }
  }

  /// The cluster's superuser: the user the test cluster's connection string names.
  public static let superuser: String = {
    (try? admin().query("SELECT current_user::text").first?.decode(0, as: String.self)) ?? "postgres"
  }()

  private static let templates = Mutex<[Install: String]>([:])
  private static let ownerReady = Mutex(false)

  private static func create(migrated: Bool, install: Install) throws -> TestDatabase {
    let admin = try admin()
    try ownerReady.withLock { ready in
      if !ready { try ensureOwnerRole(admin) }
      ready = true
    }
    let source = migrated ? try migratedTemplate(admin, install: install) : "template0"
    return try make(on: admin, install: install, template: source)
  }

  /// A new database on the cluster `admin` is connected to, a copy of `template`, owned by its installer.
  static func make(on admin: Connection, install: Install, template: String, cluster: String = base) throws
    -> TestDatabase
  {
    let database = TestDatabase(
      name: "custody_t_" + UUID().uuidString.prefix(8).lowercased(), install: install, cluster: cluster)
    try admin.executeTrustedScript(
      "CREATE DATABASE \(database.name) OWNER \(database.installer) TEMPLATE \(template) ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
    return database
  }

  /// Drops the database and the logins made for it.
  public func drop() {
    guard let admin = try? TestDatabase.admin() else { return }
    try? admin.executeTrustedScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    let logins = (try? admin.query("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", ["%\\_\(suffix)"])
      .map { try $0.decode(0, as: String.self) }) ?? []
    for login in logins {
      try? admin.executeTrustedScript("DROP ROLE IF EXISTS \"\(login)\"")
    }
  }

  /// A database migrated to this binary's schema, created once per schema and copied per test.
  private static func migratedTemplate(_ admin: Connection, install: Install) throws -> String {
    try templates.withLock { cached in
      if let name = cached[install] { return name }
      // Named after the install and the newest migration; verify() catches an older one that changed.
      let newest = Schema.migrations.last
      let engine = Migration.checksum(of: Schema.engine.map(\.checksum).joined())
      let name = "custody_tpl_\(install.rawValue)_\(newest?.version ?? 0)_" + (newest?.checksum.prefix(8) ?? "empty")
        + "_" + engine.prefix(8)
      let installer = TestDatabase(name: name, install: install).installer
      let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]).count == 1
      if exists, (try? verify(name, installer)) == nil {
        try admin.executeTrustedScript("DROP DATABASE \(name) WITH (FORCE)")
      }
      if !exists || (try? verify(name, installer)) == nil {
        try admin.executeTrustedScript(
          "CREATE DATABASE \(name) OWNER \(installer) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        try Schema.migrate(on: try Connection(conninfo(database: name, user: installer)))
      }
      cached[install] = name
      return name
    }
  }

  private static func verify(_ name: String, _ installer: String) throws {
    let connection = try Connection(conninfo(database: name, user: installer))
    try Schema.migrator.verify(on: connection)
    try InstallState.load(connection).requireSound()
  }

  static func ensureOwnerRole(_ admin: Connection) throws {
    let exists = try admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ownerRole]).count == 1
    if !exists {
      do {
        try admin.executeTrustedScript("CREATE ROLE \(ownerRole) LOGIN CREATEROLE")
      } catch let error as PostgresError where error.sqlstate == "23505" || error.sqlstate == "42710" {
        // Created meanwhile by another test process.
      }
    }
  }
}

/// The test cluster is missing or misconfigured; the message says how to fix it.
public struct TestSetupError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
