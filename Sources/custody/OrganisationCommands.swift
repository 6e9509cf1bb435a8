import ArgumentParser
import Custody

enum StaffRole: String, CaseIterable, ExpressibleByArgument {
  case practitioner, familySupportWorker = "family-support-worker", businessSupport = "business-support"
  case officeManager = "office-manager", serviceManager = "service-manager", director
}

enum Employment: String, CaseIterable, ExpressibleByArgument {
  case employed, selfEmployed = "self-employed", agency, bank
}

struct OfficeGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "office",
    abstract: "Add and list the agency's offices.",
    subcommands: [Add.self, List.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add an office: a secure base for case files (database owner or director).")

    @Argument(help: ArgumentHelp("Office code: 2-8 upper-case letters or digits.", valueName: "code"))
    var code: String

    @Option(help: "The office's name.")
    var name: String

    @Option(help: "The office's email address.")
    var email: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.addOffice(request: id, code: code, name: name, email: email)
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the offices.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      try Lookups(connection).list(
        "SELECT code, name, email FROM custody.office ORDER BY code",
        columns: [("code", .text), ("name", .text), ("email", .text)], to: writer)
    }
  }
}

struct StaffGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "staff",
    abstract: "Add and list members of staff and their logins.",
    subcommands: [Add.self, List.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add a member of staff and their PostgreSQL login (database owner, director, or the office's manager).",
      discussion: """
        Creates the login role LOGIN and puts it in the group role of ROLE. --home-based gives the \
        person a secure base at home, home:LOGIN. The database owner and directors add anyone; an \
        office manager adds practitioners, family support workers and business support to their \
        own office. A PostgreSQL role that already exists (one your DBA made with a password or \
        Kerberos principal) becomes a staff login only with --adopt-login, from the owner or a \
        director, and only if it is a plain login.
        """)

    @Argument(help: ArgumentHelp("Their PostgreSQL login: lower-case letters, digits, '_', '.', '-'.", valueName: "login"))
    var login: String

    @Option(help: "Their full name.")
    var name: String

    @Option(help: "Their role: practitioner, family-support-worker, business-support, office-manager, service-manager or director.")
    var role: StaffRole

    @Option(help: ArgumentHelp("The office they belong to.", valueName: "code"))
    var office: String

    @Option(help: "employed, self-employed, agency or bank.")
    var employment: Employment = .employed

    @Flag(help: "They keep files at a secure base at home (home:LOGIN).")
    var homeBased = false

    @Option(help: "Their email address.")
    var email: String?

    @Flag(help: "LOGIN is an existing PostgreSQL role: make it their staff login (database owner or director).")
    var adoptLogin = false

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.addStaff(
          request: id, login: login, name: name, role: role.rawValue, office: office,
          employment: employment.rawValue, homeBased: homeBased, email: email, adoptLogin: adoptLogin)
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List members of staff.")

    @Option(help: ArgumentHelp("Only this office's staff.", valueName: "code"))
    var office: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      if let office { try Lookups(connection).requireOffice(office) }
      try Lookups(connection).list(
        """
        SELECT login, name, role, office, employment, home_based, email FROM custody.staff
         WHERE $1::text IS NULL OR office = $1 ORDER BY office, login
        """, [office],
        columns: [
          ("login", .text), ("name", .text), ("role", .text), ("office", .text), ("employment", .text),
          ("home_based", .boolean), ("email", .text),
        ], to: writer)
    }
  }
}
