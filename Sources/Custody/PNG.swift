/// A black-and-white image, one bit a pixel, its rows packed as a 1-bit greyscale PNG holds them
/// (a set bit is white).
struct Bitmap {
  let width, height: Int
  let rowBytes: Int
  private(set) var bits: [UInt8]

  /// A white image.
  init(width: Int, height: Int) {
    self.width = width
    self.height = height
    rowBytes = (width + 7) / 8
    bits = [UInt8](repeating: 0xFF, count: rowBytes * height)
  }

  /// Whether the pixel is black.
  func isBlack(x: Int, y: Int) -> Bool {
    bits[y * rowBytes + x / 8] & (0x80 >> UInt8(x % 8)) == 0
  }

  /// Paints a box black, clipped to the image.
  mutating func fill(x: Int, y: Int, width: Int, height: Int) {
    let left = max(0, x)
    let right = min(self.width, x + width)
    let top = max(0, y)
    let bottom = min(self.height, y + height)
    guard left < right, top < bottom else { return }
    for row in top..<bottom {
      let base = row * rowBytes
      for column in left..<right {
        bits[base + column / 8] &= ~(0x80 >> UInt8(column % 8))
      }
    }
  }

  /// The image as a PNG: 1-bit greyscale, its resolution recorded (pHYs) so that it prints at
  /// size. Each row is filtered as its difference from the row above ("Up"), so a row like the
  /// last is all zeros, and runs of a byte compress to a few bits each.
  func png(dotsPerInch: Int) -> [UInt8] {
    var raw: [UInt8] = []
    raw.reserveCapacity((rowBytes + 1) * height)
    for row in 0..<height {
      raw.append(2)  // filter type Up
      let base = row * rowBytes
      for index in base..<(base + rowBytes) {
        raw.append(row == 0 ? bits[index] : bits[index] &- bits[index - rowBytes])
      }
    }
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    PNG.chunk("IHDR", PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height)) + [1, 0, 0, 0, 0], into: &png)
    let perMetre = PNG.bigEndian(UInt32((Double(dotsPerInch) / 0.0254).rounded()))
    PNG.chunk("pHYs", perMetre + perMetre + [1], into: &png)
    PNG.chunk("IDAT", PNG.zlib(raw), into: &png)
    PNG.chunk("IEND", [], into: &png)
    return png
  }
}

/// The parts of PNG and zlib that a bitmap needs (RFC 2083, RFC 1950, RFC 1951).
enum PNG {
  static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
  }

  /// Length, type, data and the CRC-32 of type and data.
  static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
    let typed = Array(type.utf8) + data
    png += bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
  }

  /// A zlib stream (RFC 1950) of one deflate block with the fixed Huffman codes (RFC 1951
  /// 3.2.6): a run of the byte before it is a match at distance 1, anything else a literal.
  static func zlib(_ data: [UInt8]) -> [UInt8] {
    var bits = BitWriter()
    bits.write(1, count: 1)  // the final block
    bits.write(1, count: 2)  // fixed Huffman codes
    var index = 0
    while index < data.count {
      var run = 0
      if index > 0 {
        let repeated = data[index - 1]
        while run < 258, index + run < data.count, data[index + run] == repeated { run += 1 }
      }
      if run >= 3 {
        writeLength(run, into: &bits)
        bits.writeCode(0, count: 5)  // distance code 0: distance 1
        index += run
      } else {
        writeSymbol(Int(data[index]), into: &bits)
        index += 1
      }
    }
    writeSymbol(256, into: &bits)  // end of block
    return [0x78, 0x01] + bits.finished() + bigEndian(adler32(data))
  }

  /// A literal/length symbol in the fixed code: 0-143 in 8 bits, 144-255 in 9, 256-279 in 7,
  /// 280-287 in 8.
  static func writeSymbol(_ symbol: Int, into bits: inout BitWriter) {
    switch symbol {
    case 0...143: bits.writeCode(UInt32(0x30 + symbol), count: 8)
    case 144...255: bits.writeCode(UInt32(0x190 + symbol - 144), count: 9)
    case 256...279: bits.writeCode(UInt32(symbol - 256), count: 7)
    default: bits.writeCode(UInt32(0xC0 + symbol - 280), count: 8)
    }
  }

  /// The shortest length each of the symbols 257-284 stands for, and how many extra bits follow.
  static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227]
  static let lengthExtraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5]

  /// A match's length, 3 to 258: its symbol, then its extra bits (258 is symbol 285, none).
  static func writeLength(_ length: Int, into bits: inout BitWriter) {
    guard length < 258 else { return writeSymbol(285, into: &bits) }
    let code = lengthBases.lastIndex { $0 <= length } ?? 0
    writeSymbol(257 + code, into: &bits)
    bits.write(UInt32(length - lengthBases[code]), count: lengthExtraBits[code])
  }

  /// Bits packed as deflate packs them: from the least significant bit of each byte.
  struct BitWriter {
    private var bytes: [UInt8] = []
    private var pending: UInt64 = 0
    private var pendingCount = 0

    /// A value's `count` low bits, least significant first (extra bits, header fields).
    mutating func write(_ value: UInt32, count: Int) {
      pending |= UInt64(value) << pendingCount
      pendingCount += count
      while pendingCount >= 8 {
        bytes.append(UInt8(pending & 0xFF))
        pending >>= 8
        pendingCount -= 8
      }
    }

    /// A Huffman code of `count` bits, most significant first.
    mutating func writeCode(_ code: UInt32, count: Int) {
      var reversed: UInt32 = 0
      for bit in 0..<count { reversed |= (code >> bit & 1) << (count - 1 - bit) }
      write(reversed, count: count)
    }

    /// The bytes, the last padded with zero bits.
    func finished() -> [UInt8] {
      pendingCount > 0 ? bytes + [UInt8(pending & 0xFF)] : bytes
    }
  }

  static let crcTable: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    return value
  }

  static func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  static func adler32(_ data: [UInt8]) -> UInt32 {
    var a: UInt32 = 1
    var b: UInt32 = 0
    // 5,552 bytes is the most that can be summed before the sums must be reduced (RFC 1950).
    var start = 0
    while start < data.count {
      let end = min(start + 5_552, data.count)
      for byte in data[start..<end] {
        a += UInt32(byte)
        b += a
      }
      a %= 65_521
      b %= 65_521
      start = end
    }
    return b << 16 | a
  }
}

/// A 5 x 7 font of the capitals, digits, '-', '/' and space: all that labels, case numbers,
/// office codes and the words on a label are made of. Each glyph is 7 rows of 5 bits, the
/// leftmost pixel the highest bit.
enum BitmapFont {
  static let blank: [UInt8] = [0, 0, 0, 0, 0, 0, 0]

  static let glyphs: [Character: [UInt8]] = [
    " ": blank,
    "-": [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000],
    "/": [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000],
    "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
    "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
    "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
    "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
    "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
    "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
    "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
    "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
    "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
    "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
    "B": [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
    "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
    "D": [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100],
    "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
    "F": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
    "G": [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
    "H": [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
    "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    "J": [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
    "K": [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
    "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
    "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
    "N": [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
    "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
    "P": [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
    "Q": [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
    "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
    "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
    "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
    "U": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
    "V": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
    "W": [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
    "X": [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
    "Y": [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100],
    "Z": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
  ]
}
