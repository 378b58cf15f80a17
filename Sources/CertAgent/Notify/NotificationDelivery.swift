import ACME
import Dispatch
import FoundationEssentials
import Logging
import Synchronization

/// When a failed delivery is tried again: 1 minute, 10 minutes, 1 hour, then every 6 hours, for a day after the
/// first attempt; then it is given up (and logged).
public enum DeliveryRetry {
    /// The wait after the `failures`-th failed attempt (1-based).
    public static func delay(afterFailures failures: Int) -> TimeInterval {
        switch failures {
        case ...1: 60
        case 2: 600
        case 3: 3_600
        default: 21_600
        }
    }

    /// How long after the first attempt retries stop.
    public static let giveUpAfter: TimeInterval = 86_400

    /// When to try again after the `failures`-th failed attempt, or nil when the day is over.
    public static func nextAttempt(firstAttempt: Date, failures: Int, now: Date) -> Date? {
        let next = now.addingTimeInterval(delay(afterFailures: failures))
        return next.timeIntervalSince(firstAttempt) <= giveUpAfter ? next : nil
    }
}

/// Delivers notifications off the renewal path: on its own queue, each channel on its own, a failure retried on the
/// `DeliveryRetry` schedule. Nothing here ever waits for a renewal or makes one wait; a stopping daemon waits only for
/// the attempt running now (`waitIdle`: a POST in flight is cancelled with the daemon's HTTP cancellation, so it ends
/// within about a second), and retries still pending are dropped.
public final class NotificationDelivery: Sendable {
    /// Concurrent: a channel that hangs until its timeout does not hold the others back.
    private let queue = DispatchQueue(label: "certagent.notify", attributes: .concurrent)
    private let isStopped: @Sendable () -> Bool
    private let logger: Logger
    private let failures = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    /// Attempts running or about to run (not the retries still waiting for their time).
    private let running = DispatchGroup()

    public init(logger: Logger, isStopped: @escaping @Sendable () -> Bool = { false }) {
        self.logger = logger
        self.isStopped = isStopped
    }

    /// Failed delivery attempts since the start (for metrics).
    public var failedAttempts: Int { failures.load(ordering: .relaxed) }
    /// Deliveries not finished yet (waiting, in flight or waiting for a retry).
    public var pendingDeliveries: Int { pending.load(ordering: .acquiring) }

    /// Queues every notification for every channel; returns at once.
    public func send(_ notifications: [AgentNotification], through channels: [any NotificationChannel]) {
        for notification in notifications {
            for channel in channels {
                pending.add(1, ordering: .releasing)
                queue.async(group: running) { [self] in attempt(notification, channel, failures: 0, first: Date()) }
            }
        }
    }

    private func attempt(_ notification: AgentNotification, _ channel: any NotificationChannel, failures previous: Int, first: Date) {
        guard !isStopped() else { return finish() }
        do {
            try channel.deliver(notification)
            logger.info("notification delivered: \(notification.subject)", metadata: ["channel": "\(channel.displayName)", "event": "\(notification.event.rawValue)"])
            finish()
        } catch {
            guard !isStopped() else { return finish() }
            failures.add(1, ordering: .relaxed)
            let count = previous + 1
            if let next = DeliveryRetry.nextAttempt(firstAttempt: first, failures: count, now: Date()) {
                logger.warning("notification not delivered (attempt \(count)); trying again at \(TimeText.human(next)): \(error)",
                               metadata: ["channel": "\(channel.displayName)", "event": "\(notification.event.rawValue)"])
                queue.asyncAfter(deadline: .now() + next.timeIntervalSinceNow) { [self] in
                    running.enter()
                    defer { running.leave() }
                    attempt(notification, channel, failures: count, first: first)
                }
            } else {
                logger.error("notification given up after \(count) attempts over a day: \(notification.subject): \(error)",
                             metadata: ["channel": "\(channel.displayName)", "event": "\(notification.event.rawValue)"])
                finish()
            }
        }
    }

    /// Waits until `deadline` at most for the attempts running now — a stopping daemon's request in flight is cancelled
    /// and the rest return at once — so the process never exits under one. Returns whether none is left running.
    public func waitIdle(until deadline: DispatchTime) -> Bool {
        running.wait(timeout: deadline) == .success
    }

    private func finish() { pending.subtract(1, ordering: .releasing) }
}
