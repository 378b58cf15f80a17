import ACME
import FoundationEssentials

/// The words of each notification: a subject that says what happened to which certificate, and a plain-text body
/// with the facts (names, error, since when, next try, expiry) and the command to run.
enum NotificationText {
    private static func facts(_ facts: CertificateFacts, now: Date) -> [String] {
        var lines = ["Certificate: \(facts.name)", "Names: \(facts.domains.joined(separator: ", "))"]
        if let notAfter = facts.notAfter {
            let days = Int((notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
            lines.append("Expires: \(TimeText.human(notAfter))" + (notAfter > now ? " (in \(days) day\(days == 1 ? "" : "s"))" : " (expired)"))
        } else {
            lines.append("Expires: no certificate has been issued yet")
        }
        return lines
    }

    private static func shown(_ error: String) -> String { UntrustedText.display(error, limit: 1_000) }

    static func renewalFailed(_ facts: CertificateFacts, since: Date, atRisk: Bool, now: Date) -> AgentNotification {
        let what = facts.notAfter == nil ? "issuance" : "renewal"
        let subject = atRisk
            ? "CertAgent: \(facts.name) is at risk — \(what) still failing"
            : "CertAgent: \(what) of \(facts.name) failed"
        var lines = facts.failures > 1 || atRisk
            ? ["The \(what) of \(facts.name) has failed \(facts.failures) time\(facts.failures == 1 ? "" : "s") in a row since \(TimeText.human(since))."]
            : ["The \(what) of \(facts.name) failed at \(TimeText.human(since))."]
        if atRisk { lines.append("The certificate is now in the last part of its lifetime: fix this before it expires, or the site breaks.") }
        lines.append("")
        lines += Self.facts(facts, now: now)
        if let error = facts.lastError { lines.append("Error: \(shown(error))") }
        if let retry = facts.retryAt { lines.append("Next attempt: \(TimeText.human(retry))") }
        lines += ["", "CertAgent keeps retrying with backoff; you hear again only if this is still failing when the certificate is at risk, or when it recovers.",
                  "See the details: certagent status \(facts.name)", "Retry now after fixing it: certagent renew --force \(facts.name)"]
        return AgentNotification(event: .renewalFailed, certificate: facts.name, domains: facts.domains, subject: subject,
                                 message: lines.joined(separator: "\n"), error: facts.lastError.map(shown), notAfter: facts.notAfter,
                                 since: since, nextAttempt: facts.retryAt, occurredAt: now)
    }

    static func recovered(_ facts: CertificateFacts, since: Date, now: Date) -> AgentNotification {
        var lines = ["\(facts.name) was renewed at \(TimeText.human(facts.lastRenewed ?? now)) after failing since \(TimeText.human(since)).", ""]
        lines += Self.facts(facts, now: now)
        lines += ["", "Nothing more to do."]
        return AgentNotification(event: .recovered, certificate: facts.name, domains: facts.domains,
                                 subject: "CertAgent: \(facts.name) renewed again after failures", message: lines.joined(separator: "\n"),
                                 notAfter: facts.notAfter, since: since, occurredAt: now)
    }

    static func atRisk(_ facts: CertificateFacts, now: Date) -> AgentNotification {
        var lines = ["\(facts.name) has not been renewed and is in the last part of its lifetime.", ""]
        lines += Self.facts(facts, now: now)
        if let next = facts.retryAt { lines.append("Planned renewal: \(TimeText.human(next))" + (next > (facts.notAfter ?? .distantFuture) ? " (after it expires)" : "")) }
        lines += ["", "No renewal has failed: it was planned late (a late renewal window from the CA, or a high atRiskShare), or CertAgent was not running.",
                  "See: certagent status \(facts.name)", "Renew now: certagent renew --force \(facts.name)"]
        return AgentNotification(event: .atRisk, certificate: facts.name, domains: facts.domains,
                                 subject: "CertAgent: \(facts.name) expires \(facts.notAfter.map { TimeText.human($0) } ?? "soon") and is not renewed",
                                 message: lines.joined(separator: "\n"), notAfter: facts.notAfter, since: now, nextAttempt: facts.retryAt, occurredAt: now)
    }

    static func deployFailed(_ facts: CertificateFacts, error: String, now: Date) -> AgentNotification {
        var lines = ["Deploying the current certificate of \(facts.name) failed: the files or the reload command did not complete.",
                     "The certificate is stored; the web server may still use an older one.", ""]
        lines += Self.facts(facts, now: now)
        lines.append("Error: \(shown(error))")
        if let next = facts.nextDeployAttempt { lines.append("Next attempt: \(TimeText.human(next))") }
        lines += ["", "Check the install block in the config and the reload command; see: certagent status \(facts.name)"]
        return AgentNotification(event: .deployFailed, certificate: facts.name, domains: facts.domains,
                                 subject: "CertAgent: deploying \(facts.name) failed", message: lines.joined(separator: "\n"),
                                 error: shown(error), notAfter: facts.notAfter, since: now, nextAttempt: facts.nextDeployAttempt, occurredAt: now)
    }

    static func siteMismatch(_ facts: CertificateFacts, detail: String, now: Date) -> AgentNotification {
        var lines = ["The site does not serve the current certificate of \(facts.name).", shown(detail), ""]
        lines += Self.facts(facts, now: now)
        lines += ["", "Likely causes: no reload command in the install block, another virtual host answering the name, or a CDN in front.",
                  "See: certagent status \(facts.name)"]
        return AgentNotification(event: .siteMismatch, certificate: facts.name, domains: facts.domains,
                                 subject: "CertAgent: the site of \(facts.name) serves another certificate", message: lines.joined(separator: "\n"),
                                 error: shown(detail), notAfter: facts.notAfter, since: now, occurredAt: now)
    }

    static func earlyRenewal(_ facts: CertificateFacts, window: RenewalWindow, now: Date) -> AgentNotification {
        var lines = ["The CA asked for \(facts.name) to be renewed early: its renewal window (\(window)) is already over,",
                     "as after a mass revocation. CertAgent renews it now.", ""]
        lines += Self.facts(facts, now: now)
        if let url = facts.explanationURL { lines.append("The CA's explanation: \(UntrustedText.display(url))") }
        lines += ["", "See: certagent status \(facts.name)"]
        return AgentNotification(event: .earlyRenewalRequested, certificate: facts.name, domains: facts.domains,
                                 subject: "CertAgent: the CA asked to renew \(facts.name) early", message: lines.joined(separator: "\n"),
                                 notAfter: facts.notAfter, since: window.end, occurredAt: now)
    }

    static func digest(_ events: [AgentNotification], now: Date) -> AgentNotification {
        let names = events.compactMap(\.certificate).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var domains: [String] = []
        for domain in events.flatMap(\.domains) where !domains.contains(domain) { domains.append(domain) }
        var lines = ["\(events.count) things need your attention:", ""]
        lines += events.map { "- " + $0.subject.replacing("CertAgent: ", with: "") }
        for event in events { lines += ["", "== \(event.subject.replacing("CertAgent: ", with: ""))", event.message] }
        return AgentNotification(event: .digest, certificate: names.count == 1 ? names[0] : nil, domains: domains,
                                 subject: "CertAgent: \(events.count) things need attention (\(names.joined(separator: ", ")))",
                                 message: lines.joined(separator: "\n"), notAfter: events.compactMap(\.notAfter).min(),
                                 since: events.compactMap(\.since).min(), nextAttempt: events.compactMap(\.nextAttempt).min(), occurredAt: now)
    }

    static func test(now: Date, host: String) -> AgentNotification {
        AgentNotification(event: .test, certificate: nil, domains: [], subject: "CertAgent: test notification from \(host)",
                          message: "This is a test sent by certagent notify --test on \(host) at \(TimeText.human(now)).\nIf you read this, CertAgent can reach you here.",
                          occurredAt: now)
    }
}
