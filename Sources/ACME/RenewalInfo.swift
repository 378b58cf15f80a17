import FoundationEssentials

/// ACME Renewal Information for one certificate (RFC 9773 §4.2).
public struct RenewalInfo: Sendable, Equatable {
    /// Start of the suggested renewal window (`suggestedWindow.start`).
    public var windowStart: Date
    /// End of the suggested renewal window (`suggestedWindow.end`).
    public var windowEnd: Date
    /// A page explaining the window, e.g. after a mass revocation.
    public var explanationURL: String?
    /// Seconds until the client should check again, from the `Retry-After` header (RFC 9773 §4.3),
    /// unclamped: callers should keep it between about a minute and a day.
    public var retryAfter: TimeInterval?

    /// Renewal information built in code.
    public init(windowStart: Date, windowEnd: Date, explanationURL: String? = nil, retryAfter: TimeInterval? = nil) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.explanationURL = explanationURL
        self.retryAfter = retryAfter
    }

    /// A uniformly random moment inside the window, as RFC 9773 §4.2 recommends for choosing when to renew.
    public func randomRenewalTime<G: RandomNumberGenerator>(using generator: inout G) -> Date {
        let span = windowEnd.timeIntervalSince(windowStart)
        guard span > 0 else { return windowStart }
        return windowStart.addingTimeInterval(Double.random(in: 0...span, using: &generator))
    }

    /// A uniformly random moment inside the window (system random generator).
    public func randomRenewalTime() -> Date {
        var generator = SystemRandomNumberGenerator()
        return randomRenewalTime(using: &generator)
    }
}

/// The renewalInfo response body (RFC 9773 §4.2).
struct RenewalInfoBody: Decodable {
    struct Window: Decodable {
        var start: String
        var end: String
    }
    var suggestedWindow: Window
    var explanationURL: String?
}
