/// A failure the person running `custody` can act on, with the exit code it ends with.
public enum CustodyError: Error, Sendable, Equatable {
  /// Wrong use of the command line (64).
  case usage(String)
  /// A value that is not acceptable: a bad time, label, code or text (65).
  case invalidValue(String)
  /// No such thing, or one the person may not see (66).
  case notFound(String)
  /// The custody rules do not allow this now (1).
  case refused(String)
  /// The person's role may not do this (77).
  case permissionDenied(String)
  /// No database configured, or the schema does not match this binary (78).
  case configuration(String, hint: String?)
  /// Busy, or the outcome is unknown: safe to run again, as the hint says (75).
  case temporary(String, hint: String?)
  /// The record does not match its digests (3).
  case recordBroken(String, hint: String?)
}
