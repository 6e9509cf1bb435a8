import Foundation
import Postgres

/// What one printed label shows, as `custody.label_rows` answers it.
public struct LabelRow: Sendable, Equatable {
  public let label: String
  public let caseNumber: String
  public let volume: Int
  /// The file's home office: the office of its secure base.
  public let office: String
  /// `restricted` or `confidential`.
  public let classification: String
}

/// How labels are laid out: an A4 sheet of 3 x 7, or one label per file.
public enum LabelLayout: String, CaseIterable, Sendable {
  case sheet, single
}

/// What labels are written as, from the output's extension.
public enum LabelFormat: String, Sendable {
  case svg, png

  /// The format `output` names by its extension, in either case; any other is a usage error (64).
  public init(output: String) throws {
    guard let format = LabelFormat(rawValue: (output as NSString).pathExtension.lowercased()) else {
      throw CustodyError.usage("--output must end in .svg or .png, not '\(output)'")
    }
    self = format
  }
}

extension Lookups {
  /// The labels of the files named, of every volume of a case, or of every file of an office, as
  /// the login may see them (exactly one of the three is given).
  public func labelRows(labels: [String]?, caseNumber: String?, office: String?) throws -> [LabelRow] {
    try connection.query(
      "SELECT * FROM custody.label_rows($1::text[], $2, $3)", [labels.map(TextArray.init), caseNumber, office]
    ).map { row in
      LabelRow(
        label: try row.decode(0), caseNumber: try row.decode(1), volume: try row.decode(2), office: try row.decode(3),
        classification: try row.decode(4))
    }
  }
}

/// Prints labels: every barcode is encoded before anything is written, every page goes to a
/// temporary file beside its name, and the pages take their names only when all are written.
public enum LabelPrinter {
  /// A page or label file written, and the labels on it.
  public struct Written: Sendable {
    public let path: String
    public let labels: [String]
  }

  /// Refuses, before anything is asked of the database, an output whose extension is neither
  /// `.svg` nor `.png` (64) or whose folder does not exist (65).
  public static func check(output: String) throws {
    _ = try LabelFormat(output: output)
    let folder = (output as NSString).deletingLastPathComponent
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder), isFolder.boolValue
    else {
      throw CustodyError.invalidValue("cannot write \(output): there is no folder \(folder)")
    }
  }

  public static func print(_ rows: [LabelRow], to output: String, layout: LabelLayout) throws -> [Written] {
    try check(output: output)
    let format = try LabelFormat(output: output)
    let barcodes = try rows.map { row in
      let barcode = try Barcode(row.label)
      guard barcode.modules <= Drawing.maximumModules else {
        throw CustodyError.invalidValue(
          "cannot encode \(row.label) as Code 128 on a 63.5 mm label: its barcode is \(barcode.modules) modules "
            + "wide, and \(Drawing.maximumModules) fit at the narrowest bar (0.21 mm)")
      }
      return barcode
    }
    let perFile = layout == .sheet ? Drawing.labelsPerSheet : 1
    let groups = stride(from: 0, to: rows.count, by: perFile).map { $0..<min($0 + perFile, rows.count) }
    let paths = names(output, count: groups.count, numberFirst: layout == .single && groups.count > 1)
    for path in paths {
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        throw CustodyError.invalidValue("cannot write \(path): it is a folder")
      }
    }
    // An interrupt, a hang-up or a kill waits until every page is renamed or every temporary
    // file removed: all pages or none, and no temporary file left behind.
    var interrupts = sigset_t()
    var previous = sigset_t()
    sigemptyset(&interrupts)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&interrupts, signal) }
    pthread_sigmask(SIG_BLOCK, &interrupts, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    var temporaries: [String] = []
    do {
      for (group, path) in zip(groups, paths) {
        var drawing = layout == .sheet ? Drawing.sheet() : Drawing.single()
        for (slot, index) in group.enumerated() {
          drawing.place(rows[index], barcodes[index], slot: slot)
        }
        let data = format == .svg ? Array(drawing.svg().utf8) : drawing.raster().png(dotsPerInch: Drawing.dotsPerInch)
        let file = URL(fileURLWithPath: path)
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)").path
        try write(data, to: temporary, naming: path)
        temporaries.append(temporary)
      }
      for (temporary, path) in zip(temporaries, paths) where rename(temporary, path) != 0 {
        throw CustodyError.invalidValue("cannot write \(path): \(String(cString: strerror(errno)))")
      }
    } catch {
      for temporary in temporaries { unlink(temporary) }
      throw error
    }
    return zip(groups, paths).map { group, path in Written(path: path, labels: group.map { rows[$0].label }) }
  }

  /// Writes a new file and flushes it to the disk, so that its name, once given, names all of it.
  static func write(_ bytes: [UInt8], to temporary: String, naming path: String) throws {
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw CustodyError.invalidValue("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var written = 0
    while written < bytes.count {
      let count = bytes[written...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      written += count
    }
    guard written == bytes.count, fsync(descriptor) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw CustodyError.invalidValue("cannot write \(path): \(reason)")
    }
  }

  /// `FILE`, then `NAME-2.svg`, `NAME-3.svg`...; from `NAME-1` when the first is numbered too.
  static func names(_ output: String, count: Int, numberFirst: Bool) -> [String] {
    let stem = (output as NSString).deletingPathExtension
    let suffix = (output as NSString).pathExtension
    return (0..<count).map { index in index == 0 && !numberFirst ? output : "\(stem)-\(index + 1).\(suffix)" }
  }
}
