import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A real mail chain for the notification tests: an SMTP server on 127.0.0.1 (aiosmtpd, from PyPI)
/// that writes a Maildir, and the sendmail of Debian's msmtp-mta relaying to it, configured by a
/// `.msmtprc` in a home folder of its own.
public final class MailServer: @unchecked Sendable {
  public let folder: URL
  public let port: Int
  private var server: Process?

  public var maildir: URL { folder.appendingPathComponent("Maildir") }
  public var home: URL { folder.appendingPathComponent("home") }

  /// Starts a server on a free port; `stop()` ends it, `start()` brings it back on the same port.
  public init() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("custody-mail-\(UUID().uuidString)")
    for sub in ["Maildir/tmp", "Maildir/new", "Maildir/cur", "home"] {
      try FileManager.default.createDirectory(
        at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sendmail") else {
      throw TestSetupError("no /usr/sbin/sendmail: install msmtp-mta (scripts/test does)")
    }
    port = try Self.freePort()
    let rc = home.appendingPathComponent(".msmtprc")
    try """
      defaults
      auth off
      tls off
      account default
      host 127.0.0.1
      port \(port)
      from custody@agency.example

      """.write(to: rc, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: rc.path)
    try start()
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(at: folder)
  }

  /// The environment a `custody notify run` needs to send through this server.
  public func environment(domains: String? = nil) -> [String: String] {
    var environment = ["HOME": home.path, "CUSTODY_MAIL_FROM": "custody@agency.example"]
    if let domains { environment["CUSTODY_MAIL_DOMAINS"] = domains }
    return environment
  }

  public func start() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir.path,
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    server = process
    let deadline = Date().addingTimeInterval(15)
    while !Self.accepts(port) {
      guard process.isRunning, Date() < deadline else {
        stop()
        throw TestSetupError("the SMTP server (python3 -m aiosmtpd) did not start: pip install aiosmtpd (scripts/test does)")
      }
      usleep(50_000)
    }
  }

  public func stop() {
    guard let server, server.isRunning else { return }
    // aiosmtpd stops on SIGINT or SIGKILL, not SIGTERM.
    kill(server.processIdentifier, SIGKILL)
    server.waitUntilExit()
    self.server = nil
  }

  /// Every message delivered so far, as text.
  public func messages() throws -> [String] {
    let new = maildir.appendingPathComponent("new")
    return try FileManager.default.contentsOfDirectory(atPath: new.path).sorted().map {
      try String(contentsOf: new.appendingPathComponent($0), encoding: .utf8)
    }
  }

  /// The delivered messages whose header `name` has `value`.
  public func messages(where name: String, is value: String) throws -> [String] {
    try messages().filter { message in
      message.split(separator: "\n").prefix { !$0.isEmpty }.contains { $0 == "\(name): \(value)" }
    }
  }

  static func accepts(_ port: Int) -> Bool {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return false }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// A port on 127.0.0.1 that nothing listens on, chosen by the kernel.
  static func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    guard bound == 0, named == 0 else { throw TestSetupError("no free port on 127.0.0.1") }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
