import ArgumentParser
import Custody
import Postgres

struct WhoAmI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "whoami",
    abstract: "Show the login you act as, your role and office, the database and its schema version.")

  @OptionGroup var global: GlobalOptions

  func run() throws {
    let (connection, writer) = try global.open()
    let row = try connection.query(
      """
      SELECT session_user::text, s.name, s.role, s.office, b.id,
             current_database()::text, current_setting('server_version'),
             (SELECT max(version) FROM public.schema_migrations)
        FROM (SELECT) AS one
        LEFT JOIN custody.staff s ON s.login = custody.session_login()
        LEFT JOIN custody.secure_base b ON b.home_of = s.login
      """
    ).first
    writer.record([
      ("login", .text(try row?.decodeIfPresent(0))),
      ("name", .text(try row?.decodeIfPresent(1))),
      ("role", .text(try row?.decodeIfPresent(2))),
      ("office", .text(try row?.decodeIfPresent(3))),
      ("home_base", .text(try row?.decodeIfPresent(4))),
      ("database", .text(try row?.decodeIfPresent(5))),
      ("server_version", .text(try row?.decodeIfPresent(6))),
      ("schema_version", .integer(try row?.decodeIfPresent(7))),
    ])
  }
}
