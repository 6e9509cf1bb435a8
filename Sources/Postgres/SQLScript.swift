/// Splits a SQL script into statements, keeping where each one starts,
/// so an error can be reported with the file's line number.
///
/// Understands quoted strings (`'...'`, `E'...'`), quoted identifiers, dollar quoting,
/// and `--` and nested `/* */` comments. SQL-standard `BEGIN ATOMIC` bodies are not
/// supported: write function bodies with dollar quoting.
public enum SQLScript {
  public struct Statement: Sendable, Equatable {
    /// The statement's text, with the comments and blank lines before it.
    public let text: String
    /// The file line on which `text` begins (1-based).
    public let firstLine: Int
    /// The file line of the statement's first keyword.
    public let keywordLine: Int

    /// The file line holding character `position` (1-based, as PostgreSQL counts) of `text`.
    public func line(atPosition position: Int) -> Int {
      var line = firstLine
      for scalar in text.unicodeScalars.prefix(max(position - 1, 0)) where scalar == "\n" {
        line += 1
      }
      return line
    }
  }

  public static func statements(in script: String) -> [Statement] {
    let s = Array(script.unicodeScalars)
    var statements: [Statement] = []
    var start = 0
    var startLine = 1
    var keywordLine: Int?
    var line = 1
    var i = 0

    func isIdentifier(_ c: Unicode.Scalar) -> Bool {
      c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c)
    }
    func advance() {
      if s[i] == "\n" { line += 1 }
      i += 1
    }
    func finish(through end: Int) {
      if let keywordLine {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: s[start..<end])
        statements.append(Statement(text: String(text), firstLine: startLine, keywordLine: keywordLine))
      }
      keywordLine = nil
    }

    while i < s.count {
      let c = s[i]
      let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
      if c == "-" && next == "-" {
        while i < s.count && s[i] != "\n" { advance() }
        continue
      }
      if c == "/" && next == "*" {
        var depth = 0
        repeat {
          if s[i] == "/" && i + 1 < s.count && s[i + 1] == "*" {
            depth += 1
            advance()
          } else if s[i] == "*" && i + 1 < s.count && s[i + 1] == "/" {
            depth -= 1
            advance()
          }
          advance()
        } while i < s.count && depth > 0
        continue
      }
      if c == ";" {
        advance()
        finish(through: i)
        start = i
        startLine = line
        continue
      }
      if keywordLine == nil && !c.properties.isWhitespace { keywordLine = line }
      if c == "'" {
        let escapes = i > 0 && (s[i - 1] == "E" || s[i - 1] == "e") && (i < 2 || !isIdentifier(s[i - 2]))
        advance()
        while i < s.count {
          if escapes && s[i] == "\\" && i + 1 < s.count {
            advance()
            advance()
          } else if s[i] == "'" {
            advance()
            if i < s.count && s[i] == "'" { advance() } else { break }
          } else {
            advance()
          }
        }
        continue
      }
      if c == "\"" {
        advance()
        while i < s.count {
          if s[i] == "\"" {
            advance()
            if i < s.count && s[i] == "\"" { advance() } else { break }
          } else {
            advance()
          }
        }
        continue
      }
      if c == "$" && (i == 0 || !isIdentifier(s[i - 1])), let tagEnd = dollarTagEnd(s, from: i) {
        let tag = s[i...tagEnd]
        while i <= tagEnd { advance() }
        while i < s.count && !s[i...].starts(with: tag) { advance() }
        for _ in 0..<tag.count where i < s.count { advance() }
        continue
      }
      advance()
    }
    finish(through: s.count)
    return statements
  }

  /// The index of the closing `$` of a dollar-quote tag starting at `start`, if there is one.
  private static func dollarTagEnd(_ s: [Unicode.Scalar], from start: Int) -> Int? {
    var j = start + 1
    while j < s.count {
      let c = s[j]
      if c == "$" { return j }
      let allowed = c == "_" || c.properties.isAlphabetic || (j > start + 1 && ("0"..."9").contains(c))
      guard allowed else { return nil }
      j += 1
    }
    return nil
  }
}
