import FoundationEssentials
import Logging

/// Which configured CA issued a stored certificate (its `IssuanceFacts`), for the work that must go to that CA:
/// renewal information, ARI `replaces`, revocation; and for `status`.
extension AgentSession {
    /// The configured CA that issued the certificate stored for `name` (`IssuanceFacts.directoryURL`): renewal
    /// information is asked of it, and only an order placed with it carries ARI `replaces` (RFC 9773 §5). A version
    /// without facts (stored before CertAgent recorded them, when a config named one CA) counts as the primary's, as
    /// does a name with nothing stored. Nil when the issuing CA is no longer in the config: then no CA is asked about
    /// that certificate and the lifetime rule times its renewal.
    public func issuingAuthority(of name: String) -> CertificateAuthorityConfig? {
        guard let facts = store.issuanceFacts(of: name) else { return config.primaryAuthority }
        return config.certificateAuthority(directoryURL: facts.directoryURL)
    }
}


extension AgentSession {
    /// An issuer bound to the account at the CA that issued the certificate stored for `name` (`issuingAuthority(of:)`;
    /// the primary when that CA is no longer configured): revocation goes there (RFC 8555 §7.6).
    public func connect(toIssuerOf name: String, logger: Logger) throws -> CertificateIssuer {
        try connect(to: issuingAuthority(of: name) ?? config.primaryAuthority, logger: logger)
    }
}

extension CertificateStatus {
    /// Fills `caDirectory` and `ca` from the issuance facts of `name`'s current version, when it has them.
    mutating func noteIssuingCA(of name: String, in store: CertificateStore) {
        guard let facts = store.issuanceFacts(of: name) else { return }
        caDirectory = facts.directoryURL
        ca = CertificateAuthorityConfig.displayName(of: facts.directoryURL)
    }

    /// With several CAs configured and failures since the last success: fills `nextAttemptCA` with the CA the next
    /// attempt goes to (`CertificateAuthorityFallback`), from the same record and cap the daemon uses.
    mutating func noteNextAttemptCA(_ certificate: CertificateConfig, config: AgentConfig, store: CertificateStore, now: Date,
                                    policy: RenewalPolicy = RenewalPolicy()) {
        guard config.certificateAuthorities.count > 1 else { return }
        let record = RenewalRecordStore(store: store).load(certificate.name).record
        guard record.failures > 0 else { return }
        let state = StoredCertificateState.inspect(certificate, in: store, now: now)
        let choice = CertificateAuthorityFallback.choose(
            authorities: config.certificateAuthorities.map(\.directoryURL), record: record, fallbackAfterFailures: config.fallbackAfterFailures,
            retryAfterCap: policy.retryAfterCap(for: state, failedAt: FailureBackoff.failureTime(of: record, now: now)), now: now)
        nextAttemptCA = choice.description
    }
}
