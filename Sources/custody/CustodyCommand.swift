import ArgumentParser
import Custody

/// The root command.
struct CustodyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "custody",
    abstract: "Tracks where every paper case file is and who holds it.",
    discussion: """
      Every volume of a case file is always in one known state and place: at its secure base, \
      checked out by a named person, in transit to another secure base, missing, or destroyed. \
      You act as the PostgreSQL login you connect with.

      Exit codes: 0 done, 1 refused by the custody rules, 3 the record does not match its digests (verify), 64 usage, 65 invalid value, 66 not found, \
      69 database unreachable, 70 internal error, 75 temporary (safe to retry), 77 permission denied, \
      78 configuration (no database, schema behind or ahead of this binary, or an unsound install).
      """,
    version: "0.1.0",
    subcommands: [
      Checkout.self, Extend.self, Return.self, Transfer.self, Receive.self, CancelTransfer.self,
      Missing.self, Found.self, WhereaboutsCommand.self, Mine.self, ReportGroup.self,
      CaseGroup.self, FileGroup.self, ImportCommand.self, LabelCommand.self, PoliceInfoGroup.self, HoldGroup.self,
      DestroyCommand.self, StocktakeGroup.self,
      NotifyGroup.self, OfficeGroup.self, StaffGroup.self, VerifyCommand.self, Migrate.self, WhoAmI.self,
    ]
  )

  /// Lets global options come before the subcommand too: `custody --format json whoami`.
  @OptionGroup var global: GlobalOptions
}
