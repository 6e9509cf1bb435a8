import CLibPQ

/// Removes passwords from text that libpq wrote about a connection string.
///
/// libpq can echo pieces of a malformed URI in its messages; a password in
/// that URI must never reach a terminal or a log.
enum Redaction {
  static let mask = "********"

  static func scrub(_ text: String, conninfo: String?) -> String {
    guard let conninfo, !conninfo.isEmpty else { return text }
    var result = text
    for secret in secrets(in: conninfo) where !secret.isEmpty {
      result = result.replacing(secret, with: mask)
    }
    return result
  }

  /// Every spelling of a password that `conninfo` may carry.
  static func secrets(in conninfo: String) -> [String] {
    var found: [String] = []
    if let parsed = parsedPassword(conninfo) { found.append(parsed) }
    // URI user info: scheme://user:password@host
    if let schemeEnd = conninfo.firstRange(of: "://") {
      let rest = conninfo[schemeEnd.upperBound...]
      let authority = rest.prefix { $0 != "/" && $0 != "?" }
      if let at = authority.lastIndex(of: "@") {
        let userInfo = authority[..<at]
        if let colon = userInfo.firstIndex(of: ":") {
          let raw = String(userInfo[userInfo.index(after: colon)...])
          found.append(raw)
          if let decoded = raw.removingPercentEncodingLossy() { found.append(decoded) }
        }
      }
    }
    // key=value strings and URI query parameters: password=...
    for separator in ["password=", "password ="] {
      var search = conninfo[...]
      while let range = search.firstRange(of: separator) {
        var value = search[range.upperBound...].drop { $0 == " " }
        if value.first == "'" {
          value = value.dropFirst().prefix { $0 != "'" }
        } else {
          value = value.prefix { $0 != " " && $0 != "&" }
        }
        if !value.isEmpty {
          found.append(String(value))
          if let decoded = String(value).removingPercentEncodingLossy() { found.append(decoded) }
        }
        search = search[range.upperBound...]
      }
    }
    // Longest first, so a password that contains another is masked whole.
    return Array(Set(found)).sorted { $0.count > $1.count }
  }

  private static func parsedPassword(_ conninfo: String) -> String? {
    var errorMessage: UnsafeMutablePointer<CChar>?
    guard let options = PQconninfoParse(conninfo, &errorMessage) else {
      if let errorMessage { PQfreemem(errorMessage) }
      return nil
    }
    defer { PQconninfoFree(options) }
    var option = options
    while let keyword = option.pointee.keyword {
      if String(cString: keyword) == "password", let value = option.pointee.val {
        return String(cString: value)
      }
      option += 1
    }
    return nil
  }
}

extension String {
  /// Percent-decodes `%XX` escapes; nil when nothing was decoded or the bytes are not UTF-8.
  func removingPercentEncodingLossy() -> String? {
    guard contains("%") else { return nil }
    var bytes: [UInt8] = []
    var iterator = utf8.makeIterator()
    while let byte = iterator.next() {
      if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
        let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
      {
        bytes.append(value)
      } else {
        bytes.append(byte)
      }
    }
    return String(validating: bytes, as: UTF8.self)
  }
}
