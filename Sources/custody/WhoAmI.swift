import ArgumentParser
import Custody
import Postgres

struct WhoAmI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "whoami",
    abstract: "Show the login you act as, your role and office, the database, its schema version and its owner.",
    discussion: """
      Also shows who owns the custody engine and whether the install is sound (row-level security \
      binds the custody API); an unsound install is shown, then refused with exit 78.
      """)

  @OptionGroup var global: GlobalOptions

  func run() throws {
    let writer = try global.writer()
    let connection = try global.target.connectVerified(zone: writer.zone)
    let install = try DatabaseTarget.installState(connection)
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
    let fields: [(String, Cell)] = [
      ("login", .text(try row?.decodeIfPresent(0))),
      ("name", .text(try row?.decodeIfPresent(1))),
      ("role", .text(try row?.decodeIfPresent(2))),
      ("office", .text(try row?.decodeIfPresent(3))),
      ("home_base", .text(try row?.decodeIfPresent(4))),
      ("database", .text(try row?.decodeIfPresent(5))),
      ("server_version", .text(try row?.decodeIfPresent(6))),
      ("schema_version", .integer(try row?.decodeIfPresent(7))),
      ("owner", .text(install.owner)),
      ("sound", .boolean(install.sound)),
    ]
    if writer.format == .json {
      writer.document(
        .object(fields.map { ($0.0, writer.json($0.1)) } + [("problems", .array(install.problems.map(JSON.string)))]))
    } else {
      writer.record(fields + install.problems.map { ("problem", .text($0)) })
    }
    try install.requireSound()
  }
}
