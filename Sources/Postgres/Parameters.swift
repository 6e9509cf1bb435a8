import Foundation

/// A value that can be bound to a `$n` parameter in text format.
///
/// Bind values only through this protocol: they travel apart from the SQL text,
/// so no value can change what a statement does.
public protocol PostgresParameter: Sendable {
  /// Appends the PostgreSQL text representation of the value.
  func appendPostgresText(to buffer: inout [UInt8])
}

extension String: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Int: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Int32: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Int64: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Double: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Bool: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(self ? UInt8(ascii: "t") : UInt8(ascii: "f")) }
}

extension UUID: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: uuidString.lowercased().utf8) }
}

extension CalendarDate: PostgresParameter {
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: description.utf8) }
}

extension Date: PostgresParameter {
  /// Sent as a UTC `timestamptz` literal with microseconds.
  public func appendPostgresText(to buffer: inout [UInt8]) {
    buffer.append(contentsOf: Timestamp.format(self).utf8)
  }
}

/// Bytes sent as text without checking them first; the server validates the encoding.
///
/// For input that arrived as bytes (a file, a pipe) rather than as a Swift `String`.
public struct UncheckedText: PostgresParameter {
  public let bytes: [UInt8]
  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public func appendPostgresText(to buffer: inout [UInt8]) { buffer.append(contentsOf: bytes) }
}

/// A `text[]` value: each element quoted, so commas, braces, quotes and backslashes stay inside it.
public struct TextArray: PostgresParameter {
  public let elements: [String]
  public init(_ elements: [String]) { self.elements = elements }
  public func appendPostgresText(to buffer: inout [UInt8]) {
    buffer.append(UInt8(ascii: "{"))
    for (index, element) in elements.enumerated() {
      if index > 0 { buffer.append(UInt8(ascii: ",")) }
      buffer.append(UInt8(ascii: "\""))
      for byte in element.utf8 {
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
        buffer.append(byte)
      }
      buffer.append(UInt8(ascii: "\""))
    }
    buffer.append(UInt8(ascii: "}"))
  }
}

/// Values of a statement's parameters, laid out as the NUL-terminated strings libpq wants.
struct BoundParameters {
  let array: CStringArray

  init(_ values: [(any PostgresParameter)?]) throws {
    var texts: [[UInt8]?] = []
    texts.reserveCapacity(values.count)
    for (index, value) in values.enumerated() {
      guard let value else {
        texts.append(nil)
        continue
      }
      var bytes: [UInt8] = []
      value.appendPostgresText(to: &bytes)
      if bytes.contains(0) {
        throw PostgresError(
          kind: .client,
          message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold",
          sqlstate: "22021")
      }
      texts.append(bytes)
    }
    array = CStringArray(texts)
  }

  var count: Int32 { Int32(array.count) }

  func withPointers<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws -> R) rethrows -> R {
    try array.withPointers(body)
  }
}

/// An array of C strings (nil entries are NULL pointers) in one buffer.
struct CStringArray {
  private var storage: [UInt8] = []
  private var offsets: [Int?] = []

  init(_ strings: [[UInt8]?]) {
    offsets.reserveCapacity(strings.count)
    for string in strings {
      guard let string else {
        offsets.append(nil)
        continue
      }
      offsets.append(storage.count)
      storage.append(contentsOf: string)
      storage.append(0)
    }
    storage.append(0)
  }

  var count: Int { offsets.count }

  /// Calls `body` with a pointer to the array; the pointers live only during the call.
  func withPointers<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws -> R) rethrows -> R {
    try storage.withUnsafeBytes { raw in
      let base = raw.bindMemory(to: CChar.self).baseAddress
      let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
        guard let offset, let base else { return nil }
        return base + offset
      }
      return try pointers.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
  }
}
