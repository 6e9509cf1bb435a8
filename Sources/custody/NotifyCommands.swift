import ArgumentParser
import Custody
import Foundation

enum MessageStatus: String, CaseIterable, ExpressibleByArgument {
  case queued, sent, failed, withdrawn
}

struct NotifyGroup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "notify",
    abstract: "Mail the receiving office what is coming, senders their receipts, holders and managers what is overdue.",
    discussion: """
      Messages are composed once per cause and recipient into an outbox in the database and handed to \
      the mail system: CUSTODY_SENDMAIL (default /usr/sbin/sendmail), run as 'PROGRAM -t -oi'. \
      CUSTODY_MAIL_FROM is the From address (default custody@ the host name); CUSTODY_MAIL_DOMAINS, \
      when set, lists the agency's own mail domains (comma-separated), and a message to any other \
      address is never sent.
      """,
    subcommands: [Run.self, List.self])

  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compose what is due and send it (the database owner, a director, or a login in custody_notifier).",
      discussion: """
        Safe to run from cron every few minutes, and twice at once: each message is sent once. A run \
        after a missed one catches up; a message whose cause has gone (the file came back, the \
        transfer arrived) is withdrawn. A hand-over that fails leaves the message queued, retried \
        5, 10, 20 and 40 minutes after each attempt, and failed after the fifth, with the mail \
        system's words; it does not make the run fail.
        """)

    @Option(
      name: .customLong("as-of"), parsing: .unconditional,
      help: ArgumentHelp("Compose and judge retries at this instant instead of now: \(whenHelp)", valueName: "when"))
    var asOf: String?

    @Flag(help: "Compose and print what would be sent; record and send nothing.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
      let zone = try global.zone()
      let instant = try asOf.map { try TimeInput.parse($0, zone: zone, field: "--as-of") } ?? Date()
      let (connection, writer) = try global.open()
      let notifier = Notifier(connection: connection, zone: zone)
      // A mail program that stops reading is an attempt that failed, not the end of the run.
      signal(SIGPIPE, SIG_IGN)
      var handled = 0
      if writer.format != .table { writer.begin(columns: Message.fieldNames) }
      if dryRun {
        try notifier.dryRun(asOf: instant) { message in
          writer.showAttempt(message, planned: true)
          handled += 1
        }
      } else {
        try notifier.run(asOf: instant) { message in
          writer.showAttempt(message)
          StandardOutput.flush()
          handled += 1
        }
      }
      if writer.format != .table { writer.end() }
      if handled == 0 && writer.format == .table { StandardError.write("custody: no message is due\n") }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Messages composed, newest first (office managers see their office's).")

    @Option(help: ArgumentHelp("Only this office's messages.", valueName: "code"))
    var office: String?

    @Option(help: "Only messages queued, sent, failed or withdrawn.")
    var status: MessageStatus?

    @Option(
      parsing: .unconditional,
      help: ArgumentHelp("Only messages composed from this instant on: \(whenHelp)", valueName: "when"))
    var since: String?

    @OptionGroup var source: ReportsSource
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let zone = try global.zone()
      let start = try since.map { try TimeInput.parse($0, zone: zone, field: "--since") }
      let (connection, writer) = try source.open(global)
      let messages = try Notifier(connection: connection, zone: zone).list(
        office: office, status: status?.rawValue, since: start)
      writer.show(messages)
      if messages.isEmpty && writer.format == .table { StandardError.write("custody: no message\n") }
    }
  }
}
