import ACME
import CertCrypto
import Foundation
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

    public init(client: ACMEClient, store: CertificateStore, clock: any ACMEClock = SystemACMEClock(), preferredChain: String? = nil) {
        self.client = client
        self.store = store
        self.clock = clock
        self.preferredChain = preferredChain
    }

    /// Issues `certificate`. `lock` is its issuance lock when the caller already holds it; otherwise it is taken here
    /// (failing at once with `CertificateBusy` when another process holds it).
    public func issue(_ certificate: CertificateConfig, replaces: String? = nil, lock: FileLock? = nil, logger: Logger) throws -> IssuedCertificate {
        var logger = logger
        logger[metadataKey: "certificate"] = "\(certificate.name)"
        var usedSolver: WebrootSolver?
        do {
            let held = try lock ?? store.lockForIssuance(certificate.name)
            defer { withExtendedLifetime(held) {} }
            // Files a killed earlier run left published (it can no longer remove them) go before new ones are added.
            let journal = store.challengeJournal(certificate.name)
            for file in ChallengeJournal.removeLeftovers(journal: journal, webroots: Array(certificate.webroots.values)) {
                logger.warning("removed a challenge file left by an interrupted run", metadata: ["file": "\(file)"])
            }
            let key = try PrivateKey.generate(certificate.keyType)
            let csr = try CertificateSigningRequest.make(key: key, domains: certificate.domains)
            logger.info("ordering", metadata: ["domains": "\(certificate.domains.joined(separator: ","))", "keyType": "\(certificate.keyType.rawValue)"])
            let solver = WebrootSolver(webroots: certificate.webroots, journal: ChallengeJournal(path: journal))
            usedSolver = solver
            let (_, downloaded) = try HTTP01Issuance.issue(client: client, domains: certificate.domains, csrDER: csr.der, solver: solver, replaces: replaces)
            let chosenPEM = ChainPreference.choose(downloaded, preferredIssuer: preferredChain, client: client, logger: logger)
            let chain = try ChainVerifier.verify(chainPEM: chosenPEM, key: key, domains: certificate.domains, now: clock.now())
            let material = CertificateMaterial(
                privateKeyPEM: try key.pkcs8PEM(),
                csrPEM: csr.pem,
                certificatePEM: chain[0].pem,
                chainPEM: chain.dropFirst().map(\.pem).joined())
            let staged = try store.stage(material, for: certificate.name, now: clock.now())
            let files = try store.commit(staged, for: certificate.name)
            let leaf = chain[0]
            logger.notice("issued", metadata: ["serial": "\(leaf.serialHex)", "notAfter": "\(TimeText.human(leaf.notAfter))", "fullchain": "\(files.fullChain)"])
            return IssuedCertificate(name: certificate.name, domains: certificate.domains, files: files, serialHex: leaf.serialHex,
                                     issuer: UntrustedText.display(leaf.issuer, limit: 300), notBefore: leaf.notBefore, notAfter: leaf.notAfter, chainLength: chain.count,
                                     alternateChains: downloaded.alternateURLs.count)
        } catch {
            // The failure is reported once, by whoever called (the daemon's log line, a command's summary); here only
            // its low-level detail, for --debug.
            if let detail = LowLevelDetail.of(error) { logger.debug("issuance failed, low-level detail: \(detail)") }
            throw IssuanceError(name: certificate.name, underlying: Self.explained(error, certificate: certificate, solver: usedSolver))
        }
    }

    /// A failed HTTP-01 check told with what the admin needs to fix it (`HTTP01ValidationFailure`); other errors as
    /// they are.
    static func explained(_ error: any Error, certificate: CertificateConfig, solver: WebrootSolver?) -> any Error {
        guard case ACMEError.authorizationFailed(let identifier, let problem) = error, identifier.type == "dns" else { return error }
        guard let domain = certificate.domains.first(where: { $0.lowercased() == identifier.value.lowercased() }) else { return error }
        return HTTP01ValidationFailure(domain: domain, webroot: certificate.webroots[domain],
                                       tokenFile: solver?.lastWrittenFile(for: identifier.value) ?? solver?.lastWrittenFile(for: domain), problem: problem)
    }
}
