import Foundation
@testable import Postgres
import Testing

@Suite("Splitting migration scripts into statements")
struct SQLScriptTests {
  @Test("semicolons inside strings, identifiers, dollar quotes and comments do not split")
  func quoting() {
    let script = """
      -- a comment; not a statement
      CREATE TABLE "odd;name" (v text DEFAULT 'a;b''c');
      /* block; /* nested; */ still comment; */
      INSERT INTO t VALUES (E'it\\'s; fine');
      CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
      BEGIN
        RETURN 1; -- inside
      END $body$;
      SELECT $1, a$b FROM t;
      SELECT $$x;y$$
      """
    let statements = SQLScript.statements(in: script)
    #expect(statements.count == 5)
    #expect(statements.map(\.keywordLine) == [2, 4, 5, 9, 10])
    #expect(statements[0].text.hasSuffix("(v text DEFAULT 'a;b''c');"))
    #expect(statements[3].text.contains("SELECT $1, a$b FROM t;"))
    #expect(statements[4].text.hasSuffix("SELECT $$x;y$$"))
  }

  @Test("a position in a statement maps to the file's line")
  func positions() throws {
    let script = "SELECT 1;\n\n-- note\nCREATE TABLE t (\n  v nosuchtype\n);\n"
    let statements = SQLScript.statements(in: script)
    #expect(statements.count == 2)
    let create = statements[1]
    let offset = try #require(create.text.firstRange(of: "nosuchtype")).lowerBound
    let position = create.text.unicodeScalars.distance(from: create.text.startIndex, to: offset) + 1
    #expect(create.line(atPosition: position) == 5)
    #expect(create.keywordLine == 4)
  }

  @Test("empty statements and trailing comments are dropped")
  func empties() {
    #expect(SQLScript.statements(in: ";;  \n-- only a comment\n").isEmpty)
    #expect(SQLScript.statements(in: "SELECT 1;;\n-- end").count == 1)
  }
}
