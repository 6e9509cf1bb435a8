import Custody
import Postgres
import Testing

@Suite("Exit codes for every kind of failure")
struct FailureTests {
  @Test("server errors map to CLI.md's exit codes by SQLSTATE", arguments: [
    ("40001", Custody.ExitStatus.temporary), ("40P01", .temporary), ("55P03", .temporary),
    ("42501", .permissionDenied), ("28P01", .permissionDenied), ("23505", .refused),
    ("22007", .invalidValue), ("22021", .invalidValue), ("23514", .invalidValue),
    ("08006", .unavailable), ("57P03", .unavailable), ("42601", .internalError), ("XX000", .internalError),
  ])
  func sqlstates(sqlstate: String, expected: Custody.ExitStatus) {
    let error = PostgresError(kind: .server, message: "m", sqlstate: sqlstate)
    #expect(Failure(error).code == expected)
  }

  @Test("connection failures are 69, lost connections 75 with a retry hint")
  func connectionKinds() {
    #expect(Failure(PostgresError(kind: .connectionFailed, message: "no")).code == .unavailable)
    let lost = Failure(PostgresError(kind: .connectionLost, message: "gone"))
    #expect(lost.code == .temporary)
    #expect(lost.hint?.contains("--request-id") == true)
  }

  @Test("client refusals map by their SQLSTATE; other client errors are internal")
  func clientErrors() {
    #expect(Failure(PostgresError(kind: .client, message: "NUL", sqlstate: "22021")).code == .invalidValue)
    #expect(Failure(PostgresError(kind: .client, message: "bad UTF-8 from the server")).code == .internalError)
  }

  @Test("the custody API's own SQLSTATEs", arguments: [
    ("U0001", Custody.ExitStatus.refused), ("U0002", .notFound), ("U0003", .invalidValue),
  ])
  func apiStates(sqlstate: String, expected: Custody.ExitStatus) {
    #expect(Failure(PostgresError(kind: .server, message: "m", sqlstate: sqlstate)).code == expected)
  }

  @Test("custody errors keep their exit codes")
  func custodyErrors() {
    #expect(Failure(CustodyError.invalidValue("x")).code.rawValue == 65)
    #expect(Failure(CustodyError.notFound("x")).code.rawValue == 66)
    #expect(Failure(CustodyError.refused("x")).code.rawValue == 1)
    #expect(Failure(CustodyError.permissionDenied("x")).code.rawValue == 77)
    #expect(Failure(CustodyError.configuration("x", hint: nil)).code.rawValue == 78)
    #expect(Failure(CustodyError.usage("x")).code.rawValue == 64)
  }

  @Test("schema mismatches are configuration errors with a hint")
  func schema() {
    let behind = Failure(MigrationError.pending(files: ["0002_x.sql"]))
    #expect(behind.code == .configuration)
    #expect(behind.hint == "run 'custody migrate' as the database owner")
    let ahead = Failure(MigrationError.unknownApplied(files: ["0009_y.sql"]))
    #expect(ahead.code == .configuration)
    #expect(ahead.message.contains("0009_y.sql"))
  }
}
