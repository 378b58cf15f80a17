import ACME
import FoundationEssentials

/// "The site serves a different certificate an hour after a successful deploy", with the likely cause: the fact the
/// notification engine turns into a `siteMismatch` event.
public struct SiteMismatchFact: Sendable, Equatable {
    /// The names that served another certificate.
    public var names: [String]
    /// The serials they served (one per name, same order).
    public var servedSerials: [String]
    public var lastDeploy: Date
    public var checkedAt: Date
    /// The likely cause in words.
    public var cause: String
}

public enum SiteMismatch {
    /// How long after a deploy a served certificate that is not the current one counts as a problem (a reload may
    /// take a moment; a CDN may take a while).
    public static let grace: TimeInterval = 3600

    /// The mismatch to report, or nil: when the last check (`result`), made at least `grace` after the last successful
    /// deploy, found a name serving another certificate. `hasReload`: the certificate's install block runs a reload
    /// command. Unreachable names are not a mismatch (nothing was served).
    public static func evaluate(result: SiteCheckRecord, lastDeploy: Date?, hasReload: Bool, now: Date) -> SiteMismatchFact? {
        guard let lastDeploy, let checkedAt = result.checkedAt, checkedAt >= lastDeploy.addingTimeInterval(grace),
              now >= checkedAt else { return nil }
        let other = result.names.filter { $0.served == .other }
        guard !other.isEmpty else { return nil }
        let cause: String
        if !hasReload {
            cause = "no reload command is configured, so the web server may still hold the old certificate in memory: add install.reload (e.g. systemctl reload nginx)"
        } else if other.count < result.names.count {
            cause = "some names serve the current certificate and others do not: another virtual host (server block) answers for \(other.map(\.name).joined(separator: ", ")) with its own certificate"
        } else {
            cause = "the reload ran but the site still serves another certificate: another virtual host answers for these names, the web server points at other files, or a CDN or proxy in front serves its own certificate"
        }
        return SiteMismatchFact(names: other.map(\.name), servedSerials: other.map { $0.serial ?? "?" },
                                lastDeploy: lastDeploy, checkedAt: checkedAt, cause: cause)
    }

    /// Whether a check that found some name serving another certificate (and none unreachable) was made within
    /// `grace` of the deploy before it: the web server may still be finishing its reload (Debian's `systemctl reload
    /// nginx` returns before the old workers stop serving), so it is told at notice level and checked again once
    /// `grace` has passed; only then is a mismatch a warning (and a notification).
    public static func isSettling(_ record: SiteCheckRecord) -> Bool {
        guard let lastDeploy = record.lastDeploy, let checkedAt = record.checkedAt, !record.allCurrent else { return false }
        let onlyOther = record.names.allSatisfy { $0.served == .current || $0.served == .other }
        return onlyOther && checkedAt >= lastDeploy && checkedAt < lastDeploy.addingTimeInterval(grace)
    }

    /// When the site check of a certificate is next due: at once when never checked or deployed since the last check;
    /// `grace` after a deploy when the check right after it did not find the current certificate everywhere; else a
    /// day after the last check.
    public static func nextCheck(record: SiteCheckRecord, now: Date) -> Date {
        guard let checkedAt = record.checkedAt else { return now }
        if let lastDeploy = record.lastDeploy {
            if lastDeploy > checkedAt { return now }
            let settled = lastDeploy.addingTimeInterval(grace)
            if checkedAt < settled, !record.allCurrent { return settled }
        }
        return checkedAt.addingTimeInterval(86_400)
    }
}

extension SiteMismatch {
    /// What the notification engine should know of certificate `name`'s site, from its last check (`site.json`).
    public static func notificationFact(for name: String, in session: AgentSession) -> SiteCheckFact? {
        guard let certificate = session.config.certificate(named: name) else { return nil }
        return notificationFact(certificate: certificate, record: SiteCheckStore(store: session.store).load(name), now: session.clock.now())
    }

    /// `.servesOther` once `evaluate` finds a mismatch (with the names, the serials they served and the likely cause),
    /// `.servesCurrent` when every name served the current certificate, nil when not checked yet, still within
    /// `grace` of a deploy, or only unreachable.
    public static func notificationFact(certificate: CertificateConfig, record: SiteCheckRecord, now: Date) -> SiteCheckFact? {
        guard record.checkedAt != nil else { return nil }
        if let mismatch = evaluate(result: record, lastDeploy: record.lastDeploy, hasReload: certificate.install?.reload != nil, now: now) {
            let served = zip(mismatch.names, mismatch.servedSerials).map { "\($0) serves serial \($1)" }.joined(separator: ", ")
            return .servesOther(detail: "\(served) instead of the current certificate (checked \(TimeText.human(mismatch.checkedAt)), "
                + "deployed \(TimeText.human(mismatch.lastDeploy))); likely cause: \(mismatch.cause)")
        }
        return record.allCurrent ? .servesCurrent : nil
    }
}
