import Foundation
import PackagePlugin

/// Compiles the package's `migrations/*.sql` and `engine/*.sql` into the target as Swift source,
/// so an installed binary can migrate a database without the source tree.
@main
struct EmbedMigrations: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let inputs = try ["migrations", "engine"].flatMap { folder in
      let directory = context.package.directoryURL.appending(path: folder)
      return try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0.hasSuffix(".sql") }
        .sorted()
        .map { directory.appending(path: $0) }
    }
    let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
    return [
      .buildCommand(
        displayName: "Embedding \(inputs.count) SQL files",
        executable: try context.tool(named: "MigrationEmbedder").url,
        arguments: [output.path] + inputs.map(\.path),
        inputFiles: inputs,
        outputFiles: [output]
      )
    ]
  }
}
