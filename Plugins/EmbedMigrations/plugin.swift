import Foundation
import PackagePlugin

/// Compiles the package's `migrations/*.sql` and `engine/*.sql` into the target as Swift source,
/// so an installed binary can migrate a database without the source tree.
@main
struct EmbedMigrations: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let folders = ["migrations", "engine"].map { context.package.directoryURL.appending(path: $0) }
    let files = try folders.flatMap { folder in
      try FileManager.default.contentsOfDirectory(atPath: folder.path)
        .filter { $0.hasSuffix(".sql") }
        .map { folder.appending(path: $0) }
    }
    let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
    // The folders are inputs too, and the embedder lists them itself: SwiftPM keeps this plan while
    // the manifest is unchanged, so a file added since is found by the folder's change.
    return [
      .buildCommand(
        displayName: "Embedding the SQL files of migrations/ and engine/",
        executable: try context.tool(named: "MigrationEmbedder").url,
        arguments: [output.path] + folders.map(\.path),
        inputFiles: folders + files,
        outputFiles: [output]
      )
    ]
  }
}
