import ArgumentParser
import Custody
import Foundation

struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Prove that the custody record is as it was written: every event matches its digest.",
    discussion: """
      Each event carries a digest of its content and of the event before it in its file's (else its \
      case's) chain. verify recomputes them all in the database and exits 0 when the record is intact, \
      printing a checkpoint (an event's id and a digest of every event up to it); keep checkpoints \
      somewhere the database's administrators cannot change. \
      Otherwise it exits 3 and names the first event that does not match (its id, file and time) and \
      how many follow it. With --from, it also proves that nothing recorded up to that checkpoint has \
      changed since, even if the digests after a change were recomputed. For the database owner and \
      directors.
      """)

  @Option(
    name: .customLong("from"),
    help: ArgumentHelp("A checkpoint printed by an earlier verify.", valueName: "checkpoint"))
  var checkpoint: String?

  @OptionGroup var global: GlobalOptions

  func run() throws {
    let kept = try checkpoint.map(Checkpoint.init(parsing:))
    let (connection, writer) = try global.open()
    guard
      let row = try connection.query(
        """
        SELECT events, broken_id, broken_kind, broken_label, broken_at, following, reason, newest_id, encode(newest_digest, 'hex')
          FROM custody.verify_record($1::bigint, decode($2::text, 'hex'))
        """, [kept?.id, kept?.digest]
      ).first
    else { throw CustodyError.notFound("verify returned nothing") }
    let events: Int = try row.decode(0)
    let brokenID: Int? = try row.decodeIfPresent(1)
    let kind: String? = try row.decodeIfPresent(2)
    let label: String? = try row.decodeIfPresent(3)
    let at: Date? = try row.decodeIfPresent(4)
    let following: Int? = try row.decodeIfPresent(5)
    let reason: String? = try row.decodeIfPresent(6)
    let newest: Int? = try row.decodeIfPresent(7)
    let digest: String? = try row.decodeIfPresent(8)
    // A record that does not match has no checkpoint worth keeping.
    let now = brokenID != nil ? nil : newest.flatMap { id in digest.map { Checkpoint(id: id, digest: $0).text } }
    switch writer.format {
    case .json:
      writer.document(
        .object([
          ("intact", .bool(brokenID == nil)), ("events", .int(events)),
          ("checkpoint", now.map(JSON.string) ?? .null),
          (
            "first_broken",
            brokenID.map { id in
              .object([
                ("id", .int(id)), ("kind", writer.json(.text(kind))), ("label", writer.json(.text(label))), ("at", writer.json(.instant(at))),
                ("reason", writer.json(.text(reason))),
              ])
            } ?? .null
          ),
          ("following", brokenID == nil ? .null : .int(following ?? 0)),
        ]))
    case .table, .csv:
      if brokenID == nil {
        writer.text("the record is intact: \(events) events\(kept.map { ", unchanged up to event \($0.id)" } ?? "")\n")
        writer.text("checkpoint: \(now ?? "none (no events yet)")\n")
      }
    }
    guard let brokenID else { return }
    let what = [kind, label, at.map { writer.tableText(.instant($0)) }].compactMap { $0 }.joined(separator: ", ")
    let count = following ?? 0
    throw CustodyError.recordBroken(
      "the record does not match its digests: event \(brokenID)\(what.isEmpty ? "" : " (\(what))") "
        + "\(reason ?? "does not match"); \(count) event\(count == 1 ? "" : "s") follow\(count == 1 ? "s" : "") it",
      hint: "the record was changed outside custody; keep this database as it is and tell the person answerable for it")
  }
}

/// A newest event's id and digest, as `verify` prints them: `ID:HEX`.
struct Checkpoint {
  let id: Int
  let digest: String

  var text: String { "\(id):\(digest)" }

  init(id: Int, digest: String) {
    self.id = id
    self.digest = digest
  }

  init(parsing text: String) throws {
    let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let id = Int(parts[0]), id > 0, parts[1].count == 64,
      parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
    else {
      throw CustodyError.invalidValue("--from '\(Failure.printable(text, limit: 100))' is not a checkpoint as verify prints it (ID:DIGEST)")
    }
    self.id = id
    digest = String(parts[1])
  }
}
