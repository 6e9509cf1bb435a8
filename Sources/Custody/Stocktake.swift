import Foundation
import Postgres

/// A stocktake of a secure base through the custody API's stocktake functions
/// (engine/55_stocktake.sql), which hold every rule: who may hold one, what was expected, what a
/// scan found. Nothing here changes a file's state.
public struct Stocktakes {
  public let connection: Connection

  public init(_ connection: Connection) {
    self.connection = connection
  }

  /// What one scan found, as the record has the file now.
  public struct Scan: Sendable, Equatable {
    /// `expected`, `already scanned`, `out of place` or `unknown`.
    public let outcome: String
    public let label: String?
    public let status: String?
    public let secureBase: String?
    public let holder: String?
    public let destination: String?

    /// One line for a person at the cabinet: the outcome, and where the record has a file out of place.
    public var line: String {
      guard outcome == "out of place" || (outcome == "already scanned" && label != nil) else {
        return outcome
      }
      let place: String
      switch status {
      case "checked_out": place = "checked out to \(holder ?? "?")"
      case "in_transit": place = "in transit from \(secureBase ?? "?") to \(destination ?? "?")"
      case "missing": place = "recorded missing (secure base \(secureBase ?? "?"))"
      case "destroyed": place = "recorded destroyed"
      default: place = "at secure base \(secureBase ?? "?")"
      }
      return outcome == "out of place" ? "out of place: \(place)" : "already scanned"
    }
  }

  /// A finding that needs a person: `not_seen`, `out_of_place` or `unknown`.
  public struct Finding: Sendable {
    public let finding: String
    public let label: String
    public let caseNumber: String?
    public let status: String?
    public let statusSince: Date?
    public let secureBase: String?
    public let holder: String?
    public let destination: String?
  }

  public struct Result: Sendable {
    public let id: Int
    public let base: String
    public let office: String
    public let note: String?
    public let startedAt: Date
    public let startedBy: String
    public let finishedAt: Date?
    public let expected: Int
    public let seen: Int
    public let findings: [Finding]
  }

  public func start(request: UUID, base: String, note: String?) throws -> Int {
    let row = try connection.query(
      "SELECT custody.stocktake_start($1::uuid, $2::text, $3::text)", [request, base, note]
    ).first
    guard let row else { throw CustodyError.notFound("the stocktake was not opened") }
    return try row.decode(0, as: Int.self)
  }

  public func scan(_ id: Int, _ scanned: String) throws -> Scan {
    guard let row = try connection.query(
      "SELECT * FROM custody.stocktake_scan($1::bigint, $2::text)", [id, scanned]
    ).first else {
      throw CustodyError.notFound("no answer for a scan")
    }
    return Scan(
      outcome: try row.decode(0), label: try row.decodeIfPresent(1), status: try row.decodeIfPresent(2),
      secureBase: try row.decodeIfPresent(3), holder: try row.decodeIfPresent(4),
      destination: try row.decodeIfPresent(5))
  }

  public func finish(_ id: Int) throws {
    _ = try connection.query("SELECT custody.stocktake_finish($1::bigint)", [id])
  }

  public func result(_ id: Int) throws -> Result {
    guard let s = try connection.query("SELECT * FROM custody.stocktake_summary($1::bigint)", [id]).first else {
      throw CustodyError.notFound("no stocktake \(id)")
    }
    let findings = try connection.query("SELECT * FROM custody.stocktake_findings($1::bigint)", [id]).map { row in
      Finding(
        finding: try row.decode(0), label: try row.decode(1), caseNumber: try row.decodeIfPresent(2),
        status: try row.decodeIfPresent(3), statusSince: try row.decodeIfPresent(4),
        secureBase: try row.decodeIfPresent(5), holder: try row.decodeIfPresent(6),
        destination: try row.decodeIfPresent(7))
    }
    return Result(
      id: try s.decode(0), base: try s.decode(1), office: try s.decode(2), note: try s.decodeIfPresent(3),
      startedAt: try s.decode(4), startedBy: try s.decode(5), finishedAt: try s.decodeIfPresent(6),
      expected: try s.decode(7), seen: try s.decode(8), findings: findings)
  }
}
