import ACME
import FoundationEssentials

/// What `certagent import` prints: the plan (what is taken over, what is not and why), and after writing, how to move
/// the web server and switch off the old client.
public enum ImportReport {
    /// The plan of `application`; `dryRun` says nothing was written.
    public static func plan(_ application: ImportApplication, dryRun: Bool, now: Date = Date()) -> String {
        let plan = application.plan
        var lines: [String] = []
        let target = application.existing == nil ? "a new config \(application.configPath)" : application.configPath
        lines.append("\(dryRun ? "Would import" : "Importing") from \(plan.client) (\(plan.sourceDirectory)) into \(target) and the store \(application.config.storagePath):")
        for account in application.accounts {
            lines.append("  account \(account.url) at \(account.directoryURL)\(account.contact.isEmpty ? "" : " (\(account.contact.joined(separator: ", ")))"): its key (\(account.key.type.rawValue)) from \(account.origin), sealed under the master key; no new account is registered")
        }
        for note in application.accountNotes { lines.append("  " + note) }
        for certificate in application.certificates {
            let leaf = certificate.leaf
            let webroots = Set(certificate.domains.compactMap { certificate.webroots[$0] }).sorted()
            let expiry = leaf.notAfter > now ? "valid until \(TimeText.human(leaf.notAfter))" : "EXPIRED on \(TimeText.human(leaf.notAfter)): CertAgent renews it at once"
            lines.append("  certificate \(certificate.name): \(certificate.domains.joined(separator: ", ")); \(certificate.keyType.rawValue)\(certificate.reuseKey ? " (reuseKey)" : ""); \(expiry); webroot \(webroots.joined(separator: ", ")); from \(certificate.origin)")
            for note in certificate.notes { lines.append("    " + note) }
        }
        if !application.skipped.isEmpty {
            lines.append("Not imported:")
            lines += skippedLines(application.skipped)
        }
        if dryRun { lines.append("Nothing was written (--dry-run).") }
        return lines.joined(separator: "\n")
    }

    /// One entry per left-out certificate, with its reason and what to do.
    public static func skippedLines(_ skipped: [SkippedCertificate]) -> [String] {
        var lines: [String] = []
        for item in skipped {
            lines.append("  \(item.name)\(item.domains.isEmpty ? "" : " (\(item.domains.joined(separator: ", ")))"): \(item.reason)")
            if let suggestion = item.suggestion { lines.append("    → " + suggestion) }
        }
        return lines
    }

    /// What to do after the import was written: serve CertAgent's files, switch off the old client, start CertAgent.
    public static func nextSteps(_ application: ImportApplication) -> String {
        var lines = ["", "Imported \(application.certificates.count) certificate\(application.certificates.count == 1 ? "" : "s"). Next:"]
        lines.append("1. Point the web server at CertAgent's stable paths (they always hold the current certificate), then reload it:")
        let store = StoreKeys(root: application.config.storagePath)
        for certificate in application.certificates {
            let current = store.link("current", of: certificate.name)
            lines.append("     \(certificate.name): \(current)/fullchain.pem and \(current)/privkey.pem")
        }
        lines.append("2. Switch off \(application.plan.client)'s renewal, so two clients do not renew the same certificates:")
        for step in application.plan.switchOff { lines.append("     " + step) }
        lines.append("3. Let CertAgent renew them: systemctl enable --now certagent (or `certagent renew --force NAME` to renew one now).")
        return lines.joined(separator: "\n")
    }
}
