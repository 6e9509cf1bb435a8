import ArgumentParser
import Custody
import Postgres

struct Migrate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Apply pending schema migrations (a superuser, the database owner or an admin role).",
    discussion: """
      The migrations are built into this binary; no source checkout is needed. Each is applied \
      with its schema_migrations row in one transaction, under an advisory lock, so concurrent \
      runs apply each migration once. An applied migration that has changed, or that this binary \
      does not carry, stops with exit 78. Then the engine's code (engine/*.sql: functions, \
      policies, grants) is applied again whenever a file of it changed, in the same transaction, \
      with its checksums in schema_engine.

      Whoever runs it, the custody schema, its tables and functions end up owned by a role that \
      row-level security binds: the schema's owner when it is neither a superuser nor BYPASSRLS, \
      else the role running migrate when it is neither, else the role custody_owner (NOLOGIN, \
      created here). A database migrated earlier by a superuser is repaired by the next run. \
      --status shows that owner and whether the install is sound.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "List the migrations and the engine's files (applied, pending, changed), the owner, and whether the install is sound.")
  var status = false

  func run() throws {
    let writer = try global.writer()
    let connection = try global.target.connect()
    if status {
      let entries = try Schema.migrator.status(on: connection).entries
      let install = try InstallState.loadIfMigrated(connection)
      try show(entries, install, writer)
      if let install { try install.requireSound() }
      return
    }
    try refuseMaintenanceDatabase(connection)
    let applied = try Schema.migrate(
      on: connection,
      waiting: { StandardError.write("custody: another migrate is running; waiting for it to finish\n") },
      applying: { StandardError.write("custody: applying \($0.fileName)\n") },
      applyingEngine: { StandardError.write("custody: applying the engine: \($0.map(\.fileName).joined(separator: ", "))\n") })
    let install = try InstallState.load(connection)
    writer.record([
      ("applied", .integer(applied.count)),
      ("schema_version", .integer(Schema.migrations.last?.version)),
      ("owner", .text(install.owner)),
      ("sound", .boolean(install.sound)),
    ])
    try install.requireSound()
  }

  /// The cluster's own databases are no place for the record: a first migrate there is refused.
  private func refuseMaintenanceDatabase(_ connection: Connection) throws {
    let row = try connection.query(
      "SELECT current_database()::text, to_regnamespace('custody') IS NOT NULL").first
    guard let name = try row?.decode(0, as: String.self), try row?.decode(1, as: Bool.self) == false,
      ["postgres", "template0", "template1"].contains(name)
    else { return }
    throw CustodyError.configuration(
      "refusing to install custody into \(name), the cluster's maintenance database",
      hint: "create a database for it ('createdb custody') and point --database-url or PGDATABASE at it")
  }

  /// The migrations, then the owner, soundness and problems (JSON: one object holding all four).
  private func show(_ entries: [MigrationStatus.Entry], _ install: InstallState?, _ writer: ResultWriter) throws {
    let rows: [[(String, Cell)]] = entries.map { entry in
      [
        ("kind", .text(entry.kind)), ("version", .integer(entry.version)), ("name", .text(entry.name)),
        ("state", .text(entry.state.rawValue)), ("applied_at", .instant(entry.appliedAt)),
      ]
    }
    switch writer.format {
    case .json:
      writer.document(
        .object([
          ("owner", install?.owner.map(JSON.string) ?? .null),
          ("sound", install.map { .bool($0.sound) } ?? .null),
          ("problems", .array((install?.problems ?? []).map(JSON.string))),
          ("migrations", .array(rows.map { row in .object(row.map { ($0.0, writer.json($0.1)) }) })),
        ]))
    case .csv, .table:
      writer.begin(columns: rows.first?.map(\.0) ?? ["kind", "version", "name", "state", "applied_at"])
      for row in rows { writer.write(row: row.map(\.1)) }
      writer.end()
      guard writer.format == .table, let install else { return }
      writer.text("\nowner: \(install.owner ?? "-")\nsound: \(install.sound ? "yes" : "no")\n")
      for problem in install.problems { writer.text("problem: \(problem)\n") }
    }
  }
}
