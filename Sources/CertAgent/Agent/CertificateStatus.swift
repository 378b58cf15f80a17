import ACME
import Foundation

/// One certificate as `certagent status` shows it.
public struct CertificateStatus: Codable, Sendable {
    public var name: String
    /// False for a certificate the store holds files for but the config no longer lists (`notConfigured`).
    public var configured: Bool = true
    public var domains: [String]
    public var state: String
    public var healthy: Bool
    public var issuer: String?
    public var serial: String?
    public var notBefore: Date?
    public var notAfter: Date?
    public var fullChain: String?
    public var nextAction: String?
    public var nextActionAt: Date?
    /// Why (a `RenewalReason` raw value, e.g. `lifetimeThreshold`, `inWindow`, `expired`).
    public var nextActionReason: String?
    public var lastError: String?
    public var failures: Int?
    /// When the CA asked for a later retry than is used (`RetryAfterCap`): what it asked. `nextActionAt` is what is used.
    public var retryAfterRequested: Date?

    public init(certificate: CertificateConfig, store: CertificateStore, now: Date) {
        let state = StoredCertificateState.inspect(certificate, in: store, now: now)
        name = certificate.name
        domains = certificate.domains
        // A lost `current` link is linked again to a verified version (no order): planned as that version.
        let relink = CurrentLinkRecovery.candidate(for: certificate, in: store, now: now)
        self.state = relink.map(CurrentLinkRecovery.note) ?? state.description
        healthy = state.isUsable
        issuer = state.leaf.map { UntrustedText.display($0.issuer, limit: 300) }   // the CA wrote it
        serial = state.leaf?.serialHex
        notBefore = state.leaf?.notBefore
        notAfter = state.leaf?.notAfter
        fullChain = state.isUsable ? store.currentFiles(certificate.name)?.fullChain : nil
        // What the daemon will do next, from the same policy and the persisted record (no network, nothing written).
        let record = RenewalRecordStore(store: store).load(certificate.name).record
        // When the daemon has not chosen a time yet, show the middle of the range it will choose from (not a fresh
        // random draw that would differ at every call).
        let planned = relink.map { StoredCertificateState.valid(leaf: $0.candidate.leaf, chain: $0.candidate.chain) } ?? state
        let decision = RenewalPolicy().decide(state: planned, record: record, ariSupported: record.ariWindow != nil,
                                              now: now, random: MidpointRandomSource())
        switch decision.action {
        case .renewNow(let reason):
            nextAction = "renew now: \(reason)"
            nextActionAt = now
            nextActionReason = reason.rawValue
        case .renewAt(let date, let reason):
            nextAction = decision.heldBackByFailures ? "retry after failures" : "renew"
            nextActionAt = date
            nextActionReason = reason.rawValue
            if decision.heldBackByFailures, let asked = record.retryAfter, asked > date { retryAfterRequested = asked }
        case .checkRenewalInfo(let date):
            nextAction = "check the CA's renewal information (ARI)"
            nextActionAt = date
        }
        if record.failures > 0 {
            lastError = record.lastError
            failures = record.failures
        } else if let deployError = record.deployError {
            lastError = "deployment: " + deployError
        }
    }

    /// A few lines of text for a terminal.
    public var text: String {
        var lines = ["\(healthy ? "✓" : "✗") \(name): \(domains.joined(separator: ", "))", "    state         \(state)"]
        if let issuer { lines.append("    issuer        \(issuer)") }
        if let notAfter {
            let days = Int(notAfter.timeIntervalSinceNow / 86_400)
            lines.append("    expires       \(Self.format(notAfter)) (\(days) days)")
        }
        if let nextAction {
            lines.append("    next          \(nextAction)" + (nextActionAt.map { " at \(Self.format($0))" } ?? "")
                         + (nextActionReason.map { " (\($0))" } ?? ""))
        }
        if let retryAfterRequested {
            lines.append("    CA asked      to wait until \(Self.format(retryAfterRequested)): capped, see next")
        }
        if let lastError { lines.append("    last error    \(lastError)" + (failures.map { " (\($0) failures in a row)" } ?? "")) }
        if let fullChain { lines.append("    full chain    \(fullChain)") }
        return lines.joined(separator: "\n")
    }

    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateTimeSeparator(.space).time(includingFractionalSeconds: false)) + " UTC"
    }
}

/// Always the middle of the range: a stable answer for `status`.
private struct MidpointRandomSource: RandomSource {
    func fraction() -> Double { 0.5 }
}
