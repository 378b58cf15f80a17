import FoundationEssentials

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
