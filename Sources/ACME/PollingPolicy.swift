import FoundationEssentials

/// How the client polls authorizations and orders (RFC 8555 §7.5.1): exponential back-off from
/// `initialDelay`, capped at `maximumDelay`; a server `Retry-After` is honoured as a minimum wait;
/// no wait reaches past `timeout`, counted from the start of the wait.
public struct PollingPolicy: Sendable, Equatable {
    /// Wait before the first poll, in seconds.
    public var initialDelay: Double
    /// Factor applied to the wait after every poll.
    public var multiplier: Double
    /// Longest wait between polls (unless `Retry-After` asks for more).
    public var maximumDelay: Double
    /// Overall deadline of one wait, in seconds; then `ACMEError.timedOut`.
    public var timeout: Double

    /// The defaults: 50 ms, ×2, at most 5 s between polls, 300 s in all.
    public init(initialDelay: Double = 0.05, multiplier: Double = 2, maximumDelay: Double = 5, timeout: Double = 300) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.timeout = timeout
    }
}
