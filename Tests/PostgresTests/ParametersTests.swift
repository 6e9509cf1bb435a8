import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Parameters and typed reads against PostgreSQL")
struct ParametersTests {
  @Test("a value that looks like SQL is stored verbatim and runs nothing")
  func injectionIsInert() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.execute("CREATE TABLE t (v text)")
      let hostile = "x'); DROP TABLE t; --"
      try connection.execute("INSERT INTO t (v) VALUES ($1)", [hostile])
      let stored = try connection.query("SELECT v FROM t")
      #expect(stored.count == 1)
      #expect(try stored[0].decode(0, as: String.self) == hostile)
      let tableExists = try connection.query("SELECT to_regclass('t') IS NOT NULL").first?.decode(0, as: Bool.self)
      #expect(tableExists == true)
    }
  }

  @Test("two statements through the parameterised path are refused")
  func twoStatementsRefused() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.execute("CREATE TABLE t (v int)")
      let error = #expect(throws: PostgresError.self) {
        try connection.query("INSERT INTO t VALUES (1); DROP TABLE t")
      }
      #expect(error?.kind == .server)
      #expect(error?.sqlstate == "42601")
      #expect(try connection.query("SELECT count(*) FROM t").first?.decode(0, as: Int.self) == 0)
    }
  }

  @Test("a text[] keeps commas, braces, quotes, backslashes, spaces, NULL as a word and the empty string inside its elements")
  func textArrayRoundTrip() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let elements = ["a,b", "{c}", "say \"hi\"", "back\\slash", " padded ", "NULL", "", "é"]
      let rows = try connection.query(
        "SELECT e, cardinality($1::text[]) FROM unnest($1::text[]) WITH ORDINALITY AS u(e, n) ORDER BY n",
        [TextArray(elements)])
      #expect(try rows.map { try $0.decode(0, as: String.self) } == elements)
      #expect(try rows.first?.decode(1, as: Int.self) == elements.count)
      #expect(try connection.query("SELECT cardinality($1::text[])", [TextArray([])]).first?.decode(0, as: Int.self) == 0)
    }
  }

  @Test("NULL round-trips through every supported type")
  func nullsRoundTrip() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.execute(
        "CREATE TABLE n (t text, i bigint, b boolean, d date, ts timestamptz, u uuid)")
      try connection.execute("INSERT INTO n VALUES ($1, $2, $3, $4, $5, $6)", [nil, nil, nil, nil, nil, nil])
      let row = try #require(try connection.query("SELECT t, i, b, d, ts, u FROM n").first)
      #expect(try row.decodeIfPresent(0, as: String.self) == nil)
      #expect(try row.decodeIfPresent(1, as: Int.self) == nil)
      #expect(try row.decodeIfPresent(2, as: Bool.self) == nil)
      #expect(try row.decodeIfPresent(3, as: CalendarDate.self) == nil)
      #expect(try row.decodeIfPresent(4, as: Date.self) == nil)
      #expect(try row.decodeIfPresent(5, as: UUID.self) == nil)
      #expect(row.isNull(0))
      #expect(throws: PostgresError.self) { try row.decode(0, as: String.self) }
      // NULL is distinct from the empty string.
      try connection.execute("INSERT INTO n (t) VALUES ($1)", [""])
      #expect(try connection.query("SELECT count(*) FROM n WHERE t IS NULL").first?.decode(0, as: Int.self) == 1)
    }
  }

  @Test("values round-trip with their types")
  func typedRoundTrip() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let id = UUID()
      let instant = Date(timeIntervalSince1970: 1_795_000_000.123456)
      let day = try #require(CalendarDate(year: 2004, month: 2, day: 29))
      let text = "Zoë said \"no\" — 子ども\ttab"
      let row = try #require(
        try connection.query(
          "SELECT $1::text, $2::bigint, $3::boolean, $4::date, $5::timestamptz, $6::uuid, $7::int",
          [text, Int64.max, true, day, instant, id, Int32.min]
        ).first)
      #expect(try row.decode(0, as: String.self) == text)
      #expect(try row.decode(1, as: Int64.self) == Int64.max)
      #expect(try row.decode(2, as: Bool.self) == true)
      #expect(try row.decode(3, as: CalendarDate.self) == day)
      let back = try row.decode(4, as: Date.self)
      #expect(abs(back.timeIntervalSince1970 - instant.timeIntervalSince1970) < 0.000_001)
      #expect(try row.decode(5, as: UUID.self) == id)
      #expect(try row.decode(6, as: Int32.self) == Int32.min)
      #expect(try row.decode("uuid", as: UUID.self) == id)
    }
  }

  @Test("timestamptz is read correctly whatever the session's time zone", arguments: [
    "UTC", "Asia/Kolkata", "America/St_Johns", "Europe/London", "Pacific/Chatham",
  ])
  func timestampsInAnyZone(zone: String) throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      try connection.query("SELECT set_config('timezone', $1, false)", [zone])
      let row = try #require(
        try connection.query(
          "SELECT '2031-03-30 00:59:59.5+00'::timestamptz, '1969-12-31 23:59:59+00'::timestamptz"
        ).first)
      #expect(try row.decode(0, as: Date.self).timeIntervalSince1970 == 1_932_598_799.5)
      #expect(try row.decode(1, as: Date.self).timeIntervalSince1970 == -1)
    }
  }

  @Test("a value that is not the requested type is an error, not a guess")
  func wrongType() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let row = try #require(try connection.query("SELECT 'abc', 'infinity'::timestamptz").first)
      #expect(throws: PostgresError.self) { try row.decode(0, as: Int.self) }
      #expect(throws: PostgresError.self) { try row.decode(1, as: Date.self) }
      #expect(throws: PostgresError.self) { try row.decode(7, as: String.self) }
      #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
    }
  }

  @Test("invalid UTF-8 sent as a parameter is refused by the server with a clear error")
  func invalidUTF8Parameter() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let error = #expect(throws: PostgresError.self) {
        try connection.query("SELECT $1::text", [UncheckedText([0x66, 0xFF, 0x6F])])
      }
      #expect(error?.sqlstate == "22021")
      #expect(error?.message.contains("invalid byte sequence for encoding \"UTF8\"") == true)
    }
  }

  @Test("invalid UTF-8 read from the server is an error, never silently repaired")
  func invalidUTF8Result() throws {
    let admin = try TestDatabase.admin()
    let name = "custody_t_ascii_" + UUID().uuidString.prefix(8).lowercased()
    try admin.executeTrustedScript("CREATE DATABASE \(name) ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    defer { try? admin.executeTrustedScript("DROP DATABASE \(name) WITH (FORCE)") }
    let connection = try Connection(TestDatabase.conninfoForTests(database: name))
    // With SQL_ASCII on both sides the server passes bytes through unchecked.
    try connection.query("SELECT set_config('client_encoding', 'SQL_ASCII', false)")
    let row = try #require(try connection.query("SELECT chr(255) || 'A'").first)
    let error = #expect(throws: PostgresError.self) { try row.text(0) }
    #expect(error?.message.contains("not valid UTF-8") == true)
  }

  @Test("a NUL character in a parameter is refused before it is sent")
  func nulRefused() throws {
    try TestDatabase.with(migrated: false) { db in
      let connection = try db.connect()
      let error = #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["a\u{0}b"]) }
      #expect(error?.kind == .client)
      #expect(error?.message.contains("$1") == true)
    }
  }
}
