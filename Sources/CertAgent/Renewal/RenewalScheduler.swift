import Dispatch
import FoundationEssentials
import Synchronization

/// One job handed to the scheduler's work callback.
public struct RenewalRun: Sendable, Equatable, CustomStringConvertible {
    /// The certificate's name.
    public var name: String
    /// The admin asked for this run (`triggerNow`): renew regardless of schedule and backoff.
    public var forced: Bool

    public init(name: String, forced: Bool) {
        self.name = name
        self.forced = forced
    }

    public var description: String { forced ? "\(name) (forced)" : name }
}

/// Runs each certificate's renewal work when it is due, with one wake-up timer for all of them.
///
/// Each certificate has a due time (from `RenewalPolicy`'s `wakeAt`). A single `WakeTimer` is armed for the earliest
/// one — wall-clock, so a suspended machine or a clock step is noticed on wake, and never more than `maximumSleep`
/// ahead. When it fires, due certificates are handed to `work` on the executor, at most `maxConcurrentRenewals` at a
/// time (a thousand due certificates never run a thousand at once); the rest start as running ones finish, earliest
/// due first. `work` returns the certificate's next due time; the timer is then re-armed. With nothing scheduled no
/// timer is armed.
public final class RenewalScheduler: Sendable {
    private struct State {
        var due: [String: Date] = [:]
        var running: Set<String> = []
        var forced: Set<String> = []
        var stopped = false
    }

    private let clock: any AgentClock
    private let timer: any WakeTimer
    private let executor: any RenewalExecutor
    private let work: @Sendable (RenewalRun) -> Date
    private let state = Mutex(State())
    private let inFlight = DispatchGroup()

    /// The most renewal jobs running at once.
    public let maxConcurrentRenewals: Int
    /// The longest the timer sleeps, even when nothing is due sooner: a safety net for missed clock changes.
    public let maximumSleep: TimeInterval
    /// The least time between a certificate's job finishing and its next one starting, whatever `work` returned
    /// (guards against a busy loop). `triggerNow` overrides it.
    public let minimumRerunDelay: TimeInterval

    /// - Parameters:
    ///   - clock: wall-clock time.
    ///   - maxConcurrentRenewals: the most jobs running at once (at least 1).
    ///   - queue: the serial queue the timer fires on.
    ///   - timer: makes the scheduler's one timer on `queue` (`DispatchWakeTimer` in production).
    ///   - executor: where jobs run (a thread each in production, so N jobs start at once: `ThreadRenewalExecutor`).
    ///   - work: renews or checks one certificate, blocking until done, and returns when it is next due.
    public init(clock: any AgentClock = SystemClock(),
                maxConcurrentRenewals: Int = AgentConfig.defaultMaxConcurrentRenewals,
                maximumSleep: TimeInterval = 3_600,
                minimumRerunDelay: TimeInterval = 60,
                queue: DispatchQueue = DispatchQueue(label: "certagent.renewal.scheduler"),
                timer makeTimer: (DispatchQueue) -> any WakeTimer = { DispatchWakeTimer(queue: $0) },
                executor: any RenewalExecutor = ThreadRenewalExecutor(),
                work: @escaping @Sendable (RenewalRun) -> Date) {
        precondition(maxConcurrentRenewals >= 1, "maxConcurrentRenewals must be at least 1")
        self.clock = clock
        self.maxConcurrentRenewals = maxConcurrentRenewals
        self.maximumSleep = maximumSleep
        self.minimumRerunDelay = minimumRerunDelay
        self.timer = makeTimer(queue)
        self.executor = executor
        self.work = work
        timer.setHandler { [weak self] in self?.advance() }
    }

    deinit { timer.cancel() }

    // MARK: Commands

    /// Replaces the schedule: certificates not in `certificates` are dropped (a running job finishes, but its
    /// certificate is not rescheduled), the others are due at the given times. Use at start and on SIGHUP.
    /// A running certificate keeps running; the time its job returns replaces the one given here.
    public func update(certificates: [String: Date]) {
        state.withLock { state in
            guard !state.stopped else { return }
            state.due = certificates
            state.forced.formIntersection(certificates.keys)
        }
        advance()
    }

    /// Sets or changes one certificate's due time (adding it when new).
    public func reschedule(_ name: String, at date: Date) {
        state.withLock { state in
            guard !state.stopped else { return }
            state.due[name] = date
        }
        advance()
    }

    /// Runs the named certificates now, as forced runs (`RenewalRun.forced`), still within the concurrency bound.
    /// A certificate already running runs again, forced, once it finishes. Returns the names that are not scheduled
    /// (and so were ignored).
    @discardableResult
    public func triggerNow(_ names: [String]) -> [String] {
        let unknown = state.withLock { state -> [String] in
            guard !state.stopped else { return names }
            let unknown = names.filter { state.due[$0] == nil }
            state.forced.formUnion(names.filter { state.due[$0] != nil })
            return unknown
        }
        advance()
        return unknown
    }

    /// Stops scheduling: the timer is cancelled, nothing new starts, and the call waits up to `timeout` seconds for
    /// running jobs to finish. Returns true when none is left running.
    @discardableResult
    public func stop(timeout: TimeInterval = 30) -> Bool {
        state.withLock { state in
            state.stopped = true
            state.forced = []
        }
        timer.cancel()
        return inFlight.wait(timeout: .now() + timeout) == .success
    }

    // MARK: Observation

    /// The certificate due soonest (running ones excluded) and when.
    public var nextDue: (name: String, date: Date)? {
        state.withLock { state in
            state.due.filter { !state.running.contains($0.key) }
                .min { ($0.value, $0.key) < ($1.value, $1.key) }
                .map { (name: $0.key, date: $0.value) }
        }
    }

    /// Every scheduled certificate's due time.
    public var schedule: [String: Date] { state.withLock { $0.due } }

    /// The certificates whose jobs are running.
    public var running: Set<String> { state.withLock { $0.running } }

    // MARK: Running

    /// Starts due jobs up to the concurrency bound and re-arms the timer for the next due time.
    private func advance() {
        let now = clock.now()
        let runs = state.withLock { state -> [RenewalRun] in
            guard !state.stopped else { return [] }
            let waiting = state.due
                .filter { !state.running.contains($0.key) && ($0.value <= now || state.forced.contains($0.key)) }
                .sorted { lhs, rhs in
                    let (lhsForced, rhsForced) = (state.forced.contains(lhs.key), state.forced.contains(rhs.key))
                    if lhsForced != rhsForced { return lhsForced }
                    return (lhs.value, lhs.key) < (rhs.value, rhs.key)
                }
            let runs = waiting.prefix(max(0, maxConcurrentRenewals - state.running.count)).map { entry in
                RenewalRun(name: entry.key, forced: state.forced.remove(entry.key) != nil)
            }
            for run in runs {
                state.running.insert(run.name)
                inFlight.enter()
            }
            arm(for: state, now: now)
            return runs
        }
        for run in runs {
            executor.execute { [self] in
                let next = work(run)
                finished(run, next: next)
            }
        }
    }

    /// Arms the timer for the earliest due time of a certificate neither running nor waiting for a slot.
    private func arm(for state: State, now: Date) {
        let earliest = state.due
            .filter { !state.running.contains($0.key) && !state.forced.contains($0.key) && $0.value > now }
            .values.min()
        if let earliest {
            timer.arm(at: min(earliest, now.addingTimeInterval(maximumSleep)))
        } else {
            timer.disarm()
        }
    }

    private func finished(_ run: RenewalRun, next: Date) {
        let now = clock.now()
        state.withLock { state in
            state.running.remove(run.name)
            if state.due[run.name] != nil {
                state.due[run.name] = max(next, now.addingTimeInterval(minimumRerunDelay))
            }
        }
        inFlight.leave()
        advance()
    }
}
