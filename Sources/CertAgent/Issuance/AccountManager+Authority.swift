import FoundationEssentials

extension AccountManager {
    /// The account at `authority`, one of the config's CAs: its own key and record in the store's account directory for
    /// that directory URL, its own external account binding; contacts and terms from `config`.
    public init(store: CertificateStore, config: AgentConfig, secrets: AgentSecrets, authority: CertificateAuthorityConfig) {
        self.init(store: store, config: config.using(authority), secrets: secrets)
    }
}
