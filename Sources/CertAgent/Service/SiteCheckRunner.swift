import ACME
import Dispatch
import FoundationEssentials
import Logging
import Synchronization

/// Runs the daemon's site checks (after every successful deploy, and daily) on their own queue, one certificate at a
/// time, so a slow or silent site never holds up a renewal. The daemon's stop aborts the check in flight (the clock's
/// HTTP cancellation) and waits for it briefly.
public final class SiteCheckRunner: Sendable {
    private let queue = DispatchQueue(label: "certagent.sitecheck")
    private let group = DispatchGroup()
    /// Certificates whose check is queued or running, with when it was queued.
    private let started = Mutex<[String: Date]>([:])
    private let clock: StoppableClock
    private let checker: SiteChecker
    private let logger: Logger

    public init(clock: StoppableClock, logger: Logger, timeout: Double = 10) {
        self.clock = clock
        self.logger = logger
        self.checker = SiteChecker(timeout: timeout, cancellation: clock.httpCancellation)
    }

    /// When the site check of `certificate` is next due; distant future while it has no usable certificate.
    /// `usable`: whether the certificate is usable, when the caller knows (the daemon's pass did); else it is inspected.
    public func nextDue(_ certificate: CertificateConfig, store: CertificateStore, usable: Bool? = nil) -> Date {
        let now = clock.now()
        guard usable ?? StoredCertificateState.inspect(certificate, in: store, now: now).isUsable else { return .distantFuture }
        if let queued = started.withLock({ $0[certificate.name] }) { return max(now, queued.addingTimeInterval(SiteMismatch.grace)) }
        return SiteMismatch.nextCheck(record: SiteCheckStore(store: store).load(certificate.name), now: now)
    }

    /// Queues the site check of `certificate` when it is due and not already queued; returns at once, with when the
    /// check is next due after that (`nextDue`), so a caller planning the wake-up need not read `site.json` again.
    @discardableResult
    public func startIfDue(_ certificate: CertificateConfig, store: CertificateStore, usable: Bool? = nil) -> Date {
        let due = nextDue(certificate, store: store, usable: usable)
        guard !clock.isStopped, due <= clock.now() else { return due }
        let name = certificate.name
        let fresh = started.withLock { started -> Bool in
            guard started[name] == nil else { return false }
            started[name] = clock.now()
            return true
        }
        // Queued now (or already): due again `grace` after it was queued, known without reading the record.
        guard fresh else { return nextDue(certificate, store: store, usable: usable) }
        let queuedDue = clock.now().addingTimeInterval(SiteMismatch.grace)
        queue.async(group: group) { [self] in
            defer { _ = started.withLock { $0.removeValue(forKey: name) } }
            guard !clock.isStopped else { return }
            var logger = logger
            logger[metadataKey: "certificate"] = "\(name)"
            do {
                guard let record = try checker.checkAndStore(certificate, store: store, now: { [clock] in clock.now() }) else { return }
                let line = record.names.map { "\($0.name): \($0.text)" }.joined(separator: "; ")
                if record.allCurrent {
                    logger.info("site check: \(line)")
                } else if SiteMismatch.isSettling(record) {
                    let again = SiteMismatch.nextCheck(record: record, now: clock.now())
                    logger.notice("site check: \(line) (just after the deploy: the web server may still be finishing its reload; checked again \(TimeText.human(again)))")
                } else {
                    logger.warning("site check: \(line)")
                }
            } catch {
                logger.warning("site check: cannot store the result: \(error)")
            }
        }
        return queuedDue
    }

    /// Waits until `deadline` at most for the check in flight (already cancelled by the clock's stop); returns whether
    /// none is left running.
    @discardableResult
    public func waitIdle(until deadline: DispatchTime) -> Bool {
        group.wait(timeout: deadline) == .success
    }
}
