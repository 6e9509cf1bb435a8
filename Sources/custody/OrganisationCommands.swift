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
    abstract: "Add, list, change and deactivate members of staff and their logins.",
    subcommands: [Add.self, List.self, Deactivate.self, Change.self])

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

  struct Deactivate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "A leaver: their login can no longer connect or act (a director, or the office's manager).",
      discussion: """
        Makes the login NOLOGIN and takes it out of its staff group role; the record keeps who they \
        were. Refused while they hold files, or files are kept at or coming to their home base (the \
        message lists them), unless --force, which leaves those removals open under their name, \
        listed in 'report out'. Directors deactivate anyone; an office manager the practitioners, \
        family support workers and business support of their own office.
        """)

    @Argument(help: ArgumentHelp("The leaver's login.", valueName: "login"))
    var login: String

    @Option(help: "Why (they left the agency, say).")
    var reason: String

    @Flag(help: "Deactivate although files are still in their keeping; those stay open under their name.")
    var force = false

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.deactivateStaff(request: id, login: login, reason: reason, force: force)
      }
    }
  }

  struct Change: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a member of staff to another role or office, or open or close their home base (directors).",
      discussion: """
        --role changes their staff group role; --office moves them to another office (a home base \
        goes with them once no files are kept at or coming to it); --home-based gives them a secure \
        base at home (home:LOGIN), --office-based closes it once it keeps no files.
        """)

    @Argument(help: ArgumentHelp("Their login.", valueName: "login"))
    var login: String

    @Option(help: "Their new role: practitioner, family-support-worker, business-support, office-manager, service-manager or director.")
    var role: StaffRole?

    @Option(help: ArgumentHelp("The office they move to.", valueName: "code"))
    var office: String?

    @Flag(help: "They keep files at a secure base at home (home:LOGIN).")
    var homeBased = false

    @Flag(help: "They no longer keep files at home: their home base closes.")
    var officeBased = false

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
      if homeBased && officeBased { throw ValidationError("give --home-based or --office-based, not both") }
      if role == nil && office == nil && !homeBased && !officeBased {
        throw ValidationError("give what changes: --role, --office, --home-based or --office-based")
      }
    }

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.changeStaff(
          request: id, login: login, role: role?.rawValue, office: office,
          homeBased: homeBased ? true : officeBased ? false : nil)
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List members of staff, with those who have left.")

    @Option(help: ArgumentHelp("Only this office's staff.", valueName: "code"))
    var office: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      if let office { try Lookups(connection).requireOffice(office) }
      try Lookups(connection).list(
        """
        SELECT login, name, role, office, employment, home_based, email, deactivated_at FROM custody.staff
         WHERE $1::text IS NULL OR office = $1 ORDER BY office, login
        """, [office],
        columns: [
          ("login", .text), ("name", .text), ("role", .text), ("office", .text), ("employment", .text),
          ("home_based", .boolean), ("email", .text), ("deactivated_at", .instant),
        ], to: writer)
    }
  }
}
