import Foundation
@testable import Postgres
import Testing

@Suite("Dates and timestamps without a database")
struct ValueTests {
  @Test("calendar dates validate their components")
  func calendarDates() {
    #expect(CalendarDate(iso: "2024-02-29") != nil)
    #expect(CalendarDate(iso: "2025-02-29") == nil)
    #expect(CalendarDate(iso: "2026-04-31") == nil)
    #expect(CalendarDate(iso: "2026-4-1") == nil)
    #expect(CalendarDate(iso: "01/02/2026") == nil)
    #expect(CalendarDate(iso: "2026-13-01") == nil)
  }

  @Test("day numbers round-trip across centuries")
  func dayNumbers() throws {
    for days in stride(from: -800_000, through: 800_000, by: 997) {
      let date = CalendarDate(daysSinceEpoch: days)
      #expect(date.daysSinceEpoch == days)
    }
    #expect(CalendarDate(daysSinceEpoch: 0).description == "1970-01-01")
    #expect(try #require(CalendarDate(year: 2000, month: 3, day: 1)).daysSinceEpoch == 11_017)
  }

  @Test("timestamptz text parses with any offset and refuses what it cannot place")
  func timestampParsing() {
    let precise = Timestamp.parse("2026-11-25 18:31:39.123456+00")?.timeIntervalSince1970 ?? 0
    #expect(abs(precise - 1_795_631_499.123456) < 0.000_001)
    #expect(Timestamp.parse("2026-11-25 23:01:39+04:30")?.timeIntervalSince1970 == 1_795_631_499)
    #expect(Timestamp.parse("2026-11-25 15:01:39-03:30")?.timeIntervalSince1970 == 1_795_631_499)
    #expect(Timestamp.parse("1853-06-01 00:00:00-00:01:15")?.timeIntervalSince1970 == -3_679_084_725)
    #expect(Timestamp.parse("infinity") == nil)
    #expect(Timestamp.parse("2026-11-25 18:31:39") == nil)
    #expect(Timestamp.parse("0044-03-15 12:00:00+00 BC") == nil)
  }

  @Test("timestamps format as UTC with microseconds")
  func timestampFormatting() {
    #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_631_499.25)) == "2026-11-25 18:31:39.250000+00")
    #expect(Timestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31 23:59:59.500000+00")
  }
}
