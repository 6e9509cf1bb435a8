import CLibPQ

/// Owns one `PGresult`; `PQclear` runs exactly once, when the last reference goes.
final class ResultHandle {
  let pointer: OpaquePointer

  init(_ pointer: OpaquePointer) { self.pointer = pointer }

  deinit { PQclear(pointer) }
}

/// The rows and status of a completed command.
public struct QueryResult: Sequence {
  let handle: ResultHandle

  /// Number of rows returned.
  public var count: Int { Int(PQntuples(handle.pointer)) }

  /// Rows changed by INSERT, UPDATE, DELETE and the like (0 for other commands).
  public var affectedRows: Int {
    guard let text = PQcmdTuples(handle.pointer) else { return 0 }
    return Int(String(cString: text)) ?? 0
  }

  /// Column names, in order.
  public var columns: [String] {
    (0..<Int(PQnfields(handle.pointer))).map { String(cString: PQfname(handle.pointer, Int32($0))) }
  }

  public subscript(row: Int) -> Row { Row(handle: handle, index: Int32(row)) }

  /// The first row, if any.
  public var first: Row? { count > 0 ? self[0] : nil }

  public func makeIterator() -> AnyIterator<Row> {
    var next = 0
    let total = count
    return AnyIterator {
      guard next < total else { return nil }
      defer { next += 1 }
      return self[next]
    }
  }
}

/// One row of a result; reads columns by position or by name.
public struct Row {
  let handle: ResultHandle
  let index: Int32

  public var columnCount: Int { Int(PQnfields(handle.pointer)) }

  public func columnName(_ column: Int) -> String {
    String(cString: PQfname(handle.pointer, Int32(column)))
  }

  public func isNull(_ column: Int) -> Bool {
    PQgetisnull(handle.pointer, index, Int32(column)) == 1
  }

  /// The column's text, or nil for NULL; invalid UTF-8 is an error, never repaired.
  public func text(_ column: Int) throws -> String? {
    try checkColumn(column)
    if isNull(column) { return nil }
    guard let value = PQgetvalue(handle.pointer, index, Int32(column)) else { return nil }
    let length = Int(PQgetlength(handle.pointer, index, Int32(column)))
    let bytes = UnsafeRawBufferPointer(start: value, count: length).bindMemory(to: UInt8.self)
    guard let string = String(validating: bytes, as: UTF8.self) else {
      throw PostgresError(
        kind: .client,
        message: "column \"\(columnName(column))\" holds text that is not valid UTF-8")
    }
    return string
  }

  /// The column as `T`; NULL is an error.
  public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
    guard let value = try decodeIfPresent(column, as: type) else {
      throw PostgresError(kind: .client, message: "column \"\(columnName(column))\" is NULL")
    }
    return value
  }

  /// The column as `T`, or nil for NULL.
  public func decodeIfPresent<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T? {
    guard let text = try text(column) else { return nil }
    guard let value = T(postgresText: text) else {
      throw PostgresError(
        kind: .client,
        message: "column \"\(columnName(column))\" value \"\(text)\" is not a valid \(T.self)")
    }
    return value
  }

  /// The column named `name` as `T`; NULL is an error.
  public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
    try decode(try columnIndex(name), as: type)
  }

  /// The column named `name` as `T`, or nil for NULL.
  public func decodeIfPresent<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
    try decodeIfPresent(try columnIndex(name), as: type)
  }

  public func columnIndex(_ name: String) throws -> Int {
    let position = PQfnumber(handle.pointer, "\"" + name.replacing("\"", with: "\"\"") + "\"")
    guard position >= 0 else {
      throw PostgresError(kind: .client, message: "the result has no column \"\(name)\"")
    }
    return Int(position)
  }

  private func checkColumn(_ column: Int) throws {
    guard column >= 0, column < columnCount else {
      throw PostgresError(kind: .client, message: "the result has no column \(column)")
    }
  }
}
