import Foundation
import Postgres

/// The versioned migrations as the last release shipped them (`Tests/Fixtures/released/`).
public enum Released {
  /// The checkout's root, found from this file (the private cluster of scripts/dev-db lives there too).
  public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The released migrations, read from their files byte for byte.
  public static func migrations() throws -> [Migration] {
    let folder = root.appendingPathComponent("Tests/Fixtures/released")
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
      .map { file in
        let data = try Data(contentsOf: folder.appendingPathComponent(file))
        guard let version = Int(file.prefix(4)) else { throw TestSetupError("\(file) is not NNNN_name.sql") }
        return Migration(
          version: version, name: String(file.dropFirst(5).dropLast(4)), sql: String(decoding: data, as: UTF8.self))
      }
  }

  /// The SQL files of the repository: the versioned migrations and the engine's files.
  public static func sqlFiles() throws -> [(path: String, text: String)] {
    try ["migrations", "engine"].flatMap { folder in
      let directory = root.appendingPathComponent(folder)
      return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        .map { ("\(folder)/\($0)", try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
    }
  }
}
