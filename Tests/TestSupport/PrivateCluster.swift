import Custody
import Foundation
import Postgres

#if canImport(Glibc)
  import Glibc
#endif

/// A PostgreSQL cluster of a test's own, made by `scripts/dev-db` in a temporary folder, for tests
/// that stop, crash or replicate a server. Stopped and removed when the test lets go of it.
public final class PrivateCluster: @unchecked Sendable {
  public let folder: URL

  /// The folder of its Unix socket.
  public var socket: String { folder.appendingPathComponent("run").path }

  /// The start of a connection string to it; its superuser is `postgres`.
  public var base: String { "host='\(socket)' port='5432' user=postgres" }

  /// A new cluster, started: durable unless `fast` (fsync off), or a streaming standby of `primary`.
  public init(fast: Bool = true, standbyOf primary: PrivateCluster? = nil) throws {
    folder = URL(fileURLWithPath: "/tmp/custody-cluster-\(UUID().uuidString.prefix(8).lowercased())")
    if let primary {
      try devDB(["standby", primary.socket])
    } else {
      try devDB(["start"], fast: fast)
    }
  }

  deinit {
    _ = try? devDB(["stop"])
    try? FileManager.default.removeItem(at: folder)
  }

  public func start() throws { try devDB(["start"]) }

  public func stop() throws { try devDB(["stop"]) }

  /// Kills the server with SIGKILL, postmaster and every backend at once, as `kill -9` would.
  public func crash() throws {
    let pidFile = folder.appendingPathComponent("data/postmaster.pid")
    guard let first = try String(contentsOf: pidFile, encoding: .utf8).split(separator: "\n").first,
      let postmaster = Int32(first)
    else { throw TestSetupError("no postmaster.pid in \(folder.path)") }
    let children = try CLI.spawn(URL(fileURLWithPath: "/usr/bin/pgrep"), ["-P", "\(postmaster)"], environment: [:])
      .stdout.split(separator: "\n").compactMap { Int32($0) }
    kill(postmaster, SIGKILL)
    for child in children { kill(child, SIGKILL) }
    // Gone when its processes are reaped: pg_ctl and the postmaster take a zombie's pid in
    // postmaster.pid for a server still running.
    let deadline = Date().addingTimeInterval(30)
    while ([postmaster] + children).contains(where: { FileManager.default.fileExists(atPath: "/proc/\($0)") }) {
      guard Date() < deadline else { throw TestSetupError("the server at \(socket) was not gone 30 s after SIGKILL") }
      usleep(50_000)
    }
  }

  /// A superuser connection to `database`.
  public func admin(_ database: String = "postgres") throws -> Connection {
    try Connection(base + " dbname='\(database)'")
  }

  /// A new database on this cluster, migrated by a database owner that is not a superuser.
  public func database() throws -> TestDatabase {
    let admin = try admin()
    try TestDatabase.ensureOwnerRole(admin)
    let database = try TestDatabase.make(on: admin, install: .owner, template: "template0", cluster: base)
    try Schema.migrate(on: try database.connect())
    return database
  }

  /// Runs scripts/dev-db through Python's subprocess, which closes every descriptor but the three
  /// standard ones in the child: Foundation learns that a process ended from a socket the child
  /// inherits, and a server started with it open would look to Foundation like a script still running.
  @discardableResult
  private func devDB(_ arguments: [String], fast: Bool = true) throws -> CLI.Outcome {
    let outcome = try CLI.spawn(
      URL(fileURLWithPath: "/usr/bin/python3"),
      ["-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))",
       Released.root.appendingPathComponent("scripts/dev-db").path] + arguments,
      environment: ["CUSTODY_DEV_DIR": folder.path, "CUSTODY_DEV_FAST": fast ? "1" : "0"])
    guard outcome.status == 0 else { throw TestSetupError("scripts/dev-db \(arguments.joined(separator: " ")): \(outcome)") }
    return outcome
  }
}
