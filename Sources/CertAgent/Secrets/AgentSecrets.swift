import FoundationEssentials

/// The master key and the sealed secrets of one run, opened once at start: a rotation interrupted by a crash is
/// finished first, so every secret and account key opens with the key returned here.
public struct AgentSecrets: Sendable {
    public let masterKey: MasterKey
    public let secrets: SecretsFile
    public let origin: MasterKeyOrigin
    /// Things the admin should hear about (a key created, a rotation finished, a credential to switch).
    public let notices: [String]

    /// Opens the master key (creating a key file on first use when `create` is set) and the secrets file.
    public static func open(config: AgentConfig, store: CertificateStore, create: Bool,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AgentSecrets {
        let source = MasterKeySource(keyFile: config.masterKeyFile, createIfMissing: create, environment: environment)
        let loaded = try source.load()
        let recovered = try MasterKeyRotation(source: source, files: protectedFiles(config: config, store: store)).recover(loaded)
        var notices: [String] = []
        if loaded.created { notices.append("created the master key \(config.masterKeyFile) (mode 0600): back it up, it opens the account key and every secret") }
        if let notice = recovered.notice { notices.append(notice) }
        let secrets = try SecretsFile.open(path: config.secretsFile, masterKey: recovered.key, createIfMissing: create)
        return AgentSecrets(masterKey: recovered.key, secrets: secrets, origin: loaded.origin, notices: notices)
    }

    /// Every file sealed under the master key: the secrets file and each CA's account key (and a rollover's staged key).
    public static func protectedFiles(config: AgentConfig, store: CertificateStore) -> [ProtectedFile] {
        // A rollover's staged key is sealed too: a rotation re-seals it, so the rollover can still finish afterwards.
        let keys = ((try? FileManager.default.contentsOfDirectory(atPath: store.keys.accounts)) ?? []).sorted()
            .flatMap { store.keys.accountKeys(inDirectoryNamed: $0) }
            .filter { FileManager.default.fileExists(atPath: $0) }
        let secrets = FileManager.default.fileExists(atPath: config.secretsFile) ? [ProtectedFile.secrets(path: config.secretsFile)] : []
        return secrets + keys.map { .accountKey(path: $0) }
    }

    /// The names the config refers to that the secrets file does not hold.
    public func missingSecrets(for config: AgentConfig) -> [String] {
        let names = Set(secrets.names())
        return config.referencedSecrets.filter { !names.contains($0) }
    }
}

extension AgentConfig {
    /// Every secret name the config refers to.
    public var referencedSecrets: [String] {
        let notifySecrets = allNotifySettings.flatMap(\.referencedSecrets)
        var seen: Set<String> = []
        let clusterSecrets = cluster?.referencedSecrets ?? []
        return (certificateAuthorities.compactMap { $0.externalAccountBinding?.hmacKeySecret } + notifySecrets + clusterSecrets).filter { seen.insert($0).inserted }
    }
}
