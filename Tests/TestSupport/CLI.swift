import Foundation
import Synchronization

/// Runs the built `custody` binary, as a person would, and captures what it printed.
public enum CLI {
  public struct Outcome: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }

    /// Standard output read as one JSON object.
    public func jsonObject() throws -> [String: Any] {
      guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
        throw TestSetupError("not a JSON object: \(self)")
      }
      return object
    }

    /// Standard output read as a JSON array of objects (a list or a report).
    public func jsonRows() throws -> [[String: Any]] {
      guard let rows = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]] else {
        throw TestSetupError("not a JSON array of objects: \(self)")
      }
      return rows
    }
  }

  /// The binary beside the test bundle (both are built into the same folder), or CUSTODY_BIN.
  public static let binary: URL = {
    if let path = ProcessInfo.processInfo.environment["CUSTODY_BIN"] { return URL(fileURLWithPath: path) }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return executable.deletingLastPathComponent().appendingPathComponent("custody")
  }()

  /// Runs `custody arguments...` with only the given environment (plus PATH and HOME).
  public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
    try spawn(binary, arguments, environment: environment)
  }

  /// Runs a `sh -c` script in which `$CUSTODY` is the binary, for arguments Swift strings cannot hold.
  public static func runShell(_ script: String, environment: [String: String] = [:]) throws -> Outcome {
    var env = environment
    env["CUSTODY"] = binary.path
    return try spawn(URL(fileURLWithPath: "/bin/sh"), ["-c", script], environment: env)
  }

  public static func spawn(_ executable: URL, _ arguments: [String], environment: [String: String]) throws -> Outcome {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let inherited = ProcessInfo.processInfo.environment
    var env = ["PATH": inherited["PATH"] ?? "/usr/bin:/bin", "HOME": inherited["HOME"] ?? "/tmp", "LANG": "C.UTF-8"]
    env.merge(environment) { _, new in new }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes at once, so a full stderr pipe cannot stall the child.
    let errData = Mutex(Data())
    let stderrDone = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      let data = err.fileHandleForReading.readDataToEndOfFile()
      errData.withLock { $0 = data }
      stderrDone.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    stderrDone.wait()
    return Outcome(
      status: process.terminationStatus,
      stdout: String(decoding: outData, as: UTF8.self),
      stderr: errData.withLock { String(decoding: $0, as: UTF8.self) })
  }

  /// Runs `custody` against `database` as `user`.
  public static func run(
    _ arguments: [String], on database: TestDatabase, as user: String? = nil
  ) throws -> Outcome {
    try run(arguments, environment: ["CUSTODY_DATABASE_URL": database.conninfo(user: user)])
  }
}
