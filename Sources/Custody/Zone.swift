import Foundation
import Postgres

/// The IANA time zone in which local times are read and shown.
public struct Zone: Sendable {
  public static let defaultIdentifier = "Europe/London"

  public let timeZone: TimeZone

  /// `--tz`, else `CUSTODY_TZ`, else Europe/London; an unknown name is an invalid value.
  public init(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    let name = option ?? environment["CUSTODY_TZ"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultIdentifier
    guard name.contains("/") || name == "UTC", let zone = TimeZone(identifier: name) else {
      throw CustodyError.invalidValue(
        "unknown time zone '\(name)': give an IANA zone name such as Europe/London or UTC")
    }
    self.timeZone = zone
  }

  /// Local date and time parts of an instant in this zone.
  func parts(of instant: Date) -> (date: CalendarDate, seconds: Int, offset: Int) {
    let offset = timeZone.secondsFromGMT(for: instant)
    let local = Int((instant.timeIntervalSince1970).rounded(.down)) + offset
    let days = Int((Double(local) / 86_400).rounded(.down))
    return (CalendarDate(daysSinceEpoch: days), local - days * 86_400, offset)
  }

  /// RFC 3339 with this zone's offset: `2026-12-01T17:00:00+00:00`.
  public func rfc3339(_ instant: Date) -> String {
    let (date, seconds, offset) = parts(of: instant)
    return "\(date)T\(clock(seconds, withSeconds: true))" + Self.offsetText(offset)
  }

  /// `+01:00`, `-03:30`
  static func offsetText(_ offset: Int) -> String {
    let magnitude = abs(offset)
    return (offset < 0 ? "-" : "+") + "\(twoDigits(magnitude / 3600)):\(twoDigits(magnitude / 60 % 60))"
  }

  public var identifier: String { timeZone.identifier }

  /// Today's date in this zone.
  public func today(now: Date = Date()) -> CalendarDate { parts(of: now).date }

  /// Local time without seconds, for tables: `2026-12-01 17:00`.
  public func short(_ instant: Date) -> String {
    let (date, seconds, _) = parts(of: instant)
    return "\(date) \(clock(seconds, withSeconds: false))"
  }

  private func clock(_ seconds: Int, withSeconds: Bool) -> String {
    let base = "\(twoDigits(seconds / 3600)):\(twoDigits(seconds / 60 % 60))"
    return withSeconds ? base + ":\(twoDigits(seconds % 60))" : base
  }
}

func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
