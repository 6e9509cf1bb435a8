import CZint

/// A label as a Code 128 symbol, encoded by libzint: its bars, measured in modules.
struct Barcode: Sendable {
  struct Bar: Sendable {
    let start: Int
    let width: Int
  }

  let label: String
  /// The symbol's width in modules, without its quiet zones.
  let modules: Int
  let bars: [Bar]

  /// Encodes `label`; a label libzint cannot encode is an invalid value (65).
  init(_ label: String) throws {
    guard let symbol = ZBarcode_Create() else {
      throw CustodyError.invalidValue("cannot encode \(label) as Code 128: libzint is out of memory")
    }
    defer { ZBarcode_Delete(symbol) }
    symbol.pointee.symbology = BARCODE_CODE128
    symbol.pointee.show_hrt = 0
    // UTF-8 in, ISO/IEC 8859-1 in the symbol: a character outside it is refused, never mangled.
    symbol.pointee.input_mode = Int32(UNICODE_MODE)
    // The vector output measures 2 * scale units per module: 0.5 makes one unit one module.
    symbol.pointee.scale = 0.5
    // NUL-terminated as well as counted: libzint measures with strlen when the count is 0.
    var status = label.withCString { text in
      text.withMemoryRebound(to: UInt8.self, capacity: label.utf8.count + 1) {
        ZBarcode_Encode(symbol, $0, Int32(label.utf8.count))
      }
    }
    if status < ZINT_ERROR { status = ZBarcode_Buffer_Vector(symbol, 0) }
    guard status < ZINT_ERROR, let vector = symbol.pointee.vector else {
      let reason = withUnsafeBytes(of: symbol.pointee.errtxt) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      throw CustodyError.invalidValue("cannot encode \(label) as Code 128: \(reason)")
    }
    var bars: [Bar] = []
    var rectangle = vector.pointee.rectangles
    while let current = rectangle {
      bars.append(Bar(start: Int(current.pointee.x.rounded()), width: Int(current.pointee.width.rounded())))
      rectangle = current.pointee.next
    }
    self.label = label
    self.modules = Int(symbol.pointee.width)
    self.bars = bars
  }
}
