import ACME
import Foundation
import Logging

/// Everything one run needs, built from a validated config: the store, the HTTP transport, and an ACME client bound to
/// the account. Commands and the daemon share it, so they behave the same.
public struct AgentSession: Sendable {
    public let config: AgentConfig
    public let store: CertificateStore
    public let transport: CurlTransport
    public let clock: any ACMEClock

    /// Opens the store (refusing one inside a webroot) and the HTTP transport. No request is sent yet.
    public init(config: AgentConfig, clock: any ACMEClock = SystemACMEClock()) throws {
        self.config = config
        self.store = try CertificateStore(root: config.storagePath, webroots: config.allWebroots)
        self.transport = try CurlTransport(caFile: config.caFile)
        self.clock = clock
    }

    /// Registers or finds the ACME account and returns an issuer bound to it.
    public func connect(logger: Logger) throws -> CertificateIssuer {
        let client = try AccountManager(store: store, config: config).connect(transport: transport, clock: clock, logger: logger)
        return CertificateIssuer(client: client, store: store, clock: clock, preferredChain: config.preferredChain)
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
