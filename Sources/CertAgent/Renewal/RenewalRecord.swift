import ACME
import FoundationEssentials

/// What CertAgent remembers about renewing one certificate between runs (`<certificate dir>/renewal.json`).
///
/// Everything that must survive a restart lives here: the failure count and time (so retries keep backing off,
/// RFC 9773 §4.2), the CA's `Retry-After`, the randomly chosen renewal time (so a restart does not draw a new one),
/// the last renewal information fetched (RFC 9773 §4.2) and when to fetch it again (§4.3), and the order in flight.
public struct RenewalRecord: Codable, Sendable, Equatable {
    /// The file format, for later migrations.
    public var formatVersion: Int = 1

    // MARK: Failures

    /// Consecutive failed renewal attempts since the last success.
    public var failures: Int = 0
    /// When the last attempt failed.
    public var lastFailure: Date?
    /// Why the last attempt failed (for the admin).
    public var lastError: String?
    /// The CA's `Retry-After` on the last failure (e.g. `rateLimited`, RFC 8555 §6.6), as the CA asked it. What is
    /// waited is at most `RetryAfterCap` (the policy applies it when deciding; `status` shows both).
    public var retryAfter: Date?

    // MARK: Chosen renewal time

    /// The randomly chosen moment to renew `chosenForSerial`.
    public var chosenRenewalTime: Date?
    /// The serial number (hex) of the certificate the time was chosen for; a new certificate draws again.
    public var chosenForSerial: String?
    /// The suggested window the time was drawn from (RFC 9773 §4.2), or nil when it came from the lifetime rule.
    public var chosenFromWindow: RenewalWindow?

    // MARK: Renewal information (ARI, RFC 9773)

    /// The ARI certificate identifier (RFC 9773 §4.1) the fields below are about.
    public var ariCertificateID: String?
    /// The last suggested window fetched for `ariCertificateID` (RFC 9773 §4.2).
    public var ariWindow: RenewalWindow?
    /// The server's `explanationURL` for that window, if any (RFC 9773 §4.2).
    public var ariExplanationURL: String?
    /// When the window was fetched.
    public var ariFetched: Date?
    /// When to fetch renewal information for `ariCertificateID` again (RFC 9773 §4.3).
    public var nextARICheck: Date?

    // MARK: Falling back to another CA (`CertificateAuthorityFallback`)

    /// The directory URL of the CA the last failed attempt went to (nil: none failed since the last success).
    public var failedAuthority: String?
    /// Consecutive failed attempts at `failedAuthority`.
    public var failuresAtAuthority: Int?
    /// The `Retry-After` `failedAuthority` sent with its last failure, as it asked (perhaps more than is honoured).
    public var authorityRetryAfter: Date?

    // MARK: History and work in progress

    /// When the last renewal succeeded.
    public var lastRenewed: Date?
    /// When a renewal started that has not ended yet: found set at start-up, it marks an order a stopped run abandoned
    /// (set and cleared by the caller).
    public var inFlightSince: Date?

    /// The last deployment (install copies or reload command) failed with this error; it is retried.
    public var deployError: String?
    /// When a failed deployment is retried next.
    public var nextDeployAttempt: Date?
    /// The store version (`versions/<id>`) last deployed successfully, reload included: a reload-only `install` runs
    /// again only when the current version differs (not at every daemon start or SIGHUP).
    public var deployedVersion: String?
    /// The reload command that ran for `deployedVersion`: a changed command runs once for the current version too.
    public var deployedReload: [String]?

    // MARK: The stored certificate, summarised

    /// What planning needs from the current certificate version, with the identities of the files it was read from
    /// (`CertificateSummary`): while they are unchanged, a pass, a start-up or `status` does not read and check the
    /// private key again. Ignored and made again when the files changed (another process renewed, a file was replaced).
    public var certificateSummary: CertificateSummary?

    /// A record with no history.
    public init() {}

    // MARK: Reading

    /// The suggested window for the certificate with ARI identifier `certificateID`, if one was fetched for it.
    public func window(for certificateID: String) -> RenewalWindow? {
        ariCertificateID == certificateID ? ariWindow : nil
    }

    /// When renewal information for `certificateID` is next due (nil: nothing is known about it yet, fetch now).
    public func nextRenewalInfoCheck(for certificateID: String) -> Date? {
        ariCertificateID == certificateID ? nextARICheck : nil
    }

    // MARK: Updating

    /// Notes a failed renewal attempt at `now`; `retryAfter` is the CA's `Retry-After`, if it sent one.
    public mutating func recordFailure(_ error: String, retryAfter: Date? = nil, at now: Date) {
        failures += 1
        lastFailure = now
        lastError = error
        if let retryAfter, retryAfter > now {
            self.retryAfter = max(retryAfter, self.retryAfter ?? retryAfter)
        } else if let previous = self.retryAfter, previous <= now {
            self.retryAfter = nil
        }
    }

    /// Notes a successful renewal at `now`: failures, the chosen time, the old certificate's renewal information
    /// and the order in flight are all forgotten.
    public mutating func recordSuccess(at now: Date) {
        var fresh = RenewalRecord()
        fresh.lastRenewed = now
        self = fresh
    }

    /// Stores renewal information fetched at `now` for `certificateID` (RFC 9773 §4.2) and schedules the next
    /// fetch after its `Retry-After`, clamped to [one minute, one day] (§4.3).
    public mutating func recordRenewalInfo(_ info: RenewalInfo, certificateID: String, at now: Date) {
        ariCertificateID = certificateID
        ariWindow = RenewalWindow(start: info.windowStart, end: info.windowEnd)
        ariExplanationURL = info.explanationURL
        ariFetched = now
        nextARICheck = now.addingTimeInterval(RenewalInfoPolling.interval(retryAfter: info.retryAfter))
    }

    /// Notes that fetching renewal information for `certificateID` failed at `now`: try again later (clamped as
    /// in RFC 9773 §4.3). A window fetched earlier for the same certificate is kept.
    public mutating func recordRenewalInfoFailure(certificateID: String, retryAfter seconds: TimeInterval? = nil, at now: Date) {
        if ariCertificateID != certificateID {
            ariCertificateID = certificateID
            ariWindow = nil
            ariExplanationURL = nil
            ariFetched = nil
        }
        nextARICheck = now.addingTimeInterval(RenewalInfoPolling.intervalAfterError(retryAfter: seconds))
    }
}
