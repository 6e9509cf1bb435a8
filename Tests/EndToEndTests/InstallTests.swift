import Foundation
import TestSupport
import Testing

/// What `scripts/install` installs and `scripts/reference` writes, made from the command definitions.
@Suite("Installing custody: the man page, the completions, docs/commands.md and scripts/install")
struct InstallTests {
  static let root = Released.root

  /// PATH for child processes that run swift, man and bash.
  static let environment: [String: String] = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return ["PATH": path + ":/opt/swift/usr/bin:/usr/local/bin:/usr/bin:/bin"]
  }()

  /// Every command and subcommand `--experimental-dump-help` lists, depth first, as paths
  /// (`["custody", "report", "overdue"]`); the root is `["custody"]`. `shownOnly` leaves out hidden ones.
  static func commandPaths(of binary: URL, shownOnly: Bool = false) throws -> [[String]] {
    let dump = try CLI.spawn(binary, ["--experimental-dump-help"], environment: [:])
    guard dump.status == 0,
      let object = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any],
      let command = object["command"] as? [String: Any]
    else { throw TestSetupError("no help dump from \(binary.path): \(dump)") }
    func walk(_ command: [String: Any], _ path: [String]) -> [[String]] {
      let here = path + [command["commandName"] as? String ?? "?"]
      let subcommands = (command["subcommands"] as? [[String: Any]] ?? []).filter {
        !shownOnly || ($0["shouldDisplay"] as? Bool ?? true)
      }
      return [here] + subcommands.flatMap { walk($0, here) }
    }
    return walk(command, [])
  }

  /// The man page as `man -l` renders it, without overstriking.
  static func rendered(_ page: URL) throws -> String {
    let outcome = try CLI.spawn(
      URL(fileURLWithPath: "/bin/sh"), ["-c", #"set -e; man -l "$1" >"$1.txt"; col -bx <"$1.txt""#, "sh", page.path],
      environment: environment.merging(["MANWIDTH": "80"]) { _, new in new })
    guard outcome.status == 0, !outcome.stdout.isEmpty else { throw TestSetupError("man -l failed: \(outcome)") }
    return outcome.stdout
  }

  /// The commands (as "report overdue") that the rendered single-page manual does not list in
  /// their place: each a list item, in the help's order, nested under its parent (indented more).
  static func unlisted(_ paths: [[String]], in text: String) -> [String] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var position = 0
    var indentOfDepth: [Int: Int] = [:]
    var missing: [String] = []
    for path in paths.dropFirst() {
      let depth = path.count - 2
      let name = path.last!
      let found = lines.indices.dropFirst(position).first { index in
        let line = lines[index]
        let body = line.drop { $0 == " " }
        let indent = line.count - body.count
        guard body == name || body.hasPrefix(name + "  ") else { return false }
        if let expected = indentOfDepth[depth] { return indent == expected }
        return indent > (depth == 0 ? 0 : indentOfDepth[depth - 1] ?? Int.max)
      }
      guard let found else {
        missing.append(path.dropFirst().joined(separator: " "))
        continue
      }
      indentOfDepth[depth] = lines[found].count - lines[found].drop { $0 == " " }.count
      position = found + 1
    }
    return missing
  }

  /// swift-argument-parser's generate-manual, the tool its generate-manual plugin runs, built once
  /// in a folder of its own (the tests' own build folder is locked while they run).
  static let manualTool: Result<URL, TestSetupError> = {
    let scratch = root.appendingPathComponent(".build-manual").path
    let swift = URL(fileURLWithPath: "/usr/bin/env")
    let arguments = ["swift", "build", "--package-path", root.path, "--scratch-path", scratch, "--product", "generate-manual"]
    do {
      let build = try CLI.spawn(swift, arguments, environment: environment)
      guard build.status == 0 else { return .failure(TestSetupError("cannot build generate-manual: \(build)")) }
      let bin = try CLI.spawn(swift, arguments + ["--show-bin-path"], environment: environment)
      let tool = URL(fileURLWithPath: bin.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        .appendingPathComponent("generate-manual")
      return .success(tool)
    } catch {
      return .failure(TestSetupError("cannot build generate-manual: \(error)"))
    }
  }()

  static func temporaryFolder(_ name: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("custody-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }

  /// Sources a bash completion script; prints `complete -p custody`, then what `custody report ov<TAB>` offers.
  static func bashCompletion(_ script: URL) throws -> CLI.Outcome {
    try CLI.spawn(
      URL(fileURLWithPath: "/bin/bash"),
      [
        "--norc", "--noprofile", "-c",
        #"""
        source "$1" || exit 1
        complete -p custody || exit 1
        COMP_WORDS=(custody report ov); COMP_CWORD=2; COMP_LINE='custody report ov'; COMP_POINT=${#COMP_LINE}
        _custody custody ov report
        printf 'offered: %s\n' "${COMPREPLY[@]}"
        """#,
        "bash", script.path,
      ],
      environment: environment)
  }

  @Test("the man page generated from the built binary names every command and subcommand the help dump lists")
  func manPage() throws {
    let paths = try Self.commandPaths(of: CLI.binary)
    #expect(paths.contains(["custody", "report", "overdue"]) && paths.contains(["custody", "staff", "add"]))
    let tool = try Self.manualTool.get()
    let folder = try Self.temporaryFolder("manual")
    defer { try? FileManager.default.removeItem(at: folder) }
    // What the plugin runs, as scripts/install runs it: one page, section 1.
    let generated = try CLI.spawn(
      tool, [CLI.binary.path, "--output-directory", folder.path, "--date", "2026-01-01"], environment: [:])
    #expect(generated.status == 0, "\(generated)")
    let text = try Self.rendered(folder.appendingPathComponent("custody.1"))
    #expect(text.hasPrefix("CUSTODY(1)"), "\(text.prefix(200))")
    #expect(text.contains("custody — Tracks where every paper case file is"), "\(text.prefix(400))")
    let missing = Self.unlisted(paths, in: text)
    #expect(missing.isEmpty, "not listed in the man page: \(missing)")
  }

  @Test("the bash completion script loads in bash, and complete -p custody shows it")
  func bashCompletion() throws {
    let folder = try Self.temporaryFolder("completion")
    defer { try? FileManager.default.removeItem(at: folder) }
    let bash = try CLI.run(["--generate-completion-script", "bash"])
    #expect(bash.status == 0, "\(bash)")
    let script = folder.appendingPathComponent("custody")
    try Data(bash.stdout.utf8).write(to: script)
    let loaded = try Self.bashCompletion(script)
    #expect(loaded.status == 0, "\(loaded)")
    #expect(loaded.stdout.hasPrefix("complete ") && loaded.stdout.contains(" -F _custody custody\n"), "\(loaded)")
    #expect(loaded.stdout.contains("offered: overdue\n"), "\(loaded)")
    for (shell, start) in [("zsh", "#compdef custody"), ("fish", "")] {
      let other = try CLI.run(["--generate-completion-script", shell])
      #expect(other.status == 0 && other.stdout.hasPrefix(start) && other.stdout.contains("custody"), "\(other)")
    }
  }

  @Test("docs/commands.md is what scripts/reference generates from the built binary now")
  func reference() throws {
    let generated = try CLI.spawn(
      Self.root.appendingPathComponent("scripts/reference"), ["--binary", CLI.binary.path, "--output", "-"],
      environment: Self.environment)
    #expect(generated.status == 0, "\(generated)")
    let committed = try String(contentsOf: Self.root.appendingPathComponent("docs/commands.md"), encoding: .utf8)
    let want = generated.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    let have = committed.split(separator: "\n", omittingEmptySubsequences: false)
    let first = zip(want, have).enumerated().first { $1.0 != $1.1 }?.offset ?? min(want.count, have.count)
    let current = committed == generated.stdout  // not in the expectation: it would print both pages
    #expect(
      current,
      """
      docs/commands.md is stale (run scripts/reference); line \(first + 1) is \
      '\(first < have.count ? have[first] : "<end>")', the help now gives '\(first < want.count ? want[first] : "<end>")'
      """)
    for path in try Self.commandPaths(of: CLI.binary, shownOnly: true).dropFirst() where path.last != "help" {
      let section = committed.contains("\n## \(path.joined(separator: " "))\n")
      #expect(section, "docs/commands.md has no section for \(path.joined(separator: " "))")
    }
    for code in [0, 1, 64, 65, 66, 69, 70, 75, 77, 78] {
      let listed = committed.contains("\n| \(code) | ")
      #expect(listed, "exit code \(code) is not in the table of docs/commands.md")
    }
  }

  @Test("scripts/install refuses a bad PREFIX before it builds anything")
  func badPrefix() throws {
    let script = Self.root.appendingPathComponent("scripts/install")
    let file = try Self.temporaryFolder("prefix").appendingPathComponent("a-file")
    try Data().write(to: file)
    defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
    for (prefix, status, message) in [
      ("", 64, "PREFIX is empty"), ("relative/prefix", 64, "PREFIX must be an absolute path"),
      (file.path, 64, "exists and is not a folder"), ("/proc/custody-nowhere", 77, "cannot write to /proc/custody-nowhere/bin"),
    ] {
      let outcome = try CLI.spawn(script, [prefix], environment: Self.environment)
      #expect(outcome.status == Int32(status), "\(prefix): \(outcome)")
      #expect(outcome.stderr.hasPrefix("install: error: ") && outcome.stderr.contains(message), "\(prefix): \(outcome)")
      #expect(!outcome.stderr.contains("building"), "\(prefix): \(outcome)")
    }
    let two = try CLI.spawn(script, ["/tmp/a", "/tmp/b"], environment: Self.environment)
    #expect(two.status == 64 && two.stderr.contains("usage: scripts/install [PREFIX]"), "\(two)")
  }

  @Test("scripts/install PREFIX on a fresh clone of HEAD installs a custody that runs, its man page and completions")
  func installFromClone() throws {
    let folder = try Self.temporaryFolder("install")
    defer { try? FileManager.default.removeItem(at: folder) }
    let clone = folder.appendingPathComponent("custody")
    let prefix = folder.appendingPathComponent("prefix")
    let cloned = try CLI.spawn(
      URL(fileURLWithPath: "/usr/bin/env"), ["git", "clone", "--quiet", Self.root.path, clone.path],
      environment: Self.environment)
    try #require(cloned.status == 0, "\(cloned)")

    let started = Date()
    let installed = try CLI.spawn(
      clone.appendingPathComponent("scripts/install"), [prefix.path], environment: Self.environment)
    let seconds = Int(Date().timeIntervalSince(started))
    print("InstallTests: scripts/install on a fresh clone took \(seconds)s")
    try #require(installed.status == 0, "\(installed)")

    let custody = prefix.appendingPathComponent("bin/custody")
    let files = [
      "share/man/man1/custody.1", "share/bash-completion/completions/custody", "share/zsh/site-functions/_custody",
      "share/fish/vendor_completions.d/custody.fish",
    ].map { prefix.appendingPathComponent($0) }
    for file in [custody] + files {
      #expect(installed.stdout.contains("  \(file.path)\n"), "not reported: \(file.path)\n\(installed)")
      let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
      #expect(size > 1000, "\(file.path) is missing or nearly empty")
    }

    let version = try CLI.spawn(custody, ["--version"], environment: [:])
    #expect(version.status == 0 && version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(version)")
    let help = try CLI.spawn(custody, ["--help"], environment: [:])
    #expect(help.status == 0 && help.stdout.hasPrefix("OVERVIEW: Tracks where every paper case file is"), "\(help)")

    // The installed page lists every command of the installed binary; man finds it beside PREFIX/bin.
    let missing = Self.unlisted(try Self.commandPaths(of: custody), in: try Self.rendered(files[0]))
    #expect(missing.isEmpty, "not listed in the installed man page: \(missing)")
    let found = try CLI.spawn(
      URL(fileURLWithPath: "/usr/bin/env"), ["man", "-w", "custody"],
      environment: ["PATH": prefix.appendingPathComponent("bin").path + ":/usr/bin:/bin"])
    #expect(found.stdout == files[0].path + "\n", "\(found)")
    let loaded = try Self.bashCompletion(files[1])
    #expect(loaded.status == 0 && loaded.stdout.contains(" -F _custody custody\n"), "\(loaded)")
  }
}
