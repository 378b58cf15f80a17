import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Time as the ACME client sees it: injected so polling and `Retry-After` are tested without waiting.
public protocol ACMEClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Blocks for `seconds`; throws (e.g. `CancellationError`) to abandon the wait early.
    func sleep(seconds: Double) throws
}

/// The real clock.
public struct SystemACMEClock: ACMEClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) throws {
        guard seconds > 0 else { return }
        let bounded = min(seconds, 1e9)   // about 31 years: within `timespec`
        var request = timespec(tv_sec: Int(bounded), tv_nsec: Int((bounded - bounded.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }
}
