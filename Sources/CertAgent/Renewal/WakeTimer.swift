import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A one-shot timer armed for a wall-clock moment: the only place the scheduler touches Dispatch timers.
public protocol WakeTimer: Sendable {
    /// Sets what runs when the timer fires (on the timer's queue). Call once, before arming.
    func setHandler(_ handler: @escaping @Sendable () -> Void)
    /// Arms the timer to fire once at `date`, replacing any earlier arming; a past `date` fires at once.
    func arm(at date: Date)
    /// Leaves the timer unarmed: it will not fire until armed again.
    func disarm()
    /// Stops the timer for good.
    func cancel()
}

/// A `WakeTimer` on a `DispatchSourceTimer` with a wall-clock deadline (`DispatchWallTime`), so time that passes
/// while the machine is suspended, or a clock step, is taken into account when the deadline is checked.
public final class DispatchWakeTimer: WakeTimer {
    private struct Source {
        var timer: (any DispatchSourceTimer)?
        /// Dispatch sources start inactive; this one is activated once its handler is set (activating it without one
        /// makes libdispatch log "dispatch source activated with no event handler set").
        var activated = false
    }

    private let source: Mutex<Source>
    /// How late the timer may fire, letting the system batch wake-ups.
    private let leeway: DispatchTimeInterval

    public init(queue: DispatchQueue, leeway: DispatchTimeInterval = .seconds(1)) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(wallDeadline: .distantFuture, repeating: .never, leeway: leeway)
        source = Mutex(Source(timer: timer))
        self.leeway = leeway
    }

    deinit { cancel() }

    public func setHandler(_ handler: @escaping @Sendable () -> Void) {
        source.withLock { source in
            guard let timer = source.timer else { return }
            timer.setEventHandler(handler: handler)
            if !source.activated {
                source.activated = true
                timer.activate()
            }
        }
    }

    public func arm(at date: Date) {
        let deadline = Self.wallTime(date)
        source.withLock { $0.timer?.schedule(wallDeadline: deadline, repeating: .never, leeway: leeway) }
    }

    public func disarm() {
        source.withLock { $0.timer?.schedule(wallDeadline: .distantFuture, repeating: .never, leeway: leeway) }
    }

    public func cancel() {
        source.withLock { source in
            guard let timer = source.timer else { return }
            timer.cancel()
            // An inactive source must not be released: activate it, cancelled (libdispatch then skips the handler check).
            if !source.activated { timer.activate() }
            source.timer = nil
        }
    }

    /// `date` as a Dispatch wall-clock deadline.
    static func wallTime(_ date: Date) -> DispatchWallTime {
        let seconds = max(date.timeIntervalSince1970, 0)
        let whole = seconds.rounded(.down)
        let spec = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1_000_000_000))
        return DispatchWallTime(timespec: spec)
    }
}
