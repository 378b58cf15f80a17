import Foundation
import Synchronization

/// Wall-clock time as the renewal logic sees it: injected so policies, backoff and the scheduler are tested
/// without waiting.
public protocol AgentClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
}

/// The real clock.
public struct SystemClock: AgentClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to: for tests (time never passes by itself).
public final class ManualClock: AgentClock {
    private let current: Mutex<Date>

    /// A clock stopped at `start`.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {  // 2026-01-01T00:00:00Z
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative interval) by `seconds`.
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Sets the clock to `date` (a jump either way, as after a suspended VM wakes or the admin fixes the time).
    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}
