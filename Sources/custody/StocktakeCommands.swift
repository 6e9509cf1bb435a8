import ArgumentParser
import Custody
import Foundation
import Postgres

struct StocktakeGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stocktake",
    abstract: "Count what is at a secure base against what the record says is there (policy 4.3).",
    discussion: """
      A stocktake freezes the files the record has at the base when it starts; scan each file found \
      there (a barcode scanner types a label and Enter), then finish it to see what needs a person: \
      files not seen, files out of place and scans that name no file you may see. A stocktake changes \
      no file's state: settle what it finds with return, found, missing and receive. Business support, \
      office managers and service managers of the office, and directors, hold stocktakes.
      """,
    subcommands: [Start.self, Scan.self, Finish.self, Show.self])

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Open a stocktake of a secure base and print its id.")

    @Option(help: ArgumentHelp("The secure base: an office code, or home:LOGIN.", valueName: "code"))
    var office: String

    @Option(help: ArgumentHelp("A note (which cabinets, who is counting).", valueName: "text"))
    var note: String?

    @OptionGroup var request: RequestOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let request = try request.id()
      let (connection, writer) = try global.open()
      let id = try recording(connection, request: request) {
        try Stocktakes(connection).start(request: request, base: office, note: note)
      }
      if writer.format == .table {
        StandardOutput.write("\(id)\n")
      } else {
        writer.record([("id", .integer(id))])
      }
    }
  }

  struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record labels seen: from the arguments, else one per line on standard input.",
      discussion: """
        Each label is answered at once with one line: expected, already scanned, out of place (with \
        where the record says the file is) or unknown (names no file you may see). Blank lines and \
        surrounding spaces are ignored; scanning a label twice is harmless.
        """)

    @Argument(help: ArgumentHelp("The stocktake's id.", valueName: "id"))
    var id: Int

    @Argument(help: ArgumentHelp("Labels seen; without any, read one per line from standard input.", valueName: "label"))
    var labels: [String] = []

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      // A scan records sightings only, never custody: not waiting for each commit to reach the disk
      // keeps up with a scanner, and a server crash can lose at most the last moment's sightings.
      try connection.execute("SET synchronous_commit = off")
      let stocktakes = Stocktakes(connection)
      func answer(_ text: String) throws {
        let scanned = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !scanned.isEmpty else { return }
        let found = try stocktakes.scan(id, scanned)
        switch writer.format {
        case .table: StandardOutput.write("\(Failure.printable(scanned))  \(found.line)\n")
        case .csv, .json:
          writer.record([
            ("scanned", .text(scanned)), ("outcome", .text(found.outcome)), ("label", .text(found.label)),
            ("status", .text(found.status)), ("secure_base", .text(found.secureBase)),
            ("holder", .text(found.holder)), ("destination", .text(found.destination)),
          ])
        }
        StandardOutput.flush()
      }
      if labels.isEmpty {
        while let line = readLine(strippingNewline: true) { try answer(line) }
      } else {
        for label in labels { try answer(label) }
      }
    }
  }

  struct Finish: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Close a stocktake and print what needs a person, each with the command that settles it.")

    @Argument(help: ArgumentHelp("The stocktake's id.", valueName: "id"))
    var id: Int

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      let stocktakes = Stocktakes(connection)
      try stocktakes.finish(id)
      show(try stocktakes.result(id), writer)
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The result of a stocktake so far.")

    @Argument(help: ArgumentHelp("The stocktake's id.", valueName: "id"))
    var id: Int

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let (connection, writer) = try global.open()
      show(try Stocktakes(connection).result(id), writer)
    }
  }
}

/// The result: JSON as CLI.md fixes it, or a table of what needs a person.
private func show(_ result: Stocktakes.Result, _ writer: ResultWriter) {
  let notSeen = result.findings.filter { $0.finding == "not_seen" }
  let outOfPlace = result.findings.filter { $0.finding == "out_of_place" }
  let unknown = result.findings.filter { $0.finding == "unknown" }
  if writer.format == .table {
    var text = "stocktake \(result.id) of \(result.base), started \(writer.tableText(.instant(result.startedAt)))"
    text += " by \(result.startedBy), "
    text += result.finishedAt.map { "finished \(writer.tableText(.instant($0)))" } ?? "not finished"
    text += "\nexpected \(result.expected), seen \(result.seen)\n"
    writer.text(text)
    let rows = result.findings.map { f -> [Cell] in
      [
        .text(f.finding), .text(f.label), .text(f.caseNumber), .text(f.status), .text(f.secureBase),
        .text(f.holder), .text(settlement(f, result) ?? advice(f)),
      ]
    }
    guard !rows.isEmpty else { return writer.text("nothing needs a person\n") }
    writer.begin(columns: ["finding", "label", "case", "status", "secure_base", "holder", "to settle"])
    for row in rows { writer.write(row: row) }
    _ = writer.end()
    return
  }
  writer.document(
    .object([
      ("id", .int(result.id)), ("office", .string(result.base)),
      ("started_at", writer.json(.instant(result.startedAt))),
      ("finished_at", writer.json(.instant(result.finishedAt))),
      ("expected", .int(result.expected)), ("seen", .int(result.seen)),
      (
        "not_seen",
        .array(
          notSeen.map {
            .object([
              ("label", .string($0.label)), ("case", writer.json(.text($0.caseNumber))),
              ("status_since", writer.json(.instant($0.statusSince))),
              ("settle", writer.json(.text(settlement($0, result)))),
            ])
          })
      ),
      (
        "out_of_place",
        .array(
          outOfPlace.map {
            .object([
              ("label", .string($0.label)), ("status", writer.json(.text($0.status))),
              ("secure_base", writer.json(.text($0.secureBase))), ("holder", writer.json(.text($0.holder))),
              ("destination", writer.json(.text($0.destination))),
              ("settle", writer.json(.text(settlement($0, result)))),
            ])
          })
      ),
      ("unknown", .array(unknown.map { .string($0.label) })),
    ]))
}

/// The command that settles a finding, for the person who reads the result; nil when no command
/// does (a file recorded at another base, or in transit elsewhere, goes back by hand).
private func settlement(_ f: Stocktakes.Finding, _ result: Stocktakes.Result) -> String? {
  switch (f.finding, f.status) {
  case ("not_seen", _): return "custody missing \(f.label) --reason 'not seen at stocktake \(result.id)'"
  case ("out_of_place", "checked_out"): return "custody return \(f.label)"
  case ("out_of_place", "in_transit") where f.destination == result.base: return "custody receive \(f.label)"
  case ("out_of_place", "missing"): return "custody found \(f.label) --at \(result.base)"
  default: return nil
  }
}

/// What the table says when no command settles a finding.
private func advice(_ f: Stocktakes.Finding) -> String? {
  switch (f.finding, f.status) {
  case ("out_of_place", "at_base"): return "take it back to \(f.secureBase ?? "its secure base")"
  case ("out_of_place", "in_transit"): return "send it on to \(f.destination ?? "its destination")"
  case ("out_of_place", "destroyed"): return "recorded destroyed: tell the office manager"
  case ("unknown", _): return "not a file you may see: give it to the office manager"
  default: return nil
  }
}
