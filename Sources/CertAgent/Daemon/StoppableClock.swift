import ACME
import CurlHTTP
import Foundation
import Synchronization

/// The daemon's and the commands' clock: real time, with waits that end at once when asked to stop, and the HTTP
/// requests of the session aborted (`httpCancellation`), so an order is abandoned within a second or so of SIGTERM or
/// Ctrl-C whatever the network does (its challenge files removed on the way out).
public final class StoppableClock: AgentClock {
    private let stopped = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// Cancelled by `stop()`: the session's HTTP transport aborts the request in flight and sends no other.
    public let httpCancellation = CurlHTTPCancellation()

    public init() {}

    public func now() -> Date { Date() }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Ends every current and future wait, and every HTTP request of the session, with `CancellationError`.
    public func stop() {
        stopped.store(true, ordering: .releasing)
        httpCancellation.cancel()
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    public func sleep(seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !isStopped, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        if isStopped { throw CancellationError() }
    }
}
