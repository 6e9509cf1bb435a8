import ArgumentParser
import Custody

extension LabelLayout: ExpressibleByArgument {}

struct LabelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "label",
    abstract: "Print barcode labels for files, as SVG or PNG, on A4 sheets of 3 x 7 or one by one.",
    discussion: """
      Name the files by label, or give every volume of a case (--case) or every file whose home \
      office is CODE (--office): one of the three. Each label shows a Code 128 barcode of the \
      label, the label, the case number and volume, the home office and the case's \
      classification in capitals (RESTRICTED, CONFIDENTIAL).

      FILE ends in .svg (its text is SVG text) or .png (600 dots per inch), in a folder that \
      exists. A sheet is an A4 page of 3 x 7 labels of 63.5 x 38.1 mm (Avery L7160 and the \
      like); more pages are written as NAME-2.svg, NAME-3.svg, ... A single label is written to \
      FILE, or, for more than one, to NAME-1.svg, NAME-2.svg, ... Prints each file written and \
      the labels on it.

      A label whose barcode cannot be encoded, or does not fit the label at bars of 0.21 mm, is \
      an error (65) and no file is written; pages are written all or none. A file you may not see \
      is not found (66), as one that does not exist. Destroyed files get no label.
      """)

  @Argument(help: ArgumentHelp("Labels of the files to print.", valueName: "label"))
  var labels: [String] = []

  @Option(name: .customLong("case"), help: ArgumentHelp("Every volume of this case.", valueName: "number"))
  var caseNumber: String?

  @Option(help: ArgumentHelp("Every file whose home office this is.", valueName: "code"))
  var office: String?

  @Option(help: ArgumentHelp("The file to write: FILE.svg or FILE.png.", valueName: "file"))
  var output: String

  @Option(help: "sheet: A4 pages of 3 x 7 labels; single: one label to a file.")
  var layout: LabelLayout = .sheet

  @OptionGroup var global: GlobalOptions

  func validate() throws {
    let chosen = [!labels.isEmpty, caseNumber != nil, office != nil].filter { $0 }.count
    guard chosen == 1 else { throw ValidationError("give labels, --case NUMBER or --office CODE: exactly one of them") }
    do {
      _ = try LabelFormat(output: output)
    } catch {
      throw ValidationError(Failure(error).message)
    }
  }

  func run() throws {
    try LabelPrinter.check(output: output)
    let (connection, writer) = try global.open()
    let rows = try Lookups(connection).labelRows(
      labels: labels.isEmpty ? nil : labels, caseNumber: caseNumber, office: office)
    let written = try LabelPrinter.print(rows, to: output, layout: layout)
    writer.begin(columns: ["file", "labels"])
    for file in written { writer.write(row: [.text(file.path), .words(file.labels)]) }
    writer.end()
  }
}
