import ArgumentParser
import CertAgent
import CertCrypto
import FoundationEssentials

extension RevocationReason: ExpressibleByArgument {}

struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a certificate's current version at the CA (the next issue or renewal replaces it), or one given as files.",
        discussion: """
            Revoke with --reason keyCompromise if the private key may have leaked. Revoking does not reset any rate limit. \
            Asks for confirmation on a terminal; elsewhere --yes is required.
            --with-certificate-key signs with the certificate's own private key instead of the account key (RFC 8555 §7.6): \
            no account is needed, for when the account key is lost. --certificate FILE --key FILE revokes a certificate \
            that is not in the store (PEM files; the key must be the certificate's), signed the same way.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "unspecified, keyCompromise, superseded or cessationOfOperation.")
    var reason: RevocationReason = .unspecified

    @Flag(help: "Revoke without asking (required when standard input is not a terminal).")
    var yes = false

    @Flag(help: "Sign with the certificate's own private key: no account is loaded or registered.")
    var withCertificateKey = false

    @Option(help: ArgumentHelp("A certificate file (PEM) to revoke instead of a configured certificate.", valueName: "file"))
    var certificate: String?

    @Option(help: ArgumentHelp("The private key file (PEM) of --certificate.", valueName: "file"))
    var key: String?

    @Argument(help: "The certificate's name in the config.")
    var name: String?

    func run() throws {
        if let misuse = Self.misuse(name: name, certificate: certificate, key: key) {
            printError(misuse)
            throw ExitCode(2)
        }
        if let certificate, let key { return try revokeFiles(certificate: certificate, key: key) }
        guard let name else { return }
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        guard case .success = config.select([name]) else {
            printError(UnknownCertificateNames(unknown: [name], known: config.certificates.map(\.name), file: config.sourcePath).description)
            throw ExitCode(2)
        }
        if withCertificateKey { return try revokeWithCertificateKey(name, config: config) }
        try Confirmation.require(Self.question(name, reason: reason), yes: yes, command: "certagent revoke")
        let session = try AgentSession(config: config, logger: logger)
        do {
            let serial = try session.connect(toIssuerOf: name, logger: logger).revokeCurrent(name, reason: reason, now: Date())
            print("✓ \(name): certificate \(serial) revoked (\(reason.rawValue)); `certagent issue \(name)` gets a new one")
            if let cluster = config.cluster { printError(FleetLocalCommands.revokeWarning(name, cluster: cluster)) }
            DaemonNotice.tell(storeRoot: session.store.root, names: [name])
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(1)
        }
    }

    /// What is wrong with the combination of arguments, if anything (exit 2).
    static func misuse(name: String?, certificate: String?, key: String?) -> String? {
        switch (name, certificate, key) {
        case (.some(let name), .some, _), (.some(let name), _, .some):
            "give either a certificate's name (\(name)) or --certificate FILE --key FILE, not both"
        case (nil, .some, nil): "--certificate needs --key FILE: the certificate's private key signs the revocation"
        case (nil, nil, .some): "--key needs --certificate FILE: the certificate to revoke"
        case (nil, nil, nil): "name the certificate to revoke (or pass --certificate FILE --key FILE)"
        default: nil
        }
    }

    static func question(_ name: String, reason: RevocationReason) -> String {
        "Revoke the current certificate of \(name) at the CA (\(reason.rawValue))? This cannot be undone."
    }

    /// `--with-certificate-key NAME`: the store's current certificate, signed with its own key; no account, no secrets.
    private func revokeWithCertificateKey(_ name: String, config: AgentConfig) throws {
        let store: CertificateStore
        let lock: StoreLock
        let current: StoredCertificateKey
        do {
            store = try CertificateStore(config: config, create: false)
            lock = try StoreLock(storeRoot: store.root, mode: .shared)
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(1)
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            current = try StoredCertificateKey(current: name, in: store)
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(error is RevocationError ? 2 : 1)
        }
        try Confirmation.require(Self.question(name, reason: reason), yes: yes, command: "certagent revoke")
        do {
            // To the CA that issued it (its issuance facts), the first CA when that is not recorded or no longer configured.
            let issuing = store.issuanceFacts(of: name).flatMap { config.certificateAuthority(directoryURL: $0.directoryURL) }
            let serial = try revocation(issuing ?? config.primaryAuthority).revokeCurrent(current, reason: reason, now: Date())
            print("✓ \(name): certificate \(serial) revoked (\(reason.rawValue)), signed with its own key; `certagent issue \(name)` gets a new one")
            if let cluster = config.cluster { printError(FleetLocalCommands.revokeWarning(name, cluster: cluster)) }
            DaemonNotice.tell(storeRoot: store.root, names: [name])
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(1)
        }
    }

    /// `--certificate FILE --key FILE`: a certificate outside the store, signed with its own key.
    private func revokeFiles(certificate: String, key: String) throws {
        let files: CertificateKeyFiles
        do {
            files = try CertificateKeyFiles(certificateFile: certificate, keyFile: key)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let config = try options.loadConfig()
        _ = options.logger()
        let leaf = files.certificate
        let names = leaf.subjectAlternativeNames.joined(separator: ", ")
        try Confirmation.require("Revoke the certificate in \(certificate) (serial \(leaf.serialHex)\(names.isEmpty ? "" : ", \(names)")) at the CA (\(reason.rawValue))? This cannot be undone.",
                                 yes: yes, command: "certagent revoke")
        do {
            try revocation(config.primaryAuthority).revoke(leaf, key: files.key, reason: reason)
            print("✓ \(certificate): certificate \(leaf.serialHex) revoked (\(reason.rawValue)), signed with its own key")
        } catch {
            printError("✗ \(certificate): \(error)")
            throw ExitCode(1)
        }
    }

    /// Revocation at `authority`, through its CA file, without an account.
    private func revocation(_ authority: CertificateAuthorityConfig) throws -> CertificateKeyRevocation {
        CertificateKeyRevocation(directoryURL: authority.directoryURL, transport: try CurlTransport(caFile: authority.caFile))
    }
}
