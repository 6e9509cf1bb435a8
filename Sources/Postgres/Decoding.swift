import Foundation

/// A type that can be read from a column in PostgreSQL's text format.
public protocol PostgresDecodable {
  /// Builds a value from the column's text; nil when the text is not a valid value.
  init?(postgresText text: String)
}

extension String: PostgresDecodable {
  public init?(postgresText text: String) { self = text }
}

extension Int: PostgresDecodable {
  public init?(postgresText text: String) { self.init(text) }
}

extension Int32: PostgresDecodable {
  public init?(postgresText text: String) { self.init(text) }
}

extension Int64: PostgresDecodable {
  public init?(postgresText text: String) { self.init(text) }
}

extension Double: PostgresDecodable {
  public init?(postgresText text: String) { self.init(text) }
}

extension Bool: PostgresDecodable {
  public init?(postgresText text: String) {
    switch text {
    case "t": self = true
    case "f": self = false
    default: return nil
    }
  }
}

extension UUID: PostgresDecodable {
  public init?(postgresText text: String) { self.init(uuidString: text) }
}

extension CalendarDate: PostgresDecodable {
  public init?(postgresText text: String) { self.init(iso: text) }
}

extension Date: PostgresDecodable {
  /// Reads a `timestamptz`; `infinity` and values without an offset are refused.
  public init?(postgresText text: String) {
    guard let date = Timestamp.parse(text) else { return nil }
    self = date
  }
}
