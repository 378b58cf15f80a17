import ACME
import FoundationEssentials

extension CertificateStatus {
    /// The status of `name`, whose files are in `store` although the config no longer lists it (removed by hand): it
    /// is not renewed, and `certagent delete NAME` removes its files. Its current certificate, if readable, is described
    /// (read without following links), so an admin sees when a web server still using it will break.
    public init(notConfigured name: String, store: CertificateStore, now: Date) {
        self.name = name
        configured = false
        healthy = false
        let leaf = (try? store.linkedVersion(name)).flatMap { $0 }.flatMap { try? StoredCertificateState.readLeaf($0) }
        domains = (leaf?.subjectAlternativeNames ?? []).map { UntrustedText.display($0, limit: 300) }   // the CA wrote them
        state = .notConfigured
        summary = Self.notConfiguredState(name)
        issuer = leaf.map { UntrustedText.display($0.issuer, limit: 300) }
        serial = leaf?.serialHex
        notBefore = leaf?.notBefore
        notAfter = leaf?.notAfter
        nextAction = NextAction.none
        next = NextStep(action: .none, at: nil, reason: nil).text
        if leaf != nil { noteIssuingCA(of: name, in: store) }
    }

    /// The words `status` shows for a certificate in the store but not in the config.
    public static func notConfiguredState(_ name: String) -> String {
        "in the store, not in the config: `certagent delete \(name)` removes its files"
    }

    /// Every certificate of `config`, then those `store` holds files for that `config` does not list.
    public static func all(config: AgentConfig, store: CertificateStore, now: Date) -> [CertificateStatus] {
        let configured = config.certificates.map { certificate in
            var status = CertificateStatus(certificate: certificate, store: store, now: now, primaryDirectoryURL: config.directoryURL)
            status.noteNextAttemptCA(certificate, config: config, store: store, now: now)
            return status
        }
        let names = Set(config.certificates.map(\.name))
        let unconfigured = store.storedCertificateNames().filter { !names.contains($0) }.map {
            CertificateStatus(notConfigured: $0, store: store, now: now)
        }
        return configured + unconfigured
    }
}
