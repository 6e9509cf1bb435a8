import Custody
import Foundation
import Postgres
import Testing

@Suite("Reading times as people type them")
struct TimeInputTests {
  let london: Zone

  init() throws {
    london = try Zone(option: "Europe/London")
  }
  let now = Date(timeIntervalSince1970: 1_795_631_499)  // 2026-11-25 18:31:39 UTC

  func utc(_ text: String) -> String {
    guard let date = try? TimeInput.parse(text, zone: london, now: now, field: "--return-by") else { return "refused" }
    return ISO8601DateFormatter().string(from: date)
  }

  @Test("the accepted forms", arguments: [
    ("2026-12-01", "2026-12-01T17:00:00Z"),
    ("2026-07-01", "2026-07-01T16:00:00Z"),
    ("2026-12-01T09:30", "2026-12-01T09:30:00Z"),
    ("2026-07-01 09:30:15", "2026-07-01T08:30:15Z"),
    ("2026-07-01T09:30Z", "2026-07-01T09:30:00Z"),
    ("2026-07-01T09:30+05:30", "2026-07-01T04:00:00Z"),
    ("2026-07-01T09:30:00-03:00", "2026-07-01T12:30:00Z"),
    ("+4h", "2026-11-25T22:31:39Z"),
    ("+2d", "2026-11-27T18:31:39Z"),
  ])
  func accepted(input: String, expected: String) {
    #expect(utc(input) == expected)
  }

  @Test("anything else is refused, never guessed", arguments: [
    "01/02/2026", "2026-02-30", "2026-13-01", "2026-12-01T25:00", "2026-12-01T10:61", "2026-12-01T10",
    "tomorrow", "+4", "+h", "-4h", "+4w", "2026-12-01T09:30+5", "2026-12-01T09:30+05:30:00", "", "2026-12-01X09:30",
  ])
  func refused(input: String) {
    #expect(utc(input) == "refused")
  }

  @Test("a local time in the spring-forward gap is refused, saying why")
  func gap() {
    let error = #expect(throws: CustodyError.self) {
      try TimeInput.parse("2031-03-30T01:30", zone: london, now: now, field: "--return-by")
    }
    guard case .invalidValue(let message)? = error else { return }
    #expect(message.contains("does not exist in Europe/London"))
    #expect(utc("2031-03-30T01:30+01:00") == "2031-03-30T00:30:00Z")
    #expect(utc("2031-03-30T02:00") == "2031-03-30T01:00:00Z")
  }

  @Test("a local time in the autumn overlap is refused, naming both offsets")
  func overlap() {
    let error = #expect(throws: CustodyError.self) {
      try TimeInput.parse("2031-10-26 01:30", zone: london, now: now, field: "--return-by")
    }
    guard case .invalidValue(let message)? = error else { return }
    #expect(message.contains("happens twice in Europe/London"))
    #expect(message.contains("+01:00 for the first or +00:00 for the second"))
    #expect(utc("2031-10-26T01:30+00:00") == "2031-10-26T01:30:00Z")
  }

  @Test("other zones resolve by their own rules")
  func otherZones() throws {
    let kolkata = try Zone(option: "Asia/Kolkata")
    let date = try TimeInput.parse("2026-12-01T09:30", zone: kolkata, field: "--return-by")
    #expect(date.timeIntervalSince1970 == 1_796_097_600)
    #expect(throws: CustodyError.self) { try Zone(option: "Not/AZone") }
    #expect(kolkata.rfc3339(date) == "2026-12-01T09:30:00+05:30")
    #expect(london.rfc3339(date) == "2026-12-01T04:00:00+00:00")
    #expect(london.short(date) == "2026-12-01 04:00")
  }

  @Test("dates are exactly YYYY-MM-DD")
  func dates() throws {
    #expect(try TimeInput.parseDate("2010-03-15", field: "--born") == CalendarDate(year: 2010, month: 3, day: 15))
    #expect(throws: CustodyError.self) { try TimeInput.parseDate("15/03/2010", field: "--born") }
    #expect(throws: CustodyError.self) { try TimeInput.parseDate("2010-02-29", field: "--born") }
  }
}
