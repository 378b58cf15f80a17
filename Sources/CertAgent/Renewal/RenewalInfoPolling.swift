import FoundationEssentials

/// When to fetch a certificate's renewal information again (RFC 9773 §4.3).
public enum RenewalInfoPolling {
    /// The shortest wait honoured: a `Retry-After` below a minute is read as a minute (RFC 9773 §4.3).
    public static let minimumInterval: TimeInterval = 60
    /// The longest wait honoured: a `Retry-After` above a day is read as a day (RFC 9773 §4.3).
    public static let maximumInterval: TimeInterval = 86_400
    /// The wait when the server sent no `Retry-After` (our choice: four checks a day).
    public static let defaultInterval: TimeInterval = 6 * 3_600
    /// The wait after a failed fetch without `Retry-After` (our choice: transient errors clear within the hour,
    /// and the lifetime rule still renews if the renewal information never arrives).
    public static let intervalAfterError: TimeInterval = 3_600

    /// The `Retry-After` delay clamped to [one minute, one day]; the default when absent or not a number.
    public static func interval(retryAfter seconds: TimeInterval?) -> TimeInterval {
        guard let seconds, seconds.isFinite else { return defaultInterval }
        return min(max(seconds, minimumInterval), maximumInterval)
    }

    /// The delay before retrying after a failed fetch: `Retry-After` clamped as above, else `intervalAfterError`.
    public static func intervalAfterError(retryAfter seconds: TimeInterval?) -> TimeInterval {
        guard let seconds, seconds.isFinite else { return intervalAfterError }
        return interval(retryAfter: seconds)
    }
}
