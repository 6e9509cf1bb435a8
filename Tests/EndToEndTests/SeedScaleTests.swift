import Foundation
import Postgres
import TestSupport
import Testing

@Suite("scripts/seed-scale writes a consistent agency that the custody API can work with")
struct SeedScaleTests {
  func seed(_ db: TestDatabase, _ arguments: [String]) throws -> CLI.Outcome {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    return try CLI.spawn(
      root.appendingPathComponent("scripts/seed-scale"), arguments,
      environment: ["CUSTODY_DATABASE_URL": db.conninfo()])
  }

  @Test("a small seed passes its consistency check; a broken invariant fails it")
  func smallSeed() throws {
    try TestDatabase.with { db in
      let seeded = try seed(db, ["--files", "2000"])
      #expect(seeded.status == 0, "\(seeded)")
      #expect(seeded.stdout.contains("seed-check: every invariant holds"), "\(seeded)")
      let owner = try db.connect()
      let counts = try #require(try owner.query(
        """
        SELECT (SELECT count(*) FROM custody.file), (SELECT count(*) FROM custody.office),
               (SELECT count(*) FROM custody.staff), (SELECT count(*) FROM custody.event)
        """).first)
      #expect(try counts.decode(0, as: Int.self) == 2000)
      #expect(try counts.decode(1, as: Int.self) == 40)
      #expect(try counts.decode(2, as: Int.self) == 2000)
      #expect(try counts.decode(3, as: Int.self) >= 5 * 2000)

      // The seeded agency works through the API: a practitioner checks out a file at base.
      let label = try #require(try owner.query(
        "SELECT label FROM custody.file WHERE office = 'OF01' AND status = 'at_base' AND base = 'OF01' AND NOT confidential ORDER BY id LIMIT 1"
      ).first?.decode(0, as: String.self))
      let out = try CLI.run(
        ["checkout", label, "--whereabouts", "court", "--return-by", "+2h"],
        environment: ["CUSTODY_DATABASE_URL": db.conninfo(user: "s0010")])
      #expect(out.status == 0, "\(out)")
      #expect(try seed(db, ["--check"]).status == 0)

      // A file whose base and office disagree breaks the check.
      try owner.execute("UPDATE custody.file SET base = 'OF02' WHERE label = $1", [label])
      let broken = try seed(db, ["--check"])
      #expect(broken.status != 0, "\(broken)")
      #expect(broken.stdout.contains("seed-check: FAILED"), "\(broken)")

      let again = try seed(db, ["--files", "2000"])
      #expect(again.stdout.contains("already holds 40 offices"), "\(again)")
      #expect(try seed(db, ["--files", "ten"]).status == 65)
    }
  }
}
