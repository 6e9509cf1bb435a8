import Testing

@testable import Custody

@Suite("A label's drawing: the PNG's text and its encoder's checksums")
struct LabelDrawingTests {
  /// Reads a line back from the bitmap: each glyph cell sampled at the middle of its pixels and
  /// matched against the font.
  static func read(_ line: Drawing.Line, in bitmap: Bitmap) -> String {
    let scale = line.scale
    let left = line.centre - (6 * line.text.count - 1) * scale / 2
    return String((0..<line.text.count).map { index in
      let rows = (0..<7).map { row in
        (0..<5).reduce(UInt8(0)) { bits, column in
          let black = bitmap.isBlack(x: left + index * 6 * scale + column * scale + scale / 2, y: line.top + row * scale + scale / 2)
          return bits << 1 | (black ? 1 : 0)
        }
      }
      return BitmapFont.glyphs.first { $0.value == rows }?.key ?? "?"
    })
  }

  @Test("a confidential label's PNG pixels spell its classification, label, case and volume, and home office")
  func rasterText() throws {
    var drawing = Drawing.single()
    let row = LabelRow(label: "NTH-000024", caseNumber: "NTH/2026/0002", volume: 1, office: "NTH", classification: "confidential")
    drawing.place(row, try Barcode(row.label), slot: 0)
    let bitmap = drawing.raster()
    #expect(bitmap.width == 1500 && bitmap.height == 900)
    #expect(drawing.lines.map(\.text) == ["CONFIDENTIAL", "NTH-000024", "CASE NTH/2026/0002 VOLUME 1", "HOME OFFICE NTH"])
    for line in drawing.lines {
      #expect(Self.read(line, in: bitmap) == line.text)
    }
  }

  @Test("what libzint cannot encode is an invalid value that gives its reason: too long, outside ISO/IEC 8859-1, empty")
  func cannotEncode() throws {
    let long = String(repeating: "A", count: 161)
    #expect(throws: CustodyError.invalidValue("cannot encode \(long) as Code 128: Error 340: Input too long (160 character maximum)")) {
      try Barcode(long)
    }
    #expect(throws: CustodyError.invalidValue("cannot encode NTH-€1 as Code 128: Error 204: Invalid character in input data (ISO/IEC 8859-1 only)")) {
      try Barcode("NTH-€1")
    }
    #expect(throws: CustodyError.invalidValue("cannot encode  as Code 128: Error 778: No input data")) { try Barcode("") }
    // Start B, N, T, H, -, code C, 00, 00, 01, the check character: 11 modules each, and the
    // stop's 13. Bars alternate with spaces, so none touches the next.
    let barcode = try Barcode("NTH-000001")
    #expect(barcode.modules == 11 * 10 + 13)
    #expect(barcode.bars.first?.start == 0 && barcode.bars.last.map { $0.start + $0.width } == barcode.modules)
    #expect(zip(barcode.bars, barcode.bars.dropFirst()).allSatisfy { $0.start + $0.width < $1.start })
  }

  @Test("CRC-32 and Adler-32 give the published values")
  func checksums() {
    #expect(PNG.crc32(Array("IEND".utf8)) == 0xAE42_6082)
    #expect(PNG.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
    // Over 5,552 bytes the sums must be reduced: 100,000 bytes of 0xFF.
    #expect(PNG.adler32([UInt8](repeating: 0xFF, count: 100_000)) == 0x149A_302C)
  }
}
