import Foundation

/// Reads and writes PostgreSQL's ISO text form of `timestamptz`.
enum Timestamp {
  /// `2026-11-25 18:31:39.123456+00`, in UTC.
  static func format(_ date: Date) -> String {
    let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
    let micros = Int(totalMicros)
    var seconds = micros / 1_000_000
    var fraction = micros % 1_000_000
    if fraction < 0 {
      fraction += 1_000_000
      seconds -= 1
    }
    var days = seconds / 86_400
    var secondOfDay = seconds % 86_400
    if secondOfDay < 0 {
      secondOfDay += 86_400
      days -= 1
    }
    let day = CalendarDate(daysSinceEpoch: days)
    return "\(day) \(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
      + ".\(pad(fraction, 6))+00"
  }

  /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]` (DateStyle ISO); nil otherwise.
  static func parse(_ text: String) -> Date? {
    let bytes = Array(text.utf8)
    var index = 0
    func number(_ width: Int) -> Int? {
      guard index + width <= bytes.count else { return nil }
      var value = 0
      for byte in bytes[index..<(index + width)] {
        guard byte >= 48, byte <= 57 else { return nil }
        value = value * 10 + Int(byte - 48)
      }
      index += width
      return value
    }
    func expect(_ character: Character) -> Bool {
      guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
      index += 1
      return true
    }
    guard let year = number(4), expect("-"), let month = number(2), expect("-"),
      let dayOfMonth = number(2), expect(" ") || expect("T"),
      let hour = number(2), expect(":"), let minute = number(2), expect(":"),
      let second = number(2),
      let day = CalendarDate(year: year, month: month, day: dayOfMonth)
    else { return nil }
    var micros = 0
    if expect(".") {
      var digits = 0
      while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
        if digits < 6 { micros = micros * 10 + Int(bytes[index] - 48) }
        digits += 1
        index += 1
      }
      guard digits > 0 else { return nil }
      for _ in digits..<max(digits, 6) { micros *= 10 }
    }
    guard index < bytes.count, bytes[index] == 43 || bytes[index] == 45 else { return nil }
    let sign = bytes[index] == 43 ? 1 : -1
    index += 1
    guard let offsetHours = number(2) else { return nil }
    var offsetSeconds = offsetHours * 3600
    if expect(":") {
      guard let offsetMinutes = number(2) else { return nil }
      offsetSeconds += offsetMinutes * 60
      if expect(":") {
        guard let extra = number(2) else { return nil }
        offsetSeconds += extra
      }
    }
    guard index == bytes.count else { return nil }
    let local = day.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second
    let utc = local - sign * offsetSeconds
    return Date(timeIntervalSince1970: TimeInterval(utc) + TimeInterval(micros) / 1_000_000)
  }
}
