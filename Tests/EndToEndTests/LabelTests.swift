import Foundation
import TestSupport
import Testing

/// A folder of its own for a test's labels, removed afterwards.
private func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("custody-labels-" + UUID().uuidString)
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  return try body(folder)
}

/// Runs a program found on PATH.
private func tool(_ arguments: [String]) throws -> CLI.Outcome {
  try CLI.spawn(URL(fileURLWithPath: "/usr/bin/env"), arguments, environment: [:])
}

/// Every barcode zbarimg finds in an image, of any symbology, one entry each.
private func decoded(_ image: URL) throws -> [String] {
  let outcome = try tool(["zbarimg", "--quiet", "--raw", image.path])
  // 4: no symbol found.
  #expect(outcome.status == 0 || outcome.status == 4, "\(outcome)")
  return outcome.stdout.split(separator: "\n").map(String.init)
}

/// An SVG drawn as a PNG by librsvg at 300 dots per inch, then decoded.
private func decodedSVG(_ svg: URL) throws -> [String] {
  let png = svg.deletingPathExtension().appendingPathExtension("render.png")
  let render = try tool(["rsvg-convert", "--dpi-x", "300", "--dpi-y", "300", "--output", png.path, svg.path])
  #expect(render.status == 0, "\(render)")
  defer { try? FileManager.default.removeItem(at: png) }
  return try decoded(png)
}

private func names(in folder: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}

private func text(_ file: URL) throws -> String {
  try String(contentsOf: file, encoding: .utf8)
}

@Suite("Labels: Code 128 barcodes that scan back to their labels, on A4 sheets or one by one, as SVG or PNG")
struct LabelTests {
  @Test("23 volumes make a sheet of 21 and NAME-2.svg of 2; every barcode decodes to its label, and nothing else; the text is SVG text")
  func sheets() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LBL/1", volumes: 23)
      try withFolder { folder in
        let output = folder.appendingPathComponent("labels.svg")
        let printed = try agency.run("pat", ["label", "--case", "NTH/LBL/1", "--output", output.path, "--format", "json"])
        #expect(printed.status == 0, "\(printed)")
        #expect(try names(in: folder) == ["labels-2.svg", "labels.svg"])
        let pages = try printed.jsonRows()
        #expect(pages.map { $0["file"] as? String } == [output.path, folder.appendingPathComponent("labels-2.svg").path])
        #expect(pages.map { $0["labels"] as? [String] ?? [] } == [Array(labels[..<21]), Array(labels[21...])])

        let first = try decodedSVG(output)
        let second = try decodedSVG(folder.appendingPathComponent("labels-2.svg"))
        #expect(first.count == 21 && second.count == 2)
        #expect(first.sorted() == Array(labels[..<21]).sorted())
        #expect(second.sorted() == Array(labels[21...]).sorted())

        let svg = try text(output)
        #expect(svg.contains("width=\"210mm\" height=\"297mm\""))
        // Four lines of text a label, each an SVG text element.
        #expect(svg.matches(of: /<text [^>]*>[^<]+<\/text>/).count == 21 * 4)
        for (index, label) in labels[..<21].enumerated() {
          #expect(svg.contains(">\(label)</text>"), "\(label)")
          #expect(svg.contains(">CASE NTH/LBL/1 VOLUME \(index + 1)</text>"))
        }
        #expect(svg.matches(of: />RESTRICTED<\/text>/).count == 21)
        #expect(svg.matches(of: />HOME OFFICE NTH<\/text>/).count == 21)
      }
    }
  }

  @Test("PNG sheets and single PNG labels decode too, with nothing but the printer's own code")
  func png() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LBL/2", volumes: 22)
      try withFolder { folder in
        let sheet = try agency.run("bea", ["label", "--case", "NTH/LBL/2", "--output", folder.appendingPathComponent("sheet.png").path])
        #expect(sheet.status == 0, "\(sheet)")
        let pages = ["sheet.png", "sheet-2.png"].map(folder.appendingPathComponent)
        #expect(try decoded(pages[0]).sorted() == Array(labels[..<21]).sorted())
        #expect(try decoded(pages[1]) == [labels[21]])
        // Compressed: an A4 page at 600 dots per inch is 4.4 MB of pixels.
        let size = try FileManager.default.attributesOfItem(atPath: pages[0].path)[.size] as? Int ?? 0
        #expect(size > 10_000 && size < 200_000, "\(size) bytes")
        let single = try agency.run(
          "bea", ["label", labels[3], labels[0], "--layout", "single", "--output", folder.appendingPathComponent("one.PNG").path])
        #expect(single.status == 0, "\(single)")
        #expect(try decoded(folder.appendingPathComponent("one-1.PNG")) == [labels[3]])
        #expect(try decoded(folder.appendingPathComponent("one-2.PNG")) == [labels[0]])
        #expect(try names(in: folder) == ["one-1.PNG", "one-2.PNG", "sheet-2.png", "sheet.png"])
      }
    }
  }

  @Test("single labels: FILE itself for one, NAME-1, NAME-2, ... for more, each 63.5 x 38.1 mm with its one barcode")
  func singles() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let labels = try agency.openCase("NTH/LBL/3", volumes: 3)
      try withFolder { folder in
        let one = folder.appendingPathComponent("one.svg")
        #expect(try agency.run("bea", ["label", labels[1], "--layout", "single", "--output", one.path]).status == 0)
        #expect(try names(in: folder) == ["one.svg"])
        #expect(try decodedSVG(one) == [labels[1]])
        #expect(try text(one).contains("width=\"63.5mm\" height=\"38.1mm\""))

        let many = try agency.run(
          "bea", ["label", "--case", "NTH/LBL/3", "--layout", "single", "--output", folder.appendingPathComponent("vol.svg").path])
        #expect(many.status == 0, "\(many)")
        #expect(try names(in: folder) == ["one.svg", "vol-1.svg", "vol-2.svg", "vol-3.svg"])
        for (index, label) in labels.enumerated() {
          #expect(try decodedSVG(folder.appendingPathComponent("vol-\(index + 1).svg")) == [label])
        }
      }
    }
  }

  @Test("a confidential case's labels say CONFIDENTIAL, a restricted one's RESTRICTED; its files are not another practitioner's to print")
  func classification() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let restricted = try agency.openCase("NTH/LBL/R")[0]
      #expect(
        try agency.run(
          "dee", ["case", "open", "NTH/LBL/C", "--office", "NTH", "--law", "public", "--classification", "confidential",
                  "--practitioner", agency.login("pip")]
        ).status == 0)
      let confidential = try agency.run("bea", ["file", "register", "NTH/LBL/C"]).stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
      try withFolder { folder in
        for (login, label) in [("bea", confidential), ("pip", confidential), ("bea", restricted)] {
          let output = folder.appendingPathComponent("\(login)-\(label).svg")
          let printed = try agency.run(login, ["label", label, "--output", output.path])
          #expect(printed.status == 0, "\(printed)")
          let svg = try text(output)
          let word = label == confidential ? "CONFIDENTIAL" : "RESTRICTED"
          #expect(svg.contains(">\(word)</text>") && svg.matches(of: /IDENTIAL|STRICTED/).count == 1, "\(svg)")
        }
        // pat, of the same office, may not see the confidential case: as if it were not there.
        let hidden = try agency.run("pat", ["label", confidential, "--output", folder.appendingPathComponent("pat.svg").path])
        #expect(hidden.status == 66, "\(hidden)")
        #expect(hidden.stderr == "custody: error: no file \(confidential)\n")
        let hiddenCase = try agency.run("pat", ["label", "--case", "NTH/LBL/C", "--output", folder.appendingPathComponent("pat.svg").path])
        #expect(hiddenCase.status == 66, "\(hiddenCase)")
        #expect(hiddenCase.stderr == "custody: error: no case NTH/LBL/C\n")
        #expect(try names(in: folder).count == 3)
      }
    }
  }

  @Test("a label too long for a barcode on the label exits 65 and writes nothing, not even the pages before it")
  func cannotEncode() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/LBL/4", volumes: 22)
      let long = "NTH-ABCDEFGHIJKLMNOPQRSTUV"
      #expect(try agency.run("bea", ["file", "register", "NTH/LBL/4", "--label", long]).status == 0)
      try withFolder { folder in
        let earlier = folder.appendingPathComponent("labels.svg")
        try Data("earlier".utf8).write(to: earlier)
        for (name, extra) in [("labels.svg", [String]()), ("labels.png", []), ("labels.svg", ["--layout", "single"])] {
          let refused = try agency.run(
            "bea", ["label", "--case", "NTH/LBL/4", "--output", folder.appendingPathComponent(name).path] + extra)
          #expect(refused.status == 65, "\(refused)")
          #expect(refused.stderr.contains("cannot encode \(long) as Code 128"), "\(refused)")
          #expect(refused.stdout.isEmpty)
          #expect(try names(in: folder) == ["labels.svg"])
          #expect(try text(earlier) == "earlier")
        }
      }
    }
  }

  @Test("unknown and unseen labels, cases and offices answer 66 as whereabouts and case show do; malformed ones 65; destroyed files get none")
  func notFound() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let south = try agency.openCase("STH/LBL/1", office: "STH")[0]
      let north = try agency.openCase("NTH/LBL/5", volumes: 2)
      try withFolder { folder in
        let output = folder.appendingPathComponent("labels.svg").path
        for label in [south, "STH-999999"] {
          let printed = try agency.run("pat", ["label", north[0], label, "--output", output])
          let whereabouts = try agency.run("pat", ["whereabouts", label])
          #expect(printed.status == 66 && whereabouts.status == 66, "\(printed)")
          #expect(printed.stderr == whereabouts.stderr && printed.stderr == "custody: error: no file \(label)\n")
        }
        for number in ["STH/LBL/1", "STH/LBL/9"] {
          let printed = try agency.run("pat", ["label", "--case", number, "--output", output])
          let shown = try agency.run("pat", ["case", "show", number])
          #expect(printed.status == 66 && printed.stderr == shown.stderr, "\(printed)\n\(shown)")
        }
        let office = try agency.run("pat", ["label", "--office", "ZZ9", "--output", output])
        #expect(office.status == 66 && office.stderr == "custody: error: no office ZZ9\n", "\(office)")
        let unseen = try agency.run("pat", ["label", "--office", "STH", "--output", output])
        #expect(unseen.status == 66 && unseen.stderr == "custody: error: no file of office STH to label\n", "\(unseen)")
        let malformed = try agency.run("pat", ["label", "nth-1", "--output", output])
        #expect(malformed.status == 65, "\(malformed)")
        let badCase = try agency.run("pat", ["label", "--case", "x y", "--output", output])
        #expect(badCase.status == 65, "\(badCase)")

        // A destroyed volume: refused by name, left out of its case's sheet.
        for step in [
          ["case", "add-child", "NTH/LBL/5", "--born", "2000-01-01"], ["case", "end", "NTH/LBL/5"], ["case", "close", "NTH/LBL/5"],
          ["destroy", north[0], "--witness", agency.login("oma"), "--certificate", "C-1"],
        ] {
          let done = try agency.run("bea", step)
          #expect(done.status == 0, "\(step): \(done)")
        }
        let destroyed = try agency.run("bea", ["label", north[0], "--output", output])
        #expect(destroyed.status == 1 && destroyed.stderr.contains("\(north[0]) was destroyed on"), "\(destroyed)")
        #expect(try names(in: folder) == [])
        let rest = try agency.run("bea", ["label", "--case", "NTH/LBL/5", "--output", output, "--format", "csv"])
        #expect(rest.stdout == "file,labels\r\n\(output),\(north[1])\r\n", "\(rest)")
        #expect(try decodedSVG(URL(fileURLWithPath: output)) == [north[1]])
      }
    }
  }

  @Test("the selection and --output are checked first: exactly one of labels, --case and --office; .svg or .png (64)")
  func usage() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      let label = try agency.openCase("NTH/LBL/6")[0]
      try withFolder { folder in
        let pdf = try agency.run("bea", ["label", label, "--output", folder.appendingPathComponent("labels.pdf").path])
        #expect(pdf.status == 64, "\(pdf)")
        #expect(pdf.stderr.hasPrefix("custody: error: --output must end in .svg or .png, not '"), "\(pdf)")
        #expect(try agency.run("bea", ["label", label, "--output", "labels"]).status == 64)
        let none = try agency.run("bea", ["label", "--output", "labels.svg"])
        #expect(none.status == 64 && none.stderr.contains("exactly one"), "\(none)")
        #expect(try agency.run("bea", ["label", label, "--case", "NTH/LBL/6", "--output", "labels.svg"]).status == 64)
        #expect(try agency.run("bea", ["label", label, "--layout", "roll", "--output", "labels.svg"]).status == 64)
        let nowhere = folder.appendingPathComponent("no/such/labels.svg").path
        let noFolder = try agency.run("bea", ["label", label, "--output", nowhere])
        #expect(noFolder.status == 65, "\(noFolder)")
        #expect(noFolder.stderr == "custody: error: cannot write \(nowhere): there is no folder \(folder.path)/no/such\n")
        #expect(try names(in: folder) == [])
      }
    }
  }

  @Test("all pages or none: when a folder has the second page's name, not even the first page is written")
  func allOrNone() throws {
    try TestDatabase.with { db in
      let agency = try Agency.make(in: db)
      _ = try agency.openCase("NTH/LBL/7", volumes: 22)
      try withFolder { folder in
        // A folder where the second page would go.
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("labels-2.svg"), withIntermediateDirectories: false)
        let output = folder.appendingPathComponent("labels.svg")
        let refused = try agency.run("bea", ["label", "--case", "NTH/LBL/7", "--output", output.path])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr == "custody: error: cannot write \(folder.path)/labels-2.svg: it is a folder\n")
        #expect(refused.stdout.isEmpty)
        #expect(try names(in: folder) == ["labels-2.svg"])
        #expect(try names(in: folder.appendingPathComponent("labels-2.svg")) == [])
      }
    }
  }
}
