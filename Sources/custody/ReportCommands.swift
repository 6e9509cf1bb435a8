import ArgumentParser
import Custody
import Foundation

/// Options every report takes.
struct ReportOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Only this office.", valueName: "code"))
  var office: String?

  @Option(
    name: .customLong("as-of"), parsing: .unconditional,
    help: ArgumentHelp("Evaluate every deadline at this instant instead of now: \(whenHelp)", valueName: "when"))
  var asOf: String?

  @OptionGroup var source: ReportsSource
  @OptionGroup var global: GlobalOptions

  func run(_ name: String, since: String? = nil) throws {
    guard let report = Report.all[name] else { throw CustodyError.usage("no report \(name)") }
    let zone = try global.zone()
    let instant = try asOf.map { try TimeInput.parse($0, zone: zone, field: "--as-of") } ?? Date()
    let start = try since.map { try TimeInput.parse($0, zone: zone, field: "--since") }
    let (connection, writer) = try source.open(global)
    if let office { try Lookups(connection).requireOffice(office) }
    let rows = try report.run(on: connection, office: office, asOf: instant, since: start, to: writer)
    if rows == 0 && writer.format == .table {
      StandardError.write("custody: \(report.empty)\(office.map { " at \($0)" } ?? "")\n")
    }
  }
}

struct ReportGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "The office manager's reports: what is overdue, out, in transit, coming, and how each office stands.",
    discussion: "Each shows only what you may see. --office CODE limits it to one office; --as-of WHEN evaluates it at another instant.",
    subcommands: [
      Overdue.self, Out.self, Transit.self, Arrivals.self, Summary.self, Closures.self, Destruction.self,
      MissingFiles.self, Incidents.self,
    ])

  struct Incidents: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Breaches, newest first: files gone missing, seal discrepancies, late receipts, files returned overdue.")
    @Option(
      parsing: .unconditional,
      help: ArgumentHelp("Only incidents from this instant on: \(whenHelp)", valueName: "when"))
    var since: String?
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("incidents", since: since) }
  }

  struct MissingFiles: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "missing",
      abstract: "Files recorded missing: since when, who reported it and why, and who last held each.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("missing") }
  }

  struct Overdue: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Checked-out files past their return time, most overdue first.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("overdue") }
  }

  struct Out: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every checked-out file, overdue or not.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("out") }
  }

  struct Transit: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Transfers dispatched and not received, to or from the office; late ones flagged.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("transit") }
  }

  struct Arrivals: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Transfers coming to the office, soonest first.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("arrivals") }
  }

  struct Closures: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Ended cases whose closure (due 28 days after the end of the work) is due or overdue.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("closures") }
  }

  struct Destruction: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Cases and police information due for destruction (or review), with holds shown.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("destruction") }
  }

  struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "One row per office: at base, checked out, overdue, in transit, late, missing, closures overdue.")
    @OptionGroup var options: ReportOptions
    func run() throws { try options.run("summary") }
  }
}
