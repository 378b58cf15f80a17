import ACME
import Foundation
import Synchronization

/// The daemon's clock: real time, with waits that end at once when the daemon is asked to stop, so an order being
/// polled is abandoned within moments of SIGTERM (its challenge files removed on the way out).
public final class StoppableClock: ACMEClock, AgentClock {
    private let stopped = Atomic<Bool>(false)
    private let condition = NSCondition()

    public init() {}

    public func now() -> Date { Date() }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Ends every current and future wait with `CancellationError`.
    public func stop() {
        stopped.store(true, ordering: .releasing)
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
