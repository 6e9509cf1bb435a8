import ArgumentParser
import Custody
import Foundation

@main
enum Entry {
  static func main() {
    if let position = firstArgumentNotUTF8() {
      finish(Failure(code: .invalidValue, message: "argument \(position) is not valid UTF-8"))
    }
    if let topic = unknownHelpTopic(Array(CommandLine.arguments.dropFirst())) {
      finish(Failure(code: .usage, message: "no command '\(topic)'", hint: "custody --help lists the commands"))
    }
    var command: any ParsableCommand
    do {
      command = try CustodyCommand.parseAsRoot()
    } catch {
      finishParsing(error)
    }
    do {
      try command.run()
      StandardOutput.flush()
      exit(ExitStatus.success.rawValue)
    } catch let error as CustodyError {
      finish(Failure(error))
    } catch {
      // Help, version and validation errors come from the argument parser; the rest are ours.
      let code = CustodyCommand.exitCode(for: error)
      if code == .success || code == .validationFailure { finishParsing(error) }
      finish(Failure(error))
    }
  }

  /// Errors of the command line itself: help and version exit 0, the rest 64 with usage.
  static func finishParsing(_ error: any Error) -> Never {
    let code = CustodyCommand.exitCode(for: error)
    guard code != .success else { CustodyCommand.exit(withError: error) }
    let lines = CustodyCommand.fullMessage(for: error).split(separator: "\n").map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    let usage = lines.first { $0.hasPrefix("Usage:") }.map { "usage: " + $0.dropFirst("Usage:".count).trimmingCharacters(in: .whitespaces) }
    let message = CustodyCommand.message(for: error)
    StandardOutput.flush()
    StandardError.write("custody: error: \(Failure.printable(String(message.prefix { $0 != "\n" })))\n")
    if let usage { StandardError.write("hint: \(usage)\n") }
    exit(code.rawValue)
  }

  /// The first word of `custody help WORD...` that names no command; the argument parser would
  /// show the root's help for it and exit 0.
  static func unknownHelpTopic(_ arguments: [String]) -> String? {
    guard arguments.first == "help" else { return nil }
    var command: any ParsableCommand.Type = CustodyCommand.self
    for word in arguments.dropFirst() where !word.hasPrefix("-") {
      guard let next = command.configuration.subcommands.first(where: { $0._commandName == word }) else {
        return word
      }
      command = next
    }
    return nil
  }

  static func finish(_ failure: Failure) -> Never {
    StandardOutput.flush()
    StandardError.write("custody: error: \(Failure.printable(failure.message))\n")
    if let hint = failure.hint { StandardError.write("hint: \(Failure.printable(hint))\n") }
    exit(failure.code.rawValue)
  }

  /// The 1-based position of the first command-line argument that is not valid UTF-8.
  static func firstArgumentNotUTF8() -> Int? {
    for index in 1..<Int(CommandLine.argc) {
      guard let pointer = CommandLine.unsafeArgv[index] else { continue }
      if String(validatingCString: pointer) == nil { return index }
    }
    return nil
  }
}
