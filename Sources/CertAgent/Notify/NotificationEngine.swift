import ACME
import FoundationEssentials

/// What the site serves, as the site check (`status` item 2) last saw it: an optional input of the engine.
public enum SiteCheckFact: Sendable, Equatable {
    /// Every name serves the current certificate.
    case servesCurrent
    /// Some name serves another certificate (or none): `detail` says which and the likely cause.
    case servesOther(detail: String)
}

/// The facts about one certificate the engine decides from (read from its renewal record and the store).
public struct CertificateFacts: Sendable, Equatable {
    public var name: String
    public var domains: [String]
    /// Consecutive failed renewals, the last one's error and time, and when the next attempt (or planned renewal) is.
    public var failures: Int = 0
    public var lastError: String?
    public var lastFailure: Date?
    public var retryAt: Date?
    /// When the last renewal succeeded.
    public var lastRenewed: Date?
    /// The stored (current) certificate, if any.
    public var serialHex: String?
    public var notBefore: Date?
    public var notAfter: Date?
    /// The last deployment's error, while it fails.
    public var deployError: String?
    public var nextDeployAttempt: Date?
    /// The CA's last suggested renewal window for the current certificate (RFC 9773 §4.2), when it was fetched, and
    /// the CA's explanation URL.
    public var renewalWindow: RenewalWindow?
    public var renewalWindowFetched: Date?
    public var explanationURL: String?
    /// What the site served at its last check (nil: not checked).
    public var site: SiteCheckFact?

    public init(name: String, domains: [String]) {
        self.name = name
        self.domains = domains
    }

    /// Reads the facts from a certificate's renewal record and stored state.
    public init(certificate: CertificateConfig, record: RenewalRecord, state: StoredCertificateState, retryAt: Date?, site: SiteCheckFact? = nil) {
        self.init(name: certificate.name, domains: certificate.domains)
        failures = record.failures
        lastError = record.lastError
        lastFailure = record.lastFailure
        self.retryAt = retryAt
        lastRenewed = record.lastRenewed
        if let leaf = state.leaf {
            serialHex = leaf.serialHex
            notBefore = leaf.notBefore
            notAfter = leaf.notAfter
            if let id = leaf.ariCertificateIdentifier, let window = record.window(for: id) {
                renewalWindow = window
                renewalWindowFetched = record.ariFetched
                explanationURL = record.ariExplanationURL
            }
        }
        deployError = record.deployError
        nextDeployAttempt = record.nextDeployAttempt
        self.site = site
    }
}

/// Decides what to tell the admin: pure functions of the remembered `NotificationState`, the current
/// `CertificateFacts` and the time. Each event is sent once per state change:
///
/// - `renewalFailed` on the first failure, and once more when the failure persists past the at-risk point;
/// - `atRisk` when less than max(share × lifetime, floor) is left, not failing, and not renewed (once per certificate);
/// - `recovered` once, when a renewal succeeds after failures;
/// - `deployFailed` once per failing-deployment state, `siteMismatch` once per mismatch state;
/// - `earlyRenewalRequested` once per renewal window that was already over when the CA gave it (RFC 9773 §4.2: a
///   window in the past asks for renewal now, as after a mass revocation).
///
/// Flood guard: an event kind is sent about a certificate at most once per `minimumInterval`; an event held back by
/// it leaves the state unchanged, so it is sent at a later pass if the state still holds then, and not at all if it
/// went away meanwhile. Several events in one pass become one digest, at most once a day (otherwise the single ones).
public enum NotificationEngine {
    /// The least time between two messages of one kind about one certificate.
    public static let minimumInterval: TimeInterval = 3_600
    /// The least time between two digests involving one certificate.
    public static let digestInterval: TimeInterval = 86_400

    /// Whether the certificate in `facts` is at risk at `now`.
    public static func isAtRisk(_ facts: CertificateFacts, settings: NotifyConfig, now: Date) -> Bool {
        guard let notBefore = facts.notBefore, let notAfter = facts.notAfter else { return false }
        return notAfter.timeIntervalSince(now) < settings.atRiskLead(notBefore: notBefore, notAfter: notAfter)
    }

    /// The events due for one certificate, and the state to remember once they are handed to delivery.
    public static func evaluate(_ facts: CertificateFacts, state old: NotificationState, settings: NotifyConfig,
                                now: Date) -> (events: [AgentNotification], state: NotificationState) {
        var state = old
        var events: [AgentNotification] = []
        func fire(_ event: NotificationEvent, _ build: () -> AgentNotification, remember: (inout NotificationState) -> Void) {
            if let last = state.lastSent[event.rawValue], now.timeIntervalSince(last) < minimumInterval, now >= last { return }
            events.append(build())
            remember(&state)
            state.lastSent[event.rawValue] = now
        }
        let atRisk = isAtRisk(facts, settings: settings, now: now)

        // Failures, and recovery.
        if facts.failures > 0 {
            if state.failingSince == nil {
                let since = facts.lastFailure ?? now
                fire(.renewalFailed, { NotificationText.renewalFailed(facts, since: since, atRisk: atRisk, now: now) }) {
                    $0.failingSince = since
                    if atRisk {
                        $0.failurePastRiskSent = true
                        $0.atRiskSerial = facts.serialHex
                    }
                }
            } else if atRisk, !state.failurePastRiskSent, let since = state.failingSince {
                fire(.renewalFailed, { NotificationText.renewalFailed(facts, since: since, atRisk: true, now: now) }) {
                    $0.failurePastRiskSent = true
                    $0.atRiskSerial = facts.serialHex
                }
            }
        } else if let since = state.failingSince {
            if let renewed = facts.lastRenewed, renewed >= since {
                fire(.recovered, { NotificationText.recovered(facts, since: since, now: now) }) {
                    $0.failingSince = nil
                    $0.failurePastRiskSent = false
                }
            } else {
                // The record was reset without a renewal (the certificate was deleted and configured again): nothing to say.
                state.failingSince = nil
                state.failurePastRiskSent = false
            }
        }

        // At risk without failures (nobody renewed it: the daemon was down, or renewal is planned too late).
        if facts.failures == 0, atRisk, let serial = facts.serialHex, state.atRiskSerial != serial {
            fire(.atRisk, { NotificationText.atRisk(facts, now: now) }) { $0.atRiskSerial = serial }
        }

        // Deployment.
        if let error = facts.deployError {
            if state.deployFailureSince == nil {
                fire(.deployFailed, { NotificationText.deployFailed(facts, error: error, now: now) }) { $0.deployFailureSince = now }
            }
        } else {
            state.deployFailureSince = nil
        }

        // What the site serves.
        switch facts.site {
        case .servesOther(let detail)?:
            if state.siteMismatchSince == nil {
                fire(.siteMismatch, { NotificationText.siteMismatch(facts, detail: detail, now: now) }) { $0.siteMismatchSince = now }
            }
        case .servesCurrent?: state.siteMismatchSince = nil
        case nil: break
        }

        // The CA asked for an early renewal: a window that was already over when it was fetched.
        if let window = facts.renewalWindow, let fetched = facts.renewalWindowFetched, window.end <= fetched, let serial = facts.serialHex {
            let key = "\(serial) \(TimeText.rfc3339(window.start))"
            if state.earlyRenewalFor != key {
                fire(.earlyRenewalRequested, { NotificationText.earlyRenewal(facts, window: window, now: now) }) { $0.earlyRenewalFor = key }
            }
        }
        return (events, state)
    }

    /// What one pass sends: the events of every certificate looked at, as one digest when there are several and no
    /// certificate involved had a digest in the last day; otherwise one message each. Updates `states` (digest time).
    public static func combine(_ batch: [(name: String, events: [AgentNotification])], states: inout [String: NotificationState],
                               now: Date) -> [AgentNotification] {
        let all = batch.flatMap(\.events)
        guard all.count > 1 else { return all }
        let involved = batch.filter { !$0.events.isEmpty }.map(\.name)
        let digestAllowed = involved.allSatisfy { name in
            guard let last = states[name]?.lastDigest, now >= last else { return true }
            return now.timeIntervalSince(last) >= digestInterval
        }
        guard digestAllowed else { return all }
        for name in involved { states[name, default: NotificationState()].lastDigest = now }
        return [NotificationText.digest(all, now: now)]
    }
}
