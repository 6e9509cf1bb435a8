import Foundation
import Synchronization

/// Runs blocking work (libpq calls, child processes) on real threads, all released at once.
///
/// Swift's cooperative pool has one thread per core; blocking calls there would run one after
/// another and hide races.
public enum Concurrently {
  public static func run<T: Sendable>(
    _ count: Int, _ body: @escaping @Sendable (Int) throws -> T
  ) -> [Result<T, any Error>] {
    let results = Results<T>(count: count)
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for index in 0..<count {
      done.enter()
      Thread.detachNewThread {
        ready.signal()
        go.wait()
        let outcome = Result { try body(index) }
        results.slots.withLock { $0[index] = outcome }
        done.leave()
      }
    }
    for _ in 0..<count { ready.wait() }
    for _ in 0..<count { go.signal() }
    done.wait()
    return results.slots.withLock { slots in slots.map { $0 ?? .failure(MissingResult()) } }
  }

  /// Starts blocking work on a thread of its own; the returned function waits (once) for its outcome.
  public static func start<T: Sendable>(
    _ body: @escaping @Sendable () throws -> T
  ) -> () -> Result<T, any Error> {
    let results = Results<T>(count: 1)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      let outcome = Result { try body() }
      results.slots.withLock { $0[0] = outcome }
      done.signal()
    }
    return {
      done.wait()
      return results.slots.withLock { $0[0] ?? .failure(MissingResult()) }
    }
  }

  private final class Results<T: Sendable>: Sendable {
    let slots: Mutex<[Result<T, any Error>?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
  }

  private struct MissingResult: Error {}
}
