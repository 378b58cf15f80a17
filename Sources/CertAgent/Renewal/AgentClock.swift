import ACME
import FoundationEssentials

/// Time as CertAgent sees it — one protocol for the renewal service, the scheduler, the policies and the ACME
/// client's waits (it refines `ACMEClock`): injected everywhere, so decisions and passes are tested with a manual clock
/// (`ManualClock` in TestSupport) instead of waiting. `StoppableClock` is the real one in the daemon and the commands;
/// `SystemClock` is real time that is never stopped.
public protocol AgentClock: ACMEClock {
    /// True once the clock was stopped (SIGTERM, Ctrl-C): its waits end at once, and the work in progress is abandoned
    /// and reported as interrupted rather than failed.
    var isStopped: Bool { get }
}

extension AgentClock {
    /// A clock that cannot be stopped is never stopped.
    public var isStopped: Bool { false }
}

/// The real clock, never stopped.
public struct SystemClock: AgentClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) throws { try SystemACMEClock().sleep(seconds: seconds) }
}
