import ACME
import FoundationEssentials

/// The state of a certificate, as a stable value for machines (`status --json`'s `state`).
public enum CertificateState: String, Codable, Sendable, CaseIterable {
    /// A certificate that covers every configured name, matches its key and has not expired nor been revoked.
    case valid
    /// None issued yet.
    case missing
    /// The stored certificate or key cannot be read.
    case unreadable
    /// The certificate does not match its private key.
    case keyMismatch
    /// The certificate does not cover every configured name.
    case namesMissing
    case expired
    /// Revoked with `certagent revoke`.
    case revoked
    /// In the store, but no longer in the config: never renewed (`certagent delete NAME` removes its files).
    case notConfigured

    public init(_ state: StoredCertificateState) {
        switch state {
        case .missing: self = .missing
        case .unreadable: self = .unreadable
        case .keyMismatch: self = .keyMismatch
        case .namesMissing: self = .namesMissing
        case .expired: self = .expired
        case .revoked: self = .revoked
        case .valid: self = .valid
        }
    }
}

/// One certificate as `certagent status` shows it: machine values (`state`, `nextAction`, `nextActionReason`, times)
/// and, apart from them, the words for people (`summary`, `next`). `status --json` prints these fields; see
/// `StatusJSON` for the encoding.
public struct CertificateStatus: Codable, Sendable {
    public var name: String
    /// False for a certificate the store holds files for but the config no longer lists (`notConfigured`).
    public var configured: Bool = true
    public var domains: [String]
    public var state: CertificateState
    /// The state in words: "valid until 2026-12-01 13:39 UTC".
    public var summary: String
    public var healthy: Bool
    public var issuer: String?
    /// The ACME directory URL of the CA that issued the stored certificate (its `IssuanceFacts`); absent when the
    /// version predates those facts or nothing is stored.
    public var caDirectory: String?
    /// That CA as people know it: a known name (`letsencrypt`) or the directory URL.
    public var ca: String?
    /// With several CAs and failures since the last success: the CA the next attempt goes to, and why.
    public var nextAttemptCA: String?
    public var serial: String?
    public var notBefore: Date?
    public var notAfter: Date?
    public var fullChain: String?
    public var nextAction: NextAction
    /// When `nextAction` happens (absent for `renewNow` and `none`).
    public var nextActionAt: Date?
    /// Why (a `RenewalReason` raw value: `missing`, `unreadable`, `keyMismatch`, `namesMissing`, `profileChanged`,
    /// `expired`, `revoked`, `inWindow`, `lifetimeThreshold`, `forced`); absent for `checkRenewalInfo` and `none`.
    public var nextActionReason: RenewalReason?
    /// What happens next in words: "renews at 2026-12-03 10:00 UTC (its renewal point: …)".
    public var next: String
    public var lastError: String?
    public var failures: Int?
    /// When the CA asked for a later retry than is used (`RetryAfterCap`): what it asked. `nextActionAt` is what is used.
    public var retryAfterRequested: Date?
    /// What each name's site served at the last site check (`SiteNameResult`; `unchecked` before the first one).
    public var site: [SiteNameResult] = []
    /// The ACME profile the current certificate was ordered under (its `IssuanceFacts`); absent when it named none,
    /// or the version predates the record (then `profileRecorded` is false).
    public var profile: String?
    /// False when the current version has no issuance record (stored by an earlier CertAgent): its profile is unknown.
    public var profileRecorded: Bool?
    /// The profile the config names now, when any.
    public var configuredProfile: String?
    /// Fleet mode: the fleet's version of this certificate, what each node deployed, who holds its lock — or why etcd
    /// could not be read (`FleetStatus.certificate`).
    public var fleet: CertificateFleetStatus?

    /// The state of `certificate` and what happens next. `primaryDirectoryURL` (the config's first CA) makes the
    /// renewal decision the daemon's: a fallback CA's certificate is not renewed early for its profile.
    public init(certificate: CertificateConfig, store: CertificateStore, now: Date, primaryDirectoryURL: String? = nil) {
        // What the daemon will do next, from the same policy and the persisted record (no network, nothing written).
        // The record's certificate summary spares reading and checking the key while the files are unchanged.
        let record = RenewalRecordStore(store: store).load(certificate.name).record
        let state = StoredCertificateState.inspect(certificate, in: store, now: now, summary: record.certificateSummary).state
        name = certificate.name
        domains = certificate.domains
        // A lost `current` link is linked again to a verified version (no order): planned as that version.
        let relink = CurrentLinkRecovery.candidate(for: certificate, in: store, now: now)
        self.state = CertificateState(state)
        summary = relink.map(CurrentLinkRecovery.note) ?? state.description
        healthy = state.isUsable
        issuer = state.leaf.map { UntrustedText.display($0.issuer, limit: 300) }   // the CA wrote it
        serial = state.leaf?.serialHex
        notBefore = state.leaf?.notBefore
        notAfter = state.leaf?.notAfter
        fullChain = state.isUsable ? store.currentFiles(certificate.name)?.fullChain : nil
        // When the daemon has not chosen a time yet, show the middle of the range it will choose from (not a fresh
        // random draw that would differ at every call).
        let planned = relink.map { StoredCertificateState.valid(leaf: $0.candidate.leaf, chain: $0.candidate.chain) } ?? state
        let facts = state.leaf == nil ? nil : store.issuanceFacts(of: certificate.name)
        if state.leaf != nil {
            profile = facts?.profile
            profileRecorded = facts != nil
        }
        configuredProfile = certificate.profile
        let decision = RenewalPolicy().decide(state: planned, record: record, ariSupported: record.ariWindow != nil,
                                              now: now, random: MidpointRandomSource(),
                                              profileChange: ProfileChange.between(configured: certificate.profile, facts: facts,
                                                                                                   primaryDirectoryURL: primaryDirectoryURL))
        let step = NextStep(decision)
        nextAction = step.action
        nextActionAt = step.at
        nextActionReason = step.reason
        next = step.text
        if step.action == .retryAt, let asked = record.retryAfter, let at = step.at, asked > at { retryAfterRequested = asked }
        if record.failures > 0 {
            lastError = record.lastError
            failures = record.failures
        } else if let deployError = record.deployError {
            lastError = "deployment: " + deployError
        }
        if step.action == .retryAt { next += "; `certagent renew --force \(certificate.name)` retries now" }
        site = Self.siteResults(certificate, record: SiteCheckStore(store: store).load(certificate.name), currentSerial: serial)
        if state.leaf != nil { noteIssuingCA(of: certificate.name, in: store) }
    }

    /// The stored site check per configured name; a result recorded for an earlier current certificate counts as
    /// serving another one now.
    static func siteResults(_ certificate: CertificateConfig, record: SiteCheckRecord, currentSerial: String?) -> [SiteNameResult] {
        certificate.domains.map { name in
            guard var result = record.names.first(where: { $0.name == name }) else {
                return SiteNameResult(name: name, address: certificate.address?.description ?? "\(name):443", served: .unchecked, checkedAt: nil)
            }
            if result.served == .current, result.serial != currentSerial { result.served = .other }
            return result
        }
    }

    /// A few lines of text for a terminal.
    public var text: String {
        var lines = ["\(healthy ? "✓" : "✗") \(name): \(domains.joined(separator: ", "))", "    state         \(summary)"]
        if let issuer { lines.append("    issuer        \(issuer)") }
        if let ca { lines.append("    CA            \(ca)") } else if issuer != nil { lines.append("    CA            not recorded (stored before CertAgent noted the issuing CA)") }
        if let notAfter {
            let days = Int(notAfter.timeIntervalSinceNow / 86_400)
            lines.append("    expires       \(Self.format(notAfter)) (\(days) days)")
        }
        if let profileLine { lines.append("    profile       \(profileLine)") }
        lines.append("    next          \(next)")
        if let retryAfterRequested {
            lines.append("    CA asked      to wait until \(Self.format(retryAfterRequested)): capped, see next")
        }
        if let nextAttemptCA { lines.append("    next CA       \(nextAttemptCA)") }
        if let lastError { lines.append("    last error    \(lastError)" + (failures.map { " (\($0) failure\($0 == 1 ? "" : "s") in a row)" } ?? "")) }
        if let fullChain { lines.append("    full chain    \(fullChain)") }
        for result in site {
            let checked = result.checkedAt.map { " (checked \(Self.format($0)))" } ?? ""
            lines.append("    site          \(result.name): \(result.text(currentNotAfter: notAfter))\(checked)")
        }
        return lines.joined(separator: "\n")
    }

    /// The profile in words, when there is anything to say: the one the certificate was issued under, and the
    /// configured one when it differs.
    var profileLine: String? {
        let issued: String? = switch (profileRecorded, profile) {
        case (true?, let name?): name
        case (true?, nil): "none (the CA's default)"
        case (false?, _): "not recorded (issued by an earlier CertAgent)"
        case (nil, _): nil
        }
        switch (issued, configuredProfile) {
        case (nil, nil): return nil
        case (nil, let configured?): return "\(configured) (configured)"
        case (let issued?, let configured):
            if profileRecorded == true, profile == configured { return profile == nil ? nil : issued }
            if profileRecorded == false, configured == nil { return nil }
            return "\(issued); configured: \(configured ?? "none (the CA's default)")"
        }
    }

    /// A moment for people: `2026-12-01 13:39 UTC` (`TimeText.human`).
    public static func format(_ date: Date) -> String { TimeText.human(date) }
}

/// `status --json`: the one JSON encoding of reports for machines — times as RFC 3339 in UTC (`TimeText.rfc3339`),
/// sorted keys, slashes not escaped (`discover --json` uses it too).
public enum StatusJSON {
    public static func encode(_ reports: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(TimeText.rfc3339(date))
        }
        return String(decoding: try encoder.encode(reports), as: UTF8.self)
    }
}

/// Always the middle of the range: a stable answer for `status`.
private struct MidpointRandomSource: RandomSource {
    func fraction() -> Double { 0.5 }
}
