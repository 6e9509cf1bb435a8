import ArgumentParser
import Custody
import Foundation

struct ImportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Register existing cases and volumes from a register kept elsewhere (CSV), all or nothing.",
    discussion: """
      The register is CSV (RFC 4180, UTF-8; a byte-order mark and CRLF line ends are fine) with a \
      header row naming its columns, in any order: case, office, law (private, public or adoption), \
      classification (restricted, the default, or confidential), children_born (dates YYYY-MM-DD \
      separated by ';'), practitioner, label, volume, kind (file, the default, or folder), status \
      (at_base, the default, checked_out or missing), secure_base (default: the office), and for a \
      checked-out file holder, whereabouts and expected_return (YYYY-MM-DD HH:MM, local time). One \
      row per volume; the case columns repeat and must agree. An empty cell is the column's default; \
      text in a cell follows the command line's rules, so a line break inside a cell makes a bad row.

      Every bad row is listed on standard error as 'line N: column: what is wrong', and then \
      nothing is recorded (exit 65). A row already recorded as it says records nothing, so the same \
      register imported twice records nothing new. Business support, office managers (their own \
      office) and directors may import.
      """)

  @Argument(help: ArgumentHelp("The register, a CSV file.", valueName: "file.csv"))
  var file: String

  @Flag(help: "Check every row and say what would be recorded; record nothing.")
  var dryRun = false

  @OptionGroup var global: GlobalOptions

  func run() throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else {
      throw CustodyError.notFound("no file \(file)")
    }
    guard !isFolder.boolValue else { throw CustodyError.notFound("\(file) is a folder, not a register") }
    let bytes: [UInt8]
    do {
      bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    } catch {
      let cause = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
      throw CustodyError.notFound("cannot read \(file)" + (cause.map { ": \($0)" } ?? ""))
    }
    let (connection, writer) = try global.open()
    let showProgress = isatty(STDERR_FILENO) == 1
    let outcome = try Importer(connection: connection).run(
      Register(bytes: bytes), source: URL(fileURLWithPath: file).lastPathComponent, dryRun: dryRun
    ) { step in
      if showProgress { StandardError.write("\r\u{1B}[Kcustody: \(step)") }
    }
    if showProgress { StandardError.write("\r\u{1B}[K") }
    guard outcome.problems.isEmpty else {
      for problem in outcome.problems { StandardError.write(Failure.printable(problem.text) + "\n") }
      let rows = outcome.problems.count == 1 ? "1 bad row" : "\(outcome.problems.count) bad rows"
      throw CustodyError.invalidValue("\(rows) of \(outcome.rows): nothing was recorded")
    }
    if writer.format == .table {
      let what = "\(count(outcome.cases, "case")) and \(count(outcome.files, "file"))"
      StandardOutput.write(
        dryRun ? "would record \(what) from \(count(outcome.rows, "row")) (dry run: nothing was recorded)\n"
          : "recorded \(what) from \(count(outcome.rows, "row"))\n")
    } else {
      writer.record([
        ("rows", .integer(outcome.rows)), ("cases", .integer(outcome.cases)), ("files", .integer(outcome.files)),
        ("dry_run", .boolean(dryRun)),
      ])
    }
  }

  private func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}
