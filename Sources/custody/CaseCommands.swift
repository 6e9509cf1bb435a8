import ArgumentParser
import Custody
import Postgres

enum Law: String, CaseIterable, ExpressibleByArgument {
  case `private`, `public`, adoption
}

enum Classification: String, CaseIterable, ExpressibleByArgument {
  case restricted, confidential
}

enum FileKind: String, CaseIterable, ExpressibleByArgument {
  case file, folder
}

struct CaseGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "case",
    abstract: "Open, allocate and show cases.",
    subcommands: [
      Open.self, Allocate.self, Classify.self, AddChild.self, End.self, Close.self, Reopen.self, Show.self,
    ])

  struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Open a case at an office.",
      discussion: "Children are recorded by date of birth only; give --child-born once per child.")

    @Argument(help: ArgumentHelp("Case number: upper-case letters, digits, '-' and '/'.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("The office that holds the case.", valueName: "code"))
    var office: String

    @Option(help: "private, public or adoption.")
    var law: Law

    @Option(help: "restricted (the default) or confidential (service managers and directors only).")
    var classification: Classification = .restricted

    @Option(name: .customLong("child-born"), help: ArgumentHelp("A child's date of birth, YYYY-MM-DD (repeatable).", valueName: "date"))
    var childrenBorn: [String] = []

    @Option(help: ArgumentHelp("The allocated practitioner's login.", valueName: "login"))
    var practitioner: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let born = try childrenBorn.map { try TimeInput.parseDate($0, field: "--child-born") }
      try perform(global, request) { api, id, _ in
        try api.openCase(
          request: id, number: number, office: office, law: law.rawValue,
          classification: classification.rawValue, childrenBorn: born, practitioner: practitioner)
      }
    }
  }

  struct Allocate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Allocate a case to a practitioner.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("The practitioner's login.", valueName: "login"))
    var practitioner: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.allocateCase(request: id, number: number, practitioner: practitioner)
      }
    }
  }

  struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Change a case's classification (the office's service manager, or a director).",
      discussion: "A confidential case and its files are seen only by its allocated practitioner, its office's business support and managers, and directors.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: "restricted or confidential.")
    var classification: Classification

    @Option(help: ArgumentHelp("Why; recorded with the change.", valueName: "text"))
    var reason: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in
        try api.classifyCase(request: id, number: number, classification: classification.rawValue, reason: reason)
      }
    }
  }

  struct AddChild: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add-child", abstract: "Record another child's date of birth on a case (no name is kept).")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("The child's date of birth, YYYY-MM-DD.", valueName: "date"))
    var born: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let day = try TimeInput.parseDate(born, field: "--born")
      try perform(global, request) { api, id, _ in try api.addChild(request: id, number: number, born: day) }
    }
  }

  struct End: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record the end of the agency's work: closure and the file's return are due within 28 days.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("The day the work ended, YYYY-MM-DD (default today; never in the future).", valueName: "date"))
    var on: String?

    @Option(
      name: .customLong("proceedings-ended"),
      help: ArgumentHelp("The day court proceedings ended, YYYY-MM-DD (default the same day).", valueName: "date"))
    var proceedingsEnded: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let zone = try global.zone()
      let day = try on.map { try TimeInput.parseDate($0, field: "--on") } ?? zone.today()
      let proceedings = try proceedingsEnded.map { try TimeInput.parseDate($0, field: "--proceedings-ended") }
      try perform(global, request) { api, id, _ in
        try api.endCase(request: id, number: number, on: day, proceedingsEnded: proceedings)
      }
    }
  }

  struct Close: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record the case's closure; refused unless every volume is at its secure base and a child's date of birth is known.",
      discussion: "Closure starts the retention clock: the record is kept until the youngest child is 22.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("The day of closure, YYYY-MM-DD (default today; never in the future).", valueName: "date"))
    var on: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let zone = try global.zone()
      let day = try on.map { try TimeInput.parseDate($0, field: "--on") } ?? zone.today()
      try perform(global, request) { api, id, _ in try api.closeCase(request: id, number: number, on: day) }
    }
  }

  struct Reopen: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Reopen an ended or closed case; it loses its destruction date and can end and close again.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @Option(help: ArgumentHelp("Why it is reopened.", valueName: "text"))
    var reason: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in try api.reopenCase(request: id, number: number, reason: reason) }
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a case, its volumes and where each one is.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "number"))
    var number: String

    @OptionGroup var source: ReportsSource
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try source.open(global)
      writer.show(try Lookups(connection).caseSummary(number: number))
    }
  }
}

struct FileGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "file",
    abstract: "Register the physical volumes of a case file.",
    subcommands: [Register.self])

  struct Register: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Register a volume of a case's file at the case's office; prints its label.",
      discussion: """
        The label is OFFICE-NNNNNN unless --label gives one. A folder is the simple cardboard folder \
        allowed for adoption reporting-officer work and private law work up to the first hearing.
        """)

    @Argument(help: ArgumentHelp("Case number.", valueName: "case"))
    var caseNumber: String

    @Option(help: ArgumentHelp("Volume number (default: the next one).", valueName: "n"))
    var volume: String?

    @Option(help: "file (the default) or folder.")
    var kind: FileKind = .file

    @Option(help: ArgumentHelp("A label of your own: upper-case letters, digits, '-' and '/'.", valueName: "label"))
    var label: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let number = try volume.map { text in
        guard let value = Int(text) else {
          throw CustodyError.invalidValue("--volume '\(text)' is not a number")
        }
        return value
      }
      try perform(global, request) { api, id, _ in
        try api.registerFile(request: id, caseNumber: caseNumber, volume: number, kind: kind.rawValue, label: label)
      }
    }
  }
}
