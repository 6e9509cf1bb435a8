/// How many terminal columns text takes: wide (East Asian) characters and emoji take two, combining
/// marks and other invisible characters none, everything else one.
extension String {
  public var displayWidth: Int {
    // Printable ASCII, most of what tables hold, is one column a byte.
    if utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return utf8.count }
    return reduce(0) { $0 + $1.displayWidth }
  }

  /// The longest prefix that fits in `columns` terminal columns.
  func prefix(fittingColumns columns: Int) -> String {
    if utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(prefix(columns)) }
    var used = 0
    var result = ""
    for character in self {
      let width = character.displayWidth
      if used + width > columns { break }
      used += width
      result.append(character)
    }
    return result
  }
}

extension Character {
  var displayWidth: Int {
    let scalars = unicodeScalars
    guard let first = scalars.first else { return 0 }
    if scalars.contains(where: { $0.properties.isEmojiPresentation })
      || (scalars.contains("\u{FE0F}") && first.properties.isEmoji)
      || Self.isWide(first.value)
    {
      return 2
    }
    let invisible = scalars.allSatisfy { scalar in
      switch scalar.properties.generalCategory {
      case .nonspacingMark, .enclosingMark, .format, .control: return true
      default: return false
      }
    }
    return invisible ? 0 : 1
  }

  /// East Asian Wide and Fullwidth code points (Unicode's EastAsianWidth.txt, W and F).
  private static func isWide(_ value: UInt32) -> Bool {
    switch value {
    case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
      0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
      0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
      0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
      return true
    default:
      return false
    }
  }
}
