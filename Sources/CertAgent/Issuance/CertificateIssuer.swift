import ACME
import CertCrypto
import FoundationEssentials
import Logging

/// A certificate that was issued, verified and made current.
public struct IssuedCertificate: Sendable {
    public let name: String
    public let domains: [String]
    /// Stable paths (through the store's `current` link).
    public let files: CertificateFiles
    public let serialHex: String
    public let issuer: String
    public let notBefore: Date
    public let notAfter: Date
    /// Certificates in the chain, leaf included.
    public let chainLength: Int
    /// How many other chains the CA offered (`Link: rel="alternate"`, RFC 8555 §7.4.2).
    public let alternateChains: Int
    /// What deploying it did (files written, the reload command run), when it has an `install` block and deployed.
    public internal(set) var deployment: InstallReport? = nil
    /// Whether the private key is the previous version's (`reuseKey`).
    public internal(set) var keyReused = false
}

/// An issuance that failed, with the certificate it was for.
public struct IssuanceError: Error, Sendable, CustomStringConvertible {
    public let name: String
    public let underlying: any Error

    public var description: String { "\(name): \(underlying)" }
}

/// The low-level cause an error keeps for `--debug` behind its description in words (OpenSSL's error text), if any.
enum LowLevelDetail {
    static func of(_ error: any Error) -> String? {
        switch error {
        case let error as CryptoError: error.lowLevelDetail
        case ChainVerificationError.unparseable(let cause): cause.lowLevelDetail
        case let error as IssuanceError: of(error.underlying)
        default: nil
        }
    }
}

/// Issues one configured certificate end to end: a new key and CSR made here with OpenSSL, the HTTP-01 order through
/// the webroots, then the chain verified against the key and names before the store makes it current.
public struct CertificateIssuer: Sendable {
    public let client: ACMEClient
    public let store: CertificateStore
    public let clock: any ACMEClock
    /// Prefer the chain whose top certificate was issued by this common name, when the CA offers it.
    public let preferredChain: String?
    /// The account key file the client signs with, as it was when connecting (set by `AgentSession.connect`): a
    /// long-lived holder reconnects once it is outdated (`account rollover`, `account deactivate`).
    public internal(set) var accountKey: AccountKeyCheck?
    /// True when this issuer orders from a fallback CA (not the config's first): a profile it does not offer is
    /// dropped rather than refused (`orderable`).
    public internal(set) var isFallback = false
    /// Fleet mode: the solver an order uses, made from this node's webroot solver (`FleetCoordinator.solver`); nil:
    /// the webroot solver alone.
    public var fleetSolver: (@Sendable (String, WebrootSolver) -> any HTTP01Solver)? = nil

    public init(client: ACMEClient, store: CertificateStore, clock: any ACMEClock = SystemACMEClock(), preferredChain: String? = nil) {
        self.client = client
        self.store = store
        self.clock = clock
        self.preferredChain = preferredChain
    }

    /// Issues `certificate`. `lock` is its issuance lock when the caller already holds it; otherwise it is taken here
    /// (failing at once with `CertificateBusy` when another process holds it). `newKey`: a new private key even with
    /// `reuseKey` (`CertificateKeyChoice`).
    public func issue(_ certificate: CertificateConfig, replaces: String? = nil, lock: FileLock? = nil, newKey: Bool = false,
                      logger: Logger) throws -> IssuedCertificate {
        var logger = logger
        logger[metadataKey: "certificate"] = "\(certificate.name)"
        var usedSolver: WebrootSolver?
        var usedFleetSolver: FleetChallengeSolver?
        do {
            // A profile the CA does not offer fails here, before any key, file or order is made.
            let certificate = try orderable(certificate, logger: logger)
            let held = try lock ?? store.lockForIssuance(certificate.name)
            defer { withExtendedLifetime(held) {} }
            // Files a killed earlier run left published (it can no longer remove them) go before new ones are added.
            let journal = store.challengeJournal(certificate.name)
            for file in ChallengeJournal.removeLeftovers(journal: journal, webroots: Array(certificate.webroots.values)) {
                logger.warning("removed a challenge file left by an interrupted run", metadata: ["file": "\(file)"])
            }
            let (key, keyReused) = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: newKey, logger: logger)
            let csr = try CertificateSigningRequest.make(key: key, domains: certificate.domains)
            var orderMetadata: Logger.Metadata = ["domains": "\(certificate.domains.joined(separator: ","))", "keyType": "\(certificate.keyType.rawValue)"]
            if let profile = certificate.profile { orderMetadata["profile"] = "\(profile)" }
            logger.info("ordering", metadata: orderMetadata)
            let solver = WebrootSolver(webroots: certificate.webroots, journal: ChallengeJournal(path: journal))
            usedSolver = solver
            let orderSolver = fleetSolver?(certificate.name, solver) ?? solver
            usedFleetSolver = orderSolver as? FleetChallengeSolver
            let (_, downloaded) = try HTTP01Issuance.issue(client: client, identifiers: certificate.identifiers, csrDER: csr.der,
                                                     solver: orderSolver,
                                                     replaces: replaces, profile: certificate.profile)
            let chosenPEM = ChainPreference.choose(downloaded, preferredIssuer: preferredChain, client: client, logger: logger)
            let chain = try ChainVerifier.verify(chainPEM: chosenPEM, key: key, domains: certificate.domains, now: clock.now())
            let material = CertificateMaterial(
                privateKeyPEM: try key.pkcs8PEM(),
                csrPEM: csr.pem,
                certificatePEM: chain[0].pem,
                chainPEM: chain.dropFirst().map(\.pem).joined(),
                facts: IssuanceFacts(directoryURL: client.directoryURL, accountURL: client.accountURL, profile: certificate.profile,
                                     keyReused: keyReused))
            let staged = try store.stage(material, for: certificate.name, now: clock.now())
            let files = try store.commit(staged, for: certificate.name)
            let leaf = chain[0]
            logger.notice("issued", metadata: ["serial": "\(leaf.serialHex)", "notAfter": "\(TimeText.human(leaf.notAfter))", "fullchain": "\(files.fullChain)"])
            var issued = IssuedCertificate(name: certificate.name, domains: certificate.domains, files: files, serialHex: leaf.serialHex,
                                     issuer: UntrustedText.display(leaf.issuer, limit: 300), notBefore: leaf.notBefore, notAfter: leaf.notAfter, chainLength: chain.count,
                                     alternateChains: downloaded.alternateURLs.count)
            issued.keyReused = keyReused
            return issued
        } catch {
            // The failure is reported once, by whoever called (the daemon's log line, a command's summary); here only
            // its low-level detail, for --debug.
            if let detail = LowLevelDetail.of(error) { logger.debug("issuance failed, low-level detail: \(detail)") }
            throw IssuanceError(name: certificate.name, underlying: Self.explained(error, certificate: certificate, solver: usedSolver, fleet: usedFleetSolver))
        }
    }

    /// `certificate` as this CA can order it, or the `ProfileProblem` that stops the order (`CertificateProfile`).
    /// At a fallback CA (`isFallback`) a profile it does not offer is dropped — ordered under its default and said as
    /// a notice — since a fallback exists to get a certificate when the primary cannot; the next renewal goes to the
    /// primary and its profile again.
    func orderable(_ certificate: CertificateConfig, logger: Logger) throws -> CertificateConfig {
        let offered = try client.directory().meta?.profiles
        guard let problem = CertificateProfile.problem(with: certificate, directoryURL: client.directoryURL, offered: offered) else {
            return certificate
        }
        switch problem.kind {
        case .notOffered where isFallback, .noProfilesOffered where isFallback:
            var withoutProfile = certificate
            withoutProfile.profile = nil
            if let remaining = CertificateProfile.problem(with: withoutProfile, directoryURL: client.directoryURL, offered: offered) { throw remaining }
            logger.notice("the fallback CA does not offer the profile: ordering under its default",
                          metadata: ["profile": "\(certificate.profile ?? "")", "directory": "\(client.directoryURL)"])
            return withoutProfile
        default:
            throw problem
        }
    }

    /// A failed HTTP-01 check told with what the admin needs to fix it (`HTTP01ValidationFailure`); other errors as
    /// they are.
    /// `fleet`: in fleet mode, the order's solver, which knows where every node wrote the token.
    static func explained(_ error: any Error, certificate: CertificateConfig, solver: WebrootSolver?, fleet: FleetChallengeSolver? = nil) -> any Error {
        guard case ACMEError.authorizationFailed(let identifier, let problem) = error else { return error }
        let domain: String?
        switch identifier.type {
        case "dns": domain = certificate.domains.first { $0.lowercased() == identifier.value.lowercased() }
        case "ip": domain = IPAddress(identifier.value).flatMap { address in certificate.domains.first { IPAddress($0) == address } }
        default: domain = nil
        }
        guard let domain else { return error }
        var failure = HTTP01ValidationFailure(domain: domain, webroot: certificate.webroots[domain],
                                              tokenFile: solver?.lastWrittenFile(for: identifier.value) ?? solver?.lastWrittenFile(for: domain), problem: problem)
        if let fleet {
            let copies = fleet.tokenCopies(for: identifier.value)
            failure.fleetCopies = copies.isEmpty ? fleet.tokenCopies(for: domain) : copies
        }
        return failure
    }
}
