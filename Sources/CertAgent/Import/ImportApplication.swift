import CertCrypto
import FoundationEssentials

/// An import checked against CertAgent's config and store, ready to write: the config text with the new `certificates`
/// entries (added by `ConfigEditor`, or a new config), the accounts to seal into the store, and what is left out.
/// `prepare` writes nothing (it serves `--dry-run`); `write` writes the store first and the config last, and undoes
/// what it wrote when a step fails, so a failed import leaves config and store as they were.
public struct ImportApplication: Sendable {
    /// Settings of a new config (none is written into an existing one).
    public struct NewConfigSettings: Sendable {
        /// `storage` (`--storage`).
        public var storage: String?
        /// `caFile` (`--ca-file`).
        public var caFile: String?
        /// `email` (`--email`; else the imported account's).
        public var email: String?

        public init(storage: String? = nil, caFile: String? = nil, email: String? = nil) {
            self.storage = storage
            self.caFile = caFile
            self.email = email
        }
    }

    /// What was read from the old client.
    public let plan: ImportPlan
    /// The config file and what it held before (nil: a new config is written).
    public let configPath: String
    public let existing: ExistingConfigFile?
    /// The config text after the import, and the config it reads as.
    public let configText: String
    public let config: AgentConfig
    /// The certificates taken over (those of the plan that fit the config and the store).
    public let certificates: [ImportedCertificate]
    /// The accounts written into the store.
    public let accounts: [ImportedAccount]
    /// What is said about accounts not written (one is there already).
    public let accountNotes: [String]
    /// The plan's left-out certificates and those the config or store already has.
    public let skipped: [SkippedCertificate]

    /// Checks `plan` against the config at `configPath` (`existing`, nil when there is none) and the store it names.
    /// Throws `ConfigError` when the config or the result does not read, `ImportError` when nothing can be imported.
    public static func prepare(plan: ImportPlan, configPath: String, existing: ExistingConfigFile?, settings: NewConfigSettings,
                               reload: [String]?) throws -> ImportApplication {
        var skipped = plan.skipped
        var current: AgentConfig? = nil
        if let existing { current = try ConfigLoader.parse(existing.bytes, path: existing.path) }
        let authorities = current.map { $0.certificateAuthorities.map(\.directoryURL) }
            ?? plan.certificates.first.map { [$0.directoryURL] } ?? []
        var candidates: [ImportedCertificate] = []
        var claimed: [String: String] = [:]   // domain → certificate name
        for certificate in current?.certificates ?? [] { for domain in certificate.domains { claimed[domain] = certificate.name } }
        let configuredNames = Set(current?.certificates.map(\.name) ?? [])
        for certificate in plan.certificates {
            if configuredNames.contains(certificate.name) {
                skipped.append(SkippedCertificate(name: certificate.name, domains: certificate.domains,
                                                  reason: "\(configPath) already has a certificate named \(certificate.name)"))
            } else if let domain = certificate.domains.first(where: { claimed[$0] != nil }) {
                skipped.append(SkippedCertificate(name: certificate.name, domains: certificate.domains,
                                                  reason: "\(domain) is already in the certificate \(claimed[domain]!)"))
            } else if !authorities.contains(certificate.directoryURL) {
                skipped.append(SkippedCertificate(
                    name: certificate.name, domains: certificate.domains,
                    reason: "it was issued through \(certificate.directoryURL), which \(current == nil ? "is not the CA of the first certificate imported" : "\(configPath) does not name in \"directory\"")",
                    suggestion: "add that directory URL to \"directory\" in the config, then import again"))
            } else if let missing = Set(certificate.webroots.values).sorted().first(where: { !PathSafety.isDirectory($0) }) {
                skipped.append(SkippedCertificate(name: certificate.name, domains: certificate.domains,
                                                  reason: "its webroot \(missing) is not an existing directory",
                                                  suggestion: "import it with --webroot \(certificate.name)=PATH, the directory the web server serves for \(certificate.domains.joined(separator: ", ")) now"))
            } else {
                candidates.append(certificate)
                for domain in certificate.domains { claimed[domain] = certificate.name }
            }
        }
        let keyType = existing?.keyType ?? ConfigLoader.defaultKeyType.rawValue
        func text(for certificates: [ImportedCertificate]) throws -> String {
            guard let first = certificates.first else { return existing?.text ?? "" }
            var text: String
            var rest = certificates[...]
            if let existing {
                text = existing.text
            } else {
                rest = rest.dropFirst()
                text = ConfigEditor.newConfig(settings: newSettings(plan: plan, first: first, settings: settings, keyType: keyType),
                                              certificate: first.entry(configKeyType: keyType, reload: reload))
            }
            for certificate in rest {
                text = try ConfigEditor.adding(certificate.entry(configKeyType: keyType, reload: reload), to: text, file: configPath)
            }
            return text
        }
        let nothing = ImportError(file: plan.sourceDirectory, problem: "no certificate can be imported (each is listed with the reason)")
        guard !candidates.isEmpty else { throw ImportRefusal(error: nothing, skipped: skipped) }
        // The store may already hold some of them (an earlier import, a certificate removed from the config only).
        var configText = try text(for: candidates)
        var config = try ConfigLoader.parse(Array(configText.utf8), path: configPath)
        let store = try CertificateStore(config: config, create: false)
        let held = candidates.filter { FileManager.default.fileExists(atPath: store.certificateDirectory($0.name)) }
        if !held.isEmpty {
            for certificate in held {
                skipped.append(SkippedCertificate(name: certificate.name, domains: certificate.domains,
                                                  reason: "the store already has \(store.certificateDirectory(certificate.name))",
                                                  suggestion: "`certagent delete \(certificate.name)` removes it there first, if it is a leftover"))
            }
            candidates.removeAll { certificate in held.contains { $0.name == certificate.name } }
            guard !candidates.isEmpty else { throw ImportRefusal(error: nothing, skipped: skipped) }
            configText = try text(for: candidates)
            config = try ConfigLoader.parse(Array(configText.utf8), path: configPath)
        }
        var accounts: [ImportedAccount] = []
        var accountNotes: [String] = []
        let used = Set(candidates.map(\.directoryURL))
        for account in plan.accounts where used.contains(account.directoryURL) {
            guard !accounts.contains(where: { $0.directoryURL == account.directoryURL }) else {
                accountNotes.append("the account \(account.url) is not imported: another account at the same CA was (CertAgent keeps one per CA); its certificates renew with that one")
                continue
            }
            guard FileManager.default.fileExists(atPath: store.keys.accountKey(directoryURL: account.directoryURL)) else {
                accounts.append(account)
                continue
            }
            let record = store.accountRecord(directoryURL: account.directoryURL)
            let thumbprint = try? account.key.jwkThumbprint()
            if let record, record.url == account.url, record.keyThumbprint == thumbprint {
                accountNotes.append("the account \(account.url) is in the store already")
            } else {
                accountNotes.append("the store already has an account at \(account.directoryURL)\(record.map { " (\($0.url))" } ?? ""): it is kept, and the imported certificates renew with it; the account \(account.url) is not imported")
            }
        }
        return ImportApplication(plan: plan, configPath: configPath, existing: existing, configText: configText, config: config,
                                 certificates: candidates, accounts: accounts, accountNotes: accountNotes, skipped: skipped)
    }

    /// The top-level settings of a new config: the account's e-mail, the CA of the certificates, terms accepted (the
    /// account agreed to them when it was registered), and `settings`.
    private static func newSettings(plan: ImportPlan, first: ImportedCertificate, settings: NewConfigSettings, keyType: String) -> [OrderedJSON.Member] {
        var members: [OrderedJSON.Member] = []
        let accountEmail = plan.accounts.first { $0.directoryURL == first.directoryURL }?.contact
            .first { $0.hasPrefix("mailto:") }.map { String($0.dropFirst("mailto:".count)) }
        if let email = settings.email ?? accountEmail { members.append(.init("email", .string(email))) }
        members.append(.init("acceptTermsOfService", .bool(true)))
        let known = KnownDirectory.allCases.first { $0.url == first.directoryURL }
        members.append(.init("directory", .string(known?.rawValue ?? first.directoryURL)))
        if let caFile = settings.caFile { members.append(.init("caFile", .string(caFile))) }
        if let storage = settings.storage { members.append(.init("storage", .string(storage))) }
        members.append(.init("keyType", .string(keyType)))
        return members
    }

    /// Writes the accounts (sealed under the master key) and the certificates into the store, each certificate as its
    /// first version with its issuance facts, then the config. `environment` is where the master key may come from.
    /// On failure everything written is removed again (the store and the master key file too, when this made them) and
    /// the error is thrown. Returns what the admin should hear
    /// about the master key (created: back it up).
    @discardableResult
    public func write(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String] {
        let configWrite = try ConfigFileWrite(path: configPath, previous: existing)
        // What did not exist before is removed again on failure: a new store, a new master key file.
        var made = [config.storagePath, config.masterKeyFile].filter { !FileManager.default.fileExists(atPath: $0) }
        let store: CertificateStore
        do { store = try CertificateStore(config: config) } catch {
            for path in made { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
        do {
            let secrets = try AgentSecrets.open(config: config, store: store, create: true, environment: environment)
            for account in accounts {
                let directory = store.accountDirectory(for: account.directoryURL)
                if !FileManager.default.fileExists(atPath: directory) { made.append(directory) }
                try AtomicFile.makeDirectory(directory)
                try AccountKeyFile.write(account.key, to: store.keys.accountKey(directoryURL: account.directoryURL), masterKey: secrets.masterKey)
                try store.saveAccountRecord(AccountRecord(url: account.url, directoryURL: account.directoryURL, contact: account.contact,
                                                          createdAt: Date(), keyType: account.key.type.rawValue,
                                                          keyThumbprint: try account.key.jwkThumbprint()),
                                            directoryURL: account.directoryURL)
            }
            for certificate in certificates {
                made.append(store.certificateDirectory(certificate.name))
                let lock = try store.lockForIssuance(certificate.name)
                try withExtendedLifetime(lock) {
                    let material = CertificateMaterial(
                        privateKeyPEM: try certificate.key.pkcs8PEM(),
                        csrPEM: try CertificateSigningRequest.make(key: certificate.key, domains: certificate.domains).pem,
                        certificatePEM: certificate.leaf.pem, chainPEM: certificate.chain.map(\.pem).joined(),
                        facts: IssuanceFacts(directoryURL: certificate.directoryURL, accountURL: certificate.accountURL))
                    let staged = try store.stage(material, for: certificate.name)
                    try store.commit(staged, for: certificate.name)
                }
            }
            try configWrite.write(configText)
            return secrets.notices
        } catch {
            for path in made.reversed() { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
    }
}

/// Nothing of an import can be taken over: the error, with every certificate left out and why.
public struct ImportRefusal: Error, Sendable, CustomStringConvertible {
    /// That nothing can be imported from the directory read.
    public let error: ImportError
    /// Every certificate left out, with the reason.
    public let skipped: [SkippedCertificate]

    public var description: String { error.description }
}
