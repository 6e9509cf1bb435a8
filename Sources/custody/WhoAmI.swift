import ArgumentParser
import Custody
import Postgres

struct WhoAmI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "whoami",
    abstract: "Show the login you act as, the database and its schema version.")

  @OptionGroup var global: GlobalOptions

  func run() throws {
    let (connection, writer) = try global.open()
    let row = try connection.query(
      """
      SELECT session_user::text, current_database()::text, current_setting('server_version'),
             (SELECT max(version) FROM public.schema_migrations)
      """
    ).first
    writer.record([
      ("login", .text(try row?.decodeIfPresent(0))),
      ("database", .text(try row?.decodeIfPresent(1))),
      ("server_version", .text(try row?.decodeIfPresent(2))),
      ("schema_version", .integer(try row?.decodeIfPresent(3))),
    ])
  }
}
