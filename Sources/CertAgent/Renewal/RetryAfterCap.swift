import FoundationEssentials

/// The most CertAgent waits when the CA asks it to (`Retry-After` on a `rateLimited` or `serverInternal` answer,
/// RFC 8555 §6.6; on a failed renewal-information fetch, RFC 9773 §4.3), so a broken or hostile CA cannot put a
/// renewal off until after the certificate expires — or, for a certificate that does not exist yet, for years.
///
/// - A certificate that is in use: the wait ends by its latest safe renewal time, `LifetimeRenewalRule.latestRenewal`
///   (expiry minus a tenth of its lifetime, at most a day) — the point past which it is at risk. Once that point has
///   passed, the CA's wait is not honoured at all: only `FailureBackoff` paces the attempts.
/// - No usable certificate (missing, unreadable, key mismatch, names missing, expired, revoked): at most
///   `withoutUsableCertificate` (one day) after the failure — the same ceiling as `FailureBackoff`'s.
///
/// A wait shorter than the cap is honoured as asked. Pure: the failure time comes in as an argument.
public struct RetryAfterCap: Sendable, Equatable, CustomStringConvertible {
    /// The longest wait honoured when there is no usable certificate.
    public static let withoutUsableCertificate: TimeInterval = 86_400

    /// The latest moment a wait the CA asks for may end.
    public var latest: Date
    /// Why the bound is where it is, in words (for logs and `status`).
    public var reason: String

    public init(latest: Date, reason: String) {
        self.latest = latest
        self.reason = reason
    }

    /// The cap after a failure at `failedAt` when there is no usable certificate: one day.
    public static func withoutCertificate(failedAt: Date) -> RetryAfterCap {
        RetryAfterCap(latest: failedAt.addingTimeInterval(withoutUsableCertificate),
                      reason: "one day, as there is no usable certificate")
    }

    /// The cap after a failure at `failedAt` for the certificate in use, `certificate`: its latest safe renewal time
    /// under `rule`, or `failedAt` itself once that has passed.
    public static func serving(_ certificate: ServedCertificate, rule: LifetimeRenewalRule, failedAt: Date) -> RetryAfterCap {
        let latest = rule.latestRenewal(notBefore: certificate.notBefore, notAfter: certificate.notAfter)
        return RetryAfterCap(latest: max(latest, failedAt),
                             reason: "the certificate's latest safe renewal time, \(CertificateStatus.format(latest)) "
                                 + "(it expires \(CertificateStatus.format(certificate.notAfter)))")
    }

    /// The wait actually used when the CA asked for one until `requested`.
    public func used(forRequested requested: Date) -> Date { min(requested, latest) }

    /// `until <time> (<reason>)`.
    public var description: String { "until \(CertificateStatus.format(latest)) (\(reason))" }
}
