import ArgumentParser
import Custody
import Foundation

enum TransferMethod: String, CaseIterable, ExpressibleByArgument {
  case hand, secureCarrier = "secure-carrier"
}

// Time options take their next word as it is (parsing: .unconditional), so that "-1h" is refused as
// a time, naming the accepted forms, rather than read as a missing value.
let whenHelp = "YYYY-MM-DD (17:00 that day), YYYY-MM-DDTHH:MM local time, with Z, +HH:MM or -HH:MM, or +Nh / +Nd."

struct Checkout: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Take a file out of its secure base: the removal notice.",
    discussion: "You become the file's holder. Say where it will be and when it will be back.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("Where the file will be (a court, a home visit, your home base).", valueName: "text"))
  var whereabouts: String

  @Option(parsing: .unconditional, help: ArgumentHelp("When it will be back: \(whenHelp)", valueName: "when"))
  var returnBy: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    let zone = try global.zone()
    let due = try TimeInput.parse(returnBy, zone: zone, field: "--return-by")
    try perform(global, request) { api, id, _ in
      try api.checkout(request: id, label: label, whereabouts: whereabouts, returnBy: due)
    }
  }
}

struct Extend: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Give a checked-out file a new expected return.",
    discussion: "An extended file is not overdue until the new time.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(parsing: .unconditional, help: ArgumentHelp("The new return time: \(whenHelp)", valueName: "when"))
  var returnBy: String

  @Option(help: ArgumentHelp("Why it is needed for longer.", valueName: "text"))
  var reason: String?

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    let due = try TimeInput.parse(returnBy, zone: try global.zone(), field: "--return-by")
    try perform(global, request) { api, id, _ in
      try api.extend(request: id, label: label, returnBy: due, reason: reason)
    }
  }
}

struct Return: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "return",
    abstract: "Put a checked-out file back at its secure base (by its holder, or business support receiving it).")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in try api.returnFile(request: id, label: label) }
  }
}

struct Transfer: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Send a file to another secure base, by hand or by secure carrier.",
    discussion: "DEST is an office code or home:LOGIN. The receiving office sees it coming and confirms receipt.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("The destination: an office code or home:LOGIN.", valueName: "dest"))
  var to: String

  @Option(help: "hand or secure-carrier.")
  var method: TransferMethod

  @Option(parsing: .unconditional, help: ArgumentHelp("When it should arrive: \(whenHelp)", valueName: "when"))
  var expectedBy: String

  @Option(help: ArgumentHelp("The secure carrier's name (required for secure-carrier).", valueName: "name"))
  var carrier: String?

  @Option(help: ArgumentHelp("The carrier's or your reference.", valueName: "ref"))
  var reference: String?

  @Option(help: ArgumentHelp("The number of the seal on the package.", valueName: "seal"))
  var seal: String?

  @Option(help: ArgumentHelp("The member of staff carrying it by hand.", valueName: "login"))
  var courier: String?

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    let expected = try TimeInput.parse(expectedBy, zone: try global.zone(), field: "--expected-by")
    try perform(global, request) { api, id, _ in
      try api.transfer(
        request: id, label: label, destination: to, method: method.rawValue, expectedBy: expected,
        carrier: carrier, reference: reference, seal: seal, courier: courier)
    }
  }
}

struct Receive: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Confirm that a file in transit has arrived; its secure base becomes the destination.",
    discussion: "A seal that differs from the one recorded at dispatch is recorded as a discrepancy and warned about.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("The seal number on the package as it arrived.", valueName: "seal"))
  var seal: String?

  @Option(help: ArgumentHelp("A note about the receipt.", valueName: "text"))
  var note: String?

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in try api.receive(request: id, label: label, seal: seal, note: note) }
  }
}

struct CancelTransfer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel-transfer",
    abstract: "Cancel a transfer before receipt; the file is back at its origin.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("Why the transfer is cancelled.", valueName: "text"))
  var reason: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in try api.cancelTransfer(request: id, label: label, reason: reason) }
  }
}

struct Missing: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Record a file as missing: an incident for the office manager.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("What is known: where it was last seen, by whom.", valueName: "text"))
  var reason: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in try api.reportMissing(request: id, label: label, reason: reason) }
  }
}

struct Found: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Record a missing file as found, at a secure base.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @Option(help: ArgumentHelp("The secure base it is now at: an office code or home:LOGIN.", valueName: "dest"))
  var at: String

  @OptionGroup var request: RequestOptions
  @OptionGroup var global: GlobalOptions

  func run() throws {
    try perform(global, request) { api, id, _ in try api.found(request: id, label: label, at: at) }
  }
}

struct WhereaboutsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "whereabouts",
    abstract: "Where a file is now, who holds it, what is expected next, and its whole custody history.")

  @Argument(help: ArgumentHelp("The file's label.", valueName: "label"))
  var label: String

  @OptionGroup var source: ReportsSource
  @OptionGroup var global: GlobalOptions

  func run() throws {
    let (connection, writer) = try source.open(global)
    writer.show(try Lookups(connection).whereabouts(label: label))
  }
}

struct Mine: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Files you hold, files on their way to you (to your home base, or carried by you), and files at your home base.")

  @OptionGroup var source: ReportsSource
  @OptionGroup var global: GlobalOptions

  func run() throws {
    let (connection, writer) = try source.open(global)
    let entries = try Lookups(connection).mine()
    if entries.isEmpty && writer.format == .table {
      StandardError.write("custody: you hold no files, none are coming to you and none are at your home base\n")
      return
    }
    writer.show(entries)
  }
}
