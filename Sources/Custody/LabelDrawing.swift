import Foundation

/// A page of labels, or one label, measured in dots of 1/600 inch: black boxes (the bars) and lines
/// of capital text. The SVG and the PNG are drawn from the same drawing, so they agree to the dot.
struct Drawing {
  struct Box {
    let x, y, width, height: Int
  }

  /// A line of text, centred on `centre`, its capitals `7 * scale` dots tall from `top`.
  struct Line {
    let text: String
    let centre, top, scale: Int
    let bold: Bool
  }

  static let dotsPerInch = 600
  static let labelsPerSheet = 21
  /// A label, 63.5 x 38.1 mm (2.5 x 1.5 inches).
  static let labelWidth = 1500
  static let labelHeight = 900
  /// Avery L7160 and its kin: 3 columns 66.04 mm apart, 7 rows, centred on A4.
  static let sheetColumns = 3
  static let columnPitch = 1560
  static let sheetLeft = 170
  static let sheetTop = 358
  /// Inside a label: text and barcode keep 3 mm from its left and right edges.
  static let labelMargin = 72
  /// A bar is 5 to 10 dots wide (0.21 to 0.42 mm), the widest that fits; a quiet zone of 10
  /// modules lies either side of the symbol (ISO/IEC 15417).
  static let narrowestModule = 5
  static let widestModule = 10
  static let quietModules = 10

  /// An A4 sheet of labels, or a single label.
  let isSheet: Bool
  /// The paper in millimetres (A4 is not a whole number of dots).
  let widthMM, heightMM: Double
  private(set) var boxes: [Box] = []
  private(set) var lines: [Line] = []

  static func sheet() -> Drawing { Drawing(isSheet: true, widthMM: 210, heightMM: 297) }
  static func single() -> Drawing { Drawing(isSheet: false, widthMM: 63.5, heightMM: 38.1) }

  var widthDots: Int { Int((widthMM * Double(Self.dotsPerInch) / 25.4).rounded(.up)) }
  var heightDots: Int { Int((heightMM * Double(Self.dotsPerInch) / 25.4).rounded(.up)) }

  /// Modules the widest barcode may have: the narrowest bars and their quiet zones fill the label.
  static var maximumModules: Int { (labelWidth - 2 * labelMargin) / narrowestModule - 2 * quietModules }

  /// Draws a label in `slot` of a sheet (0 is top left, then along the row), or alone on a single.
  mutating func place(_ row: LabelRow, _ barcode: Barcode, slot: Int) {
    let x = isSheet ? Self.sheetLeft + (slot % Self.sheetColumns) * Self.columnPitch : 0
    let y = isSheet ? Self.sheetTop + (slot / Self.sheetColumns) * Self.labelHeight : 0
    let centre = x + Self.labelWidth / 2
    text(row.classification.uppercased(), centre: centre, top: y + 60, largest: 10, bold: true)
    let module = Self.moduleWidth(barcode)
    let left = centre - barcode.modules * module / 2
    for bar in barcode.bars {
      boxes.append(Box(x: left + bar.start * module, y: y + 170, width: bar.width * module, height: 300))
    }
    text(row.label, centre: centre, top: y + 505, largest: 12, bold: true)
    text("CASE \(row.caseNumber) VOLUME \(row.volume)", centre: centre, top: y + 640, largest: 8, bold: false)
    text("HOME OFFICE \(row.office)", centre: centre, top: y + 740, largest: 8, bold: false)
  }

  /// The widest whole-dot module that fits the label with its quiet zones.
  static func moduleWidth(_ barcode: Barcode) -> Int {
    min(widestModule, (labelWidth - 2 * labelMargin) / (barcode.modules + 2 * quietModules))
  }

  /// A line at the largest scale up to `largest` that fits between the margins; a glyph is 5 x 7
  /// and its cell 6 wide (`BitmapFont`).
  private mutating func text(_ text: String, centre: Int, top: Int, largest: Int, bold: Bool) {
    let cells = 6 * text.count - 1
    let scale = max(1, min(largest, (Self.labelWidth - 2 * Self.labelMargin) / cells))
    lines.append(Line(text: text, centre: centre, top: top, scale: scale, bold: bold))
  }

  /// The drawing as SVG: the bars as one path, each line as SVG text in a monospace font whose
  /// capitals are as tall as the bitmap font's (DejaVu Sans Mono's are 0.729 em).
  func svg() -> String {
    let viewBox = String(format: "0 0 %.2f %.2f", widthMM * Double(Self.dotsPerInch) / 25.4, heightMM * Double(Self.dotsPerInch) / 25.4)
    var svg = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.number(widthMM))mm" height="\(Self.number(heightMM))mm" \
      viewBox="\(viewBox)">
      <rect width="100%" height="100%" fill="#fff"/>
      <path fill="#000" d="
      """
    svg += boxes.map { "M\($0.x) \($0.y)h\($0.width)v\($0.height)h-\($0.width)z" }.joined()
    svg += "\"/>\n<g font-family=\"DejaVu Sans Mono, Liberation Mono, monospace\" text-anchor=\"middle\" fill=\"#000\">\n"
    for line in lines {
      let size = String(format: "%.1f", Double(7 * line.scale) / 0.729)
      svg += "<text x=\"\(line.centre)\" y=\"\(line.top + 7 * line.scale)\" font-size=\"\(size)\""
        + (line.bold ? " font-weight=\"bold\"" : "") + ">\(Self.escaped(line.text))</text>\n"
    }
    return svg + "</g>\n</svg>\n"
  }

  /// The drawing as a bitmap at 600 dots per inch, its text in `BitmapFont`.
  func raster() -> Bitmap {
    var bitmap = Bitmap(width: widthDots, height: heightDots)
    for box in boxes { bitmap.fill(x: box.x, y: box.y, width: box.width, height: box.height) }
    for line in lines {
      let scale = line.scale
      var x = line.centre - (6 * line.text.count - 1) * scale / 2
      for character in line.text {
        let glyph = BitmapFont.glyphs[character] ?? BitmapFont.blank
        for (row, bits) in glyph.enumerated() {
          for column in 0..<5 where bits & (0b10000 >> column) != 0 {
            // Bold strokes are a third wider.
            let thick = line.bold ? scale + max(1, scale / 3) : scale
            bitmap.fill(x: x + column * scale, y: line.top + row * scale, width: thick, height: scale)
          }
        }
        x += 6 * scale
      }
    }
    return bitmap
  }

  static func number(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(value)
  }

  static func escaped(_ text: String) -> String {
    text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
  }
}
