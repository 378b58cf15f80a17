import FoundationEssentials

/// How long to wait after failed renewals before trying again, as Let's Encrypt asks of clients that retry:
/// 1 minute, 10 minutes, 100 minutes, then once a day. The failure count and time live in `RenewalRecord`
/// so a restart does not reset them (RFC 9773 §4.2: a client that wakes periodically must remember its failures).
/// A CA's `Retry-After` (e.g. with `rateLimited`, RFC 8555 §6.6) moves the next attempt later, never earlier — and
/// never later than `RetryAfterCap` allows.
/// An admin-forced renewal ignores all of this.
public enum FailureBackoff {
    /// The delays after the first, second and third consecutive failure.
    public static let escalatingDelays: [TimeInterval] = [60, 600, 6_000]
    /// The delay after every later failure.
    public static let ceilingDelay: TimeInterval = 86_400

    /// The wait after the `failures`-th consecutive failure (zero when there has been none).
    public static func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        return failures <= escalatingDelays.count ? escalatingDelays[failures - 1] : ceilingDelay
    }

    /// The earliest moment the next attempt may start, or nil when nothing holds it back. Given `now`, a failure
    /// recorded after `now` — the clock was ahead then, a jump since corrected — counts as failing `now`, so a wrong
    /// clock cannot hold renewals back for as long as it was wrong. The CA's `Retry-After` is honoured up to
    /// `retryAfterCap` (see `RetryAfterCap`; the record keeps what the CA asked, this is what is used).
    public static func nextAttempt(for record: RenewalRecord, now: Date? = nil, retryAfterCap: RetryAfterCap? = nil) -> Date? {
        let shift = now.flatMap { now in record.lastFailure.map { max(0, $0.timeIntervalSince(now)) } } ?? 0
        var earliest: Date?
        if record.failures > 0, let lastFailure = record.lastFailure {
            earliest = lastFailure.addingTimeInterval(delay(afterFailures: record.failures) - shift)
        }
        if var retryAfter = record.retryAfter?.addingTimeInterval(-shift) {
            if let retryAfterCap { retryAfter = retryAfterCap.used(forRequested: retryAfter) }
            earliest = max(earliest ?? retryAfter, retryAfter)
        }
        return earliest
    }

    /// When an attempt may start, given that it is wanted at `now`: `now` itself unless failures or a
    /// `Retry-After` (up to `retryAfterCap`) hold it back; always `now` when the admin forced it.
    public static func attemptTime(for record: RenewalRecord, now: Date, forced: Bool = false,
                                   retryAfterCap: RetryAfterCap? = nil) -> Date {
        guard !forced, let next = nextAttempt(for: record, now: now, retryAfterCap: retryAfterCap), next > now else { return now }
        return next
    }

    /// The moment the last failure counts from for `RetryAfterCap`: the recorded failure time, or `now` when there
    /// is none or it lies after `now` (a clock since corrected).
    public static func failureTime(of record: RenewalRecord, now: Date) -> Date {
        min(record.lastFailure ?? now, now)
    }
}
