import CLibPQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ctrl-C, SIGTERM and SIGHUP while a command runs: the statement running on each armed connection
/// is cancelled on the server (libpq's `PQcancel`, which may be called from a signal handler)
/// before the signal ends the process as it would have (a shell sees 128 + its number). A command abandoned while it waits for
/// a lock therefore records nothing, also after the lock is released.
public enum Interruption {
  nonisolated(unsafe) private static var cancels: [OpaquePointer?] = [nil, nil]
  nonisolated(unsafe) private static let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
  nonisolated(unsafe) private static let message: UnsafeMutableBufferPointer<UInt8> = {
    let text = Array("\ncustody: interrupted: the command was cancelled\n".utf8)
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.count)
    _ = buffer.initialize(from: text)
    return buffer
  }()
  nonisolated(unsafe) private static var installed = false

  /// Cancels `connection`'s statement when the process is interrupted (at most two connections).
  public static func arm(_ connection: Connection) {
    guard let cancel = connection.makeCancel() else { return }
    let slot = cancels[0] == nil ? 0 : 1
    if let old = cancels[slot] { PQfreeCancel(old) }
    cancels[slot] = cancel
    _ = message
    guard !installed else { return }
    installed = true
    for signal in [SIGINT, SIGTERM, SIGHUP] {
      var action = sigaction()
      #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = interrupted
      #else
        action.__sigaction_u.__sa_handler = interrupted
      #endif
      sigemptyset(&action.sa_mask)
      // A second signal while the cancel request is under way ends the process at once.
      action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
      sigaction(signal, &action, nil)
    }
  }

  fileprivate static func cancelAll() {
    for case let cancel? in cancels { _ = PQcancel(cancel, errorBuffer, 256) }
    _ = write(2, message.baseAddress, message.count)
  }
}

private func interrupted(_ signal: Int32) {
  Interruption.cancelAll()
  // The handler was reset to the default: the signal, pending until this returns, ends the process.
  raise(signal)
}
