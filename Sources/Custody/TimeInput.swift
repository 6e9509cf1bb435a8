import Foundation
import Postgres

/// Reads the times people type (CLI.md, "Times") in a zone.
public enum TimeInput {
  static let forms =
    "YYYY-MM-DD (17:00 that day), YYYY-MM-DDTHH:MM[:SS] or 'YYYY-MM-DD HH:MM[:SS]' (local time), "
    + "the same with Z or ±HH:MM, or +Nh / +Nd from now"

  /// The instant `text` names; `now` anchors the relative forms.
  public static func parse(_ text: String, zone: Zone, now: Date = Date(), field: String) throws -> Date {
    let invalid = CustodyError.invalidValue("\(field) '\(text)' is not a time: use \(forms)")
    if let relative = try parseRelative(text, now: now, invalid: invalid) { return relative }
    let scalars = Array(text.unicodeScalars)
    guard scalars.count >= 10, let date = CalendarDate(iso: String(String.UnicodeScalarView(scalars[0..<10])))
    else { throw invalid }
    var rest = String(String.UnicodeScalarView(scalars[10...]))
    if rest.isEmpty {
      return try resolve(date: date, seconds: 17 * 3600, zone: zone, text: text, field: field)
    }
    guard rest.first == "T" || rest.first == " " else { throw invalid }
    rest.removeFirst()
    // The clock: HH:MM or HH:MM:SS, then an optional Z or ±HH:MM.
    var clock = rest
    var offset: Int?
    if clock.hasSuffix("Z") {
      offset = 0
      clock.removeLast()
    } else if let sign = clock.lastIndex(where: { $0 == "+" || $0 == "-" }) {
      let zonePart = clock[sign...]
      clock = String(clock[..<sign])
      guard zonePart.count == 6, let hours = Int(zonePart.dropFirst().prefix(2)),
        zonePart.dropFirst(3).first == ":", let minutes = Int(zonePart.suffix(2)),
        hours <= 23, minutes <= 59, zonePart.dropFirst().allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":") })
      else { throw invalid }
      offset = (hours * 3600 + minutes * 60) * (zonePart.first == "-" ? -1 : 1)
    }
    let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3,
      parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
      let hour = Int(parts[0]), let minute = Int(parts[1]), hour <= 23, minute <= 59
    else { throw invalid }
    let second = parts.count == 3 ? Int(parts[2]) ?? 99 : 0
    guard second <= 59 else { throw invalid }
    let seconds = hour * 3600 + minute * 60 + second
    if let offset {
      return Date(timeIntervalSince1970: TimeInterval(date.daysSinceEpoch * 86_400 + seconds - offset))
    }
    return try resolve(date: date, seconds: seconds, zone: zone, text: text, field: field)
  }

  /// A calendar date typed alone (`--born`, `--on`): exactly YYYY-MM-DD.
  public static func parseDate(_ text: String, field: String) throws -> CalendarDate {
    guard let date = CalendarDate(iso: text) else {
      throw CustodyError.invalidValue("\(field) '\(text)' is not a date: use YYYY-MM-DD")
    }
    return date
  }

  private static func parseRelative(_ text: String, now: Date, invalid: CustodyError) throws -> Date? {
    guard text.first == "+" else { return nil }
    let unit = text.last
    let digits = text.dropFirst().dropLast()
    guard unit == "h" || unit == "d", !digits.isEmpty, digits.count <= 5,
      digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(digits)
    else { throw invalid }
    return now.addingTimeInterval(TimeInterval(count * (unit == "h" ? 3600 : 86_400)))
  }

  /// The one instant at which the zone's clocks show `date` and `seconds`; a time the clocks
  /// skip or show twice is refused rather than guessed.
  static func resolve(date: CalendarDate, seconds: Int, zone: Zone, text: String, field: String) throws -> Date {
    let wall = date.daysSinceEpoch * 86_400 + seconds
    let offsets = Set([-86_400, 0, 86_400].map {
      zone.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(wall + $0)))
    })
    let instants = offsets.map { wall - $0 }.filter { candidate in
      zone.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(candidate))) == wall - candidate
    }.sorted()
    let name = zone.timeZone.identifier
    switch instants.count {
    case 1:
      return Date(timeIntervalSince1970: TimeInterval(instants[0]))
    case 0:
      throw CustodyError.invalidValue(
        "\(field) '\(text)' does not exist in \(name): the clocks go forward over it; give a time outside the gap, or an explicit offset")
    default:
      let choices = instants.map { Zone.offsetText(wall - $0) }
      throw CustodyError.invalidValue(
        "\(field) '\(text)' happens twice in \(name) (the clocks go back); add the offset, \(choices[0]) for the first or \(choices[1]) for the second")
    }
  }
}
