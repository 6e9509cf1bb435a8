import ArgumentParser
import Custody
import Postgres

struct Migrate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Apply pending schema migrations (run as the database owner).",
    discussion: """
      The migrations are built into this binary; no source checkout is needed. Each is applied \
      with its schema_migrations row in one transaction, under an advisory lock, so concurrent \
      runs apply each migration once. An applied migration that has changed, or that this binary \
      does not carry, stops with exit 78.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "List applied and pending migrations instead of applying them.")
  var status = false

  func run() throws {
    let writer = try global.writer()
    let connection = try global.target.connect()
    if status {
      writer.begin(columns: ["version", "name", "state", "applied_at"])
      for entry in try Schema.migrator.status(on: connection).entries {
        writer.write(row: [
          .integer(entry.version), .text(entry.name), .text(entry.state.rawValue), .instant(entry.appliedAt),
        ])
      }
      writer.end()
      return
    }
    let applied = try Schema.migrator.migrate(
      on: connection,
      waiting: { StandardError.write("custody: another migrate is running; waiting for it to finish\n") },
      applying: { StandardError.write("custody: applying \($0.fileName)\n") })
    writer.record([
      ("applied", .integer(applied.count)),
      ("schema_version", .integer(Schema.migrations.last?.version)),
    ])
  }
}
