import FoundationEssentials

/// What kind of thing happened, as the event engine (`NotificationEngine`) decides it.
public enum NotificationEvent: String, Sendable, Equatable, Codable, CaseIterable {
    /// A renewal failed: the first failure, and once more when the failure persists past the at-risk point.
    case renewalFailed
    /// Less than the at-risk share of the certificate's lifetime is left and it has not been renewed.
    case atRisk
    /// A renewal succeeded after failures.
    case recovered
    /// Copying the files or running the reload command failed.
    case deployFailed
    /// The site serves a certificate other than the current one.
    case siteMismatch
    /// The CA asked for an early renewal: its renewal-information window (RFC 9773 §4.2) moved into the past.
    case earlyRenewalRequested
    /// Fleet mode: this node cannot reach etcd (renewals wait; what is served stays).
    case fleetUnreachable
    /// Fleet mode: etcd answers again after an outage.
    case fleetReachable
    /// Several of the above in one message.
    case digest
    /// `certagent notify --test`.
    case test
}

/// One thing the admin should hear about (the event engine builds it; channels render it).
public struct AgentNotification: Sendable, Equatable {
    public var event: NotificationEvent
    /// The certificate's config name (nil for a digest over several certificates and for a test).
    public var certificate: String?
    public var domains: [String]
    /// One line: what happened to which certificate.
    public var subject: String
    /// Plain-text body with the facts and the command to run.
    public var message: String
    public var error: String?
    public var notAfter: Date?
    /// When the state began.
    public var since: Date?
    public var nextAttempt: Date?
    public var occurredAt: Date

    public init(event: NotificationEvent, certificate: String?, domains: [String], subject: String, message: String,
                error: String? = nil, notAfter: Date? = nil, since: Date? = nil, nextAttempt: Date? = nil, occurredAt: Date) {
        self.event = event
        self.certificate = certificate
        self.domains = domains
        self.subject = subject
        self.message = message
        self.error = error
        self.notAfter = notAfter
        self.since = since
        self.nextAttempt = nextAttempt
        self.occurredAt = occurredAt
    }
}

/// A way to reach the admin. `deliver` throws a `NotificationDeliveryError` (words, no secrets) when not accepted.
public protocol NotificationChannel: Sendable {
    /// For people, e.g. "email to admin@example.com via smtp.example.com:587", "webhook https://ntfy.sh/… (ntfy)".
    var displayName: String { get }
    /// Sends `notification`; returns when the receiving end accepted it.
    func deliver(_ notification: AgentNotification) throws
}

/// Why a channel did not deliver a notification, in words for the admin (never a secret).
public struct NotificationDeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
