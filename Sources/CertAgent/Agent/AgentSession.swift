import ACME
import FoundationEssentials
import Logging

/// Everything one run needs, built from a validated config: the store, the HTTP transport, and an ACME client bound to
/// the account. Commands and the daemon share it, so they behave the same.
public struct AgentSession: Sendable {
    public let config: AgentConfig
    public let store: CertificateStore
    public let transport: any HTTPTransport
    public let clock: any ACMEClock
    public let secrets: AgentSecrets
    /// Modes the start-up audit tightened in the store.
    public let permissionFixes: [PermissionFix]
    /// Held (shared) for the session's life, so `rotate-master-key` (exclusive) never runs under a daemon or command.
    public let storeLock: StoreLock
    /// True when the caller gave the transport (tests): every CA is reached through it.
    private let transportInjected: Bool

    /// Opens the store (refusing one inside a webroot; auditing its permissions), the master key and secrets, and the
    /// HTTP transport. Every later log line is scrubbed of the secrets' values. No request is sent yet.
    /// `transport` replaces libcurl (tests script a CA with it).
    public init(config: AgentConfig, clock: any ACMEClock = SystemACMEClock(), logger: Logger,
                environment: [String: String] = ProcessInfo.processInfo.environment, transport: (any HTTPTransport)? = nil) throws {
        self.config = config
        self.store = try CertificateStore(config: config)
        for leftover in store.removedLeftovers { logger.notice("removed a temporary file left by an interrupted write", metadata: ["file": "\(leftover)"]) }
        self.storeLock = try StoreLock(storeRoot: store.root, mode: .shared)
        let audit = try PermissionAudit.run(store: store)
        self.permissionFixes = audit.fixes
        for fix in permissionFixes { logger.warning("\(fix)") }
        for finding in audit.findings { logger.warning("\(finding)") }
        self.secrets = try AgentSecrets.open(config: config, store: store, create: true, environment: environment)
        for notice in secrets.notices { logger.notice("\(notice)") }
        let missing = secrets.missingSecrets(for: config)
        guard missing.isEmpty else { throw MissingSecrets(names: missing, secretsFile: config.secretsFile) }
        // A stoppable clock (daemon, commands) aborts requests in flight when it stops.
        self.transportInjected = transport != nil
        self.transport = try transport ?? CurlTransport(caFile: config.caFile, cancellation: (clock as? StoppableClock)?.httpCancellation)
        self.clock = clock
        LogRedaction.install(try SecretRedaction(secretsFile: secrets.secrets))
    }

    /// Registers or finds the ACME account at the primary CA and returns an issuer bound to it.
    public func connect(logger: Logger) throws -> CertificateIssuer {
        try connect(to: config.primaryAuthority, logger: logger)
    }

    /// The HTTP transport for `authority`: the session's own when it trusts the same `caFile` (or the caller gave one),
    /// else a new libcurl transport trusting its `caFile`.
    public func transport(for authority: CertificateAuthorityConfig) throws -> any HTTPTransport {
        if transportInjected || authority.caFile == config.caFile { return transport }
        return try CurlTransport(caFile: authority.caFile, cancellation: (clock as? StoppableClock)?.httpCancellation)
    }

    /// Registers or finds the ACME account at `authority` (each CA has its own) and returns an issuer bound to it.
    public func connect(to authority: CertificateAuthorityConfig, logger: Logger) throws -> CertificateIssuer {
        let accounts = AccountManager(store: store, config: config, secrets: secrets, authority: authority)
        let transport = try transport(for: authority)
        try accounts.resolvePendingChange(transport: transport, clock: clock, logger: logger)   // a crashed rollover or deactivation
        // The account key is loaded (or made) once; from then on log lines are scrubbed of it too.
        let key = try accounts.accountKey(logger: logger)
        LogRedaction.install(try SecretRedaction(secretsFile: secrets.secrets, pems: [try key.pkcs8PEM()]))
        let stamp = accounts.keyStamp()
        let client = try accounts.connect(transport: transport, clock: clock, key: key, logger: logger)
        var issuer = CertificateIssuer(client: client, store: store, clock: clock, preferredChain: config.preferredChain)
        issuer.accountKey = AccountKeyCheck(keyFile: accounts.keyFile, stamp: stamp)
        issuer.isFallback = authority.directoryURL != config.directoryURL
        return issuer
    }

    /// The state of each configured certificate in the store (all of them, or those named).
    public func inspect(_ certificates: [CertificateConfig]) -> [(CertificateConfig, StoredCertificateState)] {
        certificates.map { ($0, StoredCertificateState.inspect($0, in: store, now: clock.now())) }
    }
}

extension AgentConfig {
    /// Every configured webroot, once each.
    public var allWebroots: [String] {
        Array(Set(certificates.flatMap { $0.webroots.values })).sorted()
    }

    /// The certificates named in `names` (all when empty), or the names that match none.
    public func select(_ names: [String]) -> Result<[CertificateConfig], UnknownCertificateNames> {
        guard !names.isEmpty else { return .success(certificates) }
        let unknown = names.filter { certificate(named: $0) == nil }
        guard unknown.isEmpty else { return .failure(UnknownCertificateNames(unknown: unknown, known: certificates.map(\.name), file: sourcePath)) }
        return .success(names.compactMap { certificate(named: $0) })
    }
}

/// Secrets the config names that have not been set.
public struct MissingSecrets: Error, Sendable, CustomStringConvertible {
    public let names: [String]
    public let secretsFile: String

    public var description: String {
        let list = names.joined(separator: ", ")
        return "the config refers to the secret(s) \(list), which \(secretsFile) does not hold: set each with `certagent secret set NAME`"
    }
}

/// Certificate names given on the command line that the config does not have.
public struct UnknownCertificateNames: Error, Sendable, CustomStringConvertible {
    public let unknown: [String]
    public let known: [String]
    public let file: String

    public init(unknown: [String], known: [String], file: String) {
        self.unknown = unknown
        self.known = known
        self.file = file
    }

    public var description: String {
        "\(file) has no certificate named \(unknown.joined(separator: ", ")) (configured: \(known.joined(separator: ", ")))"
    }
}
