import ACME
import FoundationEssentials

/// What `certagent discover` prints: for people (`text`), for machines (`json`), and as config entries for the
/// certificates nothing manages (`configEntries`), in the config's own shape and encoding (`CertificateEntry`,
/// `OrderedJSON`). Every value from a web server's configuration or a certificate is escaped where it is shown.
public enum DiscoveryReport {
    /// The report for people: one block per certificate.
    public static func text(_ certificates: [DiscoveredCertificate], now: Date) -> String {
        var lines: [String] = []
        for certificate in certificates {
            lines.append(show(certificate.certificateFile))
            if let key = certificate.keyFile { lines.append("  key          \(show(key))") }
            for site in certificate.sites {
                let names = site.names.isEmpty ? "no server name" : site.names.map { show($0) }.joined(separator: ", ")
                lines.append("  served by    \(WebServerKind(rawValue: site.server)?.displayName ?? site.server) \(show(site.location)) (\(names))")
            }
            if let problem = certificate.problem {
                lines.append("  certificate  \(problem)")
            } else {
                lines.append("  names        " + certificate.certificateNames.map { show($0) }.joined(separator: ", "))
                if let issuer = certificate.issuer { lines.append("  issuer       \(show(issuer))" + (certificate.selfSigned ? " (self-signed)" : "")) }
                if let notAfter = certificate.notAfter {
                    let expired = notAfter <= now ? " — EXPIRED" : " (in \(Int(notAfter.timeIntervalSince(now) / 86_400)) days)"
                    lines.append("  expires      \(TimeText.human(notAfter))\(expired)")
                }
                if !certificate.uncoveredNames.isEmpty {
                    lines.append("  not covered  \(certificate.uncoveredNames.map { show($0) }.joined(separator: ", ")) (served, but not in the certificate)")
                }
            }
            lines.append("  managed by   \(certificate.managedBy.description)")
            for name in certificate.names {
                if let webroot = certificate.webroots[name] {
                    lines.append("  webroot      \(show(name)): \(show(webroot.path)) (\(webroot.via), \(show(webroot.site)))")
                } else if let reason = certificate.noWebroot[name] {
                    lines.append("  no webroot   \(show(name)): \(reason)")
                }
            }
            if certificate.isUnmanaged, let entry = configEntries([certificate]).entries.first {
                // init takes one webroot; names served from several need the entry --as-config prints.
                lines.append(entry.webroots.isEmpty
                    ? "  take over    certagent init " + initArguments(entry).map(ConfigFileWrite.shellQuoted).joined(separator: " ")
                    : "  take over    certagent discover --as-config (its names use different webroots)")
            }
            lines.append("")
        }
        let unmanaged = certificates.filter(\.isUnmanaged).count
        lines.append("\(certificates.count) certificate\(certificates.count == 1 ? "" : "s") served, \(unmanaged) managed by no known client"
                     + (unmanaged > 0 ? ": `certagent discover --as-config` prints config entries for those with a webroot" : ""))
        return lines.joined(separator: "\n")
    }

    /// `--json`: the certificates with their fields, times in RFC 3339 (the encoding of `status --json`).
    public static func json(_ certificates: [DiscoveredCertificate]) throws -> String {
        try StatusJSON.encode(certificates)
    }

    /// A config entry proposed for an unmanaged certificate.
    public struct ProposedEntry: Sendable, Equatable {
        /// The certificate's name in the config and the store (its first domain, made unique).
        public var name: String
        /// The names with a webroot, the certificate's first.
        public var domains: [String]
        /// The webroot most names share, and those of the names that differ.
        public var webroot: String
        public var webroots: [String: String]
        /// `install`: the files the web server already reads, so CertAgent replaces them in place.
        public var installFullChain: String?
        public var installPrivateKey: String?
        /// `install.reload`: the detected reload of the server serving it, when one was found.
        public var reload: [String]?

        /// The entry as a `certificates[]` object: `CertificateEntry`'s fields, then `webroots` and the install paths.
        public var json: OrderedJSON {
            guard case .object(var members) = CertificateEntry(name: name, domains: domains, webroot: webroot).json else { return .object([]) }
            if !webroots.isEmpty {
                members.append(.init("webroots", .object(webroots.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })))
            }
            var install: [OrderedJSON.Member] = []
            if let installFullChain, let installPrivateKey {
                install.append(.init("fullChain", .string(installFullChain)))
                install.append(.init("privateKey", .string(installPrivateKey)))
            }
            if let reload { install.append(.init("reload", .strings(reload))) }
            if !install.isEmpty { members.append(.init("install", .object(install))) }
            return .object(members)
        }
    }

    /// The entries for the unmanaged certificates with at least one webroot (names without one are left out, each
    /// with the reason in `leftOut`), named after their first domain (made unique against `takenNames`, the config's).
    /// `configured` maps each domain the config already has to its certificate: such names are left out too.
    /// `reload` is the detected reload command of each server (`WebServerDetection`).
    public static func configEntries(_ certificates: [DiscoveredCertificate], takenNames: Set<String> = [], configured: [String: String] = [:],
                                     reload: [WebServerKind: [String]] = [:]) -> (entries: [ProposedEntry], leftOut: [String]) {
        var entries: [ProposedEntry] = []
        var leftOut: [String] = []
        var taken = takenNames
        var claimedDomains = Set<String>()
        for certificate in certificates where certificate.isUnmanaged {
            let domains = certificate.namesWithWebroot.filter { !claimedDomains.contains($0) && configured[$0] == nil }
            for name in certificate.names where certificate.webroots[name] == nil {
                leftOut.append("\(show(certificate.certificateFile)): \(show(name)) left out: \(certificate.noWebroot[name] ?? "no webroot")")
            }
            for name in certificate.namesWithWebroot {
                if let owner = configured[name] { leftOut.append("\(show(certificate.certificateFile)): \(show(name)) left out: the config's certificate \(owner) has it already") }
            }
            guard let first = domains.first else {
                // Two servers (or two files) serving the same names get one entry: the first one's.
                leftOut.append("\(show(certificate.certificateFile)): no entry, "
                               + (certificate.namesWithWebroot.isEmpty ? "no name has a webroot" : "its names are in an entry above already"))
                continue
            }
            claimedDomains.formUnion(domains)
            let counts = Dictionary(domains.compactMap { certificate.webroots[$0]?.path }.map { ($0, 1) }, uniquingKeysWith: +)
            let shared = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
            var webroots: [String: String] = [:]
            for domain in domains { if let path = certificate.webroots[domain]?.path, path != shared { webroots[domain] = path } }
            var name = IPAddressEntry.defaultCertificateName(for: first)
            var suffix = 2
            while taken.contains(name) {
                name = "\(IPAddressEntry.defaultCertificateName(for: first))-\(suffix)"
                suffix += 1
            }
            taken.insert(name)
            let server = certificate.sites.first.flatMap { WebServerKind(rawValue: $0.server) }
            let installs = certificate.keyFile != nil && certificate.keyFile != certificate.certificateFile
            entries.append(ProposedEntry(name: name, domains: domains, webroot: shared, webroots: webroots,
                                         installFullChain: installs ? certificate.certificateFile : nil,
                                         installPrivateKey: installs ? certificate.keyFile : nil,
                                         reload: server.flatMap { reload[$0] }))
        }
        return (entries, leftOut)
    }

    /// `--as-config`: a config holding the proposed entries, laid out as `init` writes a config, so it can be pasted
    /// into `certificates` or checked as it is (`certagent check --config FILE`).
    public static func configText(_ entries: [ProposedEntry]) -> String {
        let style = OrderedJSON.Style(unit: "  ", separator: ": ")
        return OrderedJSON.object([.init("certificates", .array(entries.map(\.json)))]).rendered(indent: "", style: style) + "\n"
    }

    /// The `certagent init` arguments that add `entry` (with one webroot for all its names: init takes one).
    static func initArguments(_ entry: ProposedEntry) -> [String] {
        var arguments = ["--name", entry.name]
        for domain in entry.domains { arguments += ["--domain", domain] }
        arguments += ["--webroot", entry.webroot]
        if let reload = entry.reload { arguments += ["--reload", reload.joined(separator: " ")] }
        return arguments
    }

    private static func show(_ text: String) -> String { UntrustedText.display(text) }
}
