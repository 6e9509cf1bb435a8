import ArgumentParser
import Custody

extension OutputFormat: ExpressibleByArgument {}

/// Options every command takes (CLI.md, "Global options").
struct GlobalOptions: ParsableArguments {
  @Option(
    name: .customLong("database-url"),
    help: ArgumentHelp(
      "libpq connection URI or key=value string.",
      discussion: "Default: CUSTODY_DATABASE_URL, else libpq's own defaults (PGHOST, PGUSER, PGSERVICE, ~/.pgpass).",
      valueName: "url"))
  var databaseURL: String?

  @Option(help: "Output format: table, csv (RFC 4180) or json.")
  var format: OutputFormat = .table

  @Option(
    name: .customLong("tz"),
    help: ArgumentHelp(
      "IANA time zone for reading and showing local times (default: CUSTODY_TZ, else Europe/London).",
      valueName: "zone"))
  var zoneName: String?

  var target: DatabaseTarget { DatabaseTarget(option: databaseURL) }

  func zone() throws -> Zone { try Zone(option: zoneName) }

  func writer() throws -> ResultWriter { ResultWriter(format: format, zone: try zone()) }
}
