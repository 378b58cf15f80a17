import CertAgent
import Foundation
import Synchronization

// Test doubles for the renewal layer: time, randomness, the scheduler's timer and its executor, all moved by the test.

/// A clock that moves only when told to: for tests (time never passes by itself). A `sleep` moves it forward by the
/// time slept, at once; `stop()` makes it stopped, as SIGTERM stops the daemon's clock.
public final class ManualClock: AgentClock {
    private struct State {
        var now: Date
        var stopped = false
        var slept: [Double] = []
    }
    private let state: Mutex<State>

    /// A clock stopped at `start`.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {  // 2026-01-01T00:00:00Z
        state = Mutex(State(now: start))
    }

    public func now() -> Date { state.withLock { $0.now } }

    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Every wait asked of the clock, in seconds, in order.
    public var sleeps: [Double] { state.withLock { $0.slept } }

    /// Moves the clock forward by `seconds` at once; throws `CancellationError` once stopped, as `StoppableClock` does.
    public func sleep(seconds: Double) throws {
        try state.withLock { state in
            guard !state.stopped else { throw CancellationError() }
            state.slept.append(seconds)
            state.now = state.now.addingTimeInterval(max(seconds, 0))
        }
    }

    /// Stops the clock: `isStopped` turns true and every later `sleep` throws.
    public func stop() { state.withLock { $0.stopped = true } }

    /// Moves the clock forward (or back, with a negative interval) by `seconds`.
    public func advance(by seconds: TimeInterval) {
        state.withLock { $0.now = $0.now.addingTimeInterval(seconds) }
    }

    /// Sets the clock to `date` (a jump either way, as after a suspended VM wakes or the admin fixes the time).
    public func set(_ date: Date) {
        state.withLock { $0.now = date }
    }
}

/// A reproducible pseudo-random sequence (SplitMix64) from a seed: many draws, same every run.
public final class SeededRandomSource: RandomSource {
    private let state: Mutex<UInt64>

    public init(seed: UInt64) { state = Mutex(seed) }

    public func fraction() -> Double {
        let bits = state.withLock { state -> UInt64 in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return Double(bits >> 11) * 0x1p-53  // 53 random bits: always below 1
    }
}

/// Returns the given fractions in order, starting again after the last: for tests that need exact values.
/// Each value is clamped into [0, 1).
public final class ScriptedRandomSource: RandomSource {
    private let values: [Double]
    private let index = Mutex(0)

    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "a scripted random source needs at least one value")
        self.values = values.map { min(max($0, 0), 1.0.nextDown) }
    }

    /// How many fractions have been drawn so far.
    public var draws: Int { index.withLock { $0 } }

    public func fraction() -> Double {
        index.withLock { index in
            defer { index += 1 }
            return values[index % values.count]
        }
    }
}

/// A `WakeTimer` for tests: it records when it is armed and fires only when the test calls `fire()`.
public final class ManualWakeTimer: WakeTimer {
    private struct State {
        var handler: (@Sendable () -> Void)?
        var armedAt: Date?
        var armings = 0
        var cancelled = false
    }
    private let state = Mutex(State())

    public init() {}

    /// The moment the timer is armed for, nil when unarmed or cancelled.
    public var armedAt: Date? { state.withLock { $0.armedAt } }
    /// How many times it has been armed.
    public var armings: Int { state.withLock { $0.armings } }
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public func setHandler(_ handler: @escaping @Sendable () -> Void) { state.withLock { $0.handler = handler } }

    public func arm(at date: Date) {
        state.withLock { state in
            guard !state.cancelled else { return }
            state.armedAt = date
            state.armings += 1
        }
    }

    public func disarm() { state.withLock { $0.armedAt = nil } }

    public func cancel() {
        state.withLock { state in
            state.cancelled = true
            state.armedAt = nil
        }
    }

    /// Fires the timer as its deadline would (a one-shot: it is unarmed first), calling the handler synchronously.
    /// Does nothing when unarmed, unless `evenIfUnarmed`.
    public func fire(evenIfUnarmed: Bool = false) {
        let handler: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.cancelled, state.armedAt != nil || evenIfUnarmed else { return nil }
            state.armedAt = nil
            return state.handler
        }
        handler?()
    }
}

/// Holds jobs until the test runs them: makes concurrency observable without threads.
public final class ManualRenewalExecutor: RenewalExecutor {
    private let jobs = Mutex<[@Sendable () -> Void]>([])

    public init() {}

    /// Jobs submitted and not yet run.
    public var pendingCount: Int { jobs.withLock { $0.count } }

    public func execute(_ job: @escaping @Sendable () -> Void) { jobs.withLock { $0.append(job) } }

    /// Runs the oldest pending job; false when there was none.
    @discardableResult
    public func runNext() -> Bool {
        let job: (@Sendable () -> Void)? = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        job?()
        return job != nil
    }

    /// Runs jobs (including those they cause to be submitted) until none is left; returns how many ran.
    @discardableResult
    public func runAll() -> Int {
        var count = 0
        while runNext() { count += 1 }
        return count
    }
}
