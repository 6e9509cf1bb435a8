import ArgumentParser
import Custody

struct PoliceInfoGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "police-info",
    abstract: "Police information held on a case's file, destroyed after 18 months or at the end of proceedings.",
    discussion: "Whichever is sooner, unless the police permit longer (policy 8.3).",
    subcommands: [Add.self, Permit.self, Destroy.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record police information on a case; prints its id.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "case"))
    var caseNumber: String

    @Option(help: ArgumentHelp("The day it was received, YYYY-MM-DD.", valueName: "date"))
    var received: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let day = try TimeInput.parseDate(received, field: "--received")
      try perform(global, request) { api, id, _ in
        try api.addPoliceInfo(request: id, caseNumber: caseNumber, received: day)
      }
    }
  }

  struct Permit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record the police's permission to keep it until a date.")

    @Argument(help: ArgumentHelp("The police information's id.", valueName: "id"))
    var item: String

    @Option(help: ArgumentHelp("Kept until this day, YYYY-MM-DD.", valueName: "date"))
    var until: String

    @Option(help: ArgumentHelp("The police's reference for the permission.", valueName: "ref"))
    var reference: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let number = try policeInfoID(item)
      let day = try TimeInput.parseDate(until, field: "--until")
      try perform(global, request) { api, id, _ in
        try api.permitPoliceInfo(request: id, item: number, until: day, reference: reference)
      }
    }
  }

  struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Destroy police information that is due, before a witness; refused before it is due or under a hold.")

    @Argument(help: ArgumentHelp("The police information's id.", valueName: "id"))
    var item: String

    @Option(help: ArgumentHelp("Another member of staff who witnesses it.", valueName: "login"))
    var witness: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let number = try policeInfoID(item)
      try perform(global, request) { api, id, _ in try api.destroyPoliceInfo(request: id, item: number, witness: witness) }
    }
  }
}

func policeInfoID(_ text: String) throws -> Int64 {
  guard let value = Int64(text), value > 0 else {
    throw CustodyError.invalidValue("'\(text)' is not a police information id")
  }
  return value
}

struct HoldGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hold",
    abstract: "Holds (a serious case review, an inquiry, litigation) block every destruction on a case.",
    subcommands: [Place.self, Release.self])

  struct Place: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Place a hold on a case.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "case"))
    var caseNumber: String

    @Option(help: ArgumentHelp("Why: the review, inquiry or litigation.", valueName: "text"))
    var reason: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in try api.placeHold(request: id, number: caseNumber, reason: reason) }
    }
  }

  struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release a case's hold.")

    @Argument(help: ArgumentHelp("Case number.", valueName: "case"))
    var caseNumber: String

    @Option(help: ArgumentHelp("Why the hold ends.", valueName: "text"))
    var reason: String

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try perform(global, request) { api, id, _ in try api.releaseHold(request: id, number: caseNumber, reason: reason) }
    }
  }
}

struct DestroyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "destroy",
    abstract: "Destroy one volume, before a witness, with a certificate.",
    discussion: """
      Refused unless the case is closed, its retention (until the youngest child is 22) has passed, \
      no hold is active and the file is at its secure base. The record keeps the destruction.
      """)

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("Another member of staff who witnesses it.", valueName: "login"))
  var witness: String

  @Option(help: ArgumentHelp("The destruction certificate's reference.", valueName: "ref"))
  var certificate: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in
      try api.destroy(request: id, label: label, witness: witness, certificate: certificate)
    }
  }
}
