import Foundation

// The seam between the notification engine (helper "notify") and its channels, as written in the shared design of
// issue 9. This copy exists so the e-mail channel compiles on its own branch; the merge keeps one copy.

/// What happened, for channels that label or route by kind.
public enum NotificationEvent: String, Sendable, Equatable, CaseIterable {
    case renewalFailed, atRisk, recovered, deployFailed, siteMismatch, earlyRenewalRequested, digest, test
}

/// One thing the admin should hear about (the event engine builds it; channels render it).
public struct AgentNotification: Sendable, Equatable {
    public var event: NotificationEvent        // enum: renewalFailed, atRisk, recovered, deployFailed, siteMismatch, earlyRenewalRequested, digest, test
    public var certificate: String?            // config name
    public var domains: [String]
    public var subject: String                 // one line: what happened to which certificate
    public var message: String                 // plain-text body with the facts and the command to run
    public var error: String?
    public var notAfter: Date?
    public var since: Date?                    // when the state began
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
    var displayName: String { get }           // e.g. "email to admin@example.com via smtp.example.com:587"
    func deliver(_ notification: AgentNotification) throws
}

/// A notification a channel could not hand over: which channel, and why in words (never a secret).
public struct NotificationDeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let channel: String
    public let reason: String

    public init(channel: String, reason: String) {
        self.channel = channel
        self.reason = reason
    }

    public var description: String { "\(channel): \(reason)" }
}
