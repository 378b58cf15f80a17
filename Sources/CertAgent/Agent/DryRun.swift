import FoundationEssentials
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `certagent renew --dry-run`: a test order at the CA's staging directory through the same issuance code as a real
/// renewal (`RenewalService`, `CertificateIssuer`, the webroot solver, chain verification), into a throwaway store —
/// a new temporary directory (0700) with its own master key and its own account key, removed afterwards. Nothing is
/// deployed and no reload command runs (the throwaway config has no `install` blocks); the real store, its renewal
/// records, the real account and the config are never opened for writing, and the daemon is not told.
public final class DryRun {
    /// The staging directory the test order goes to.
    public let directoryURL: String
    /// The throwaway directory (store and master key inside); removed by `remove()`.
    public let workspace: String
    /// The config the test order runs from: the real one with the throwaway store, key, staging directory, no installs.
    public let config: AgentConfig
    /// Whether the real EAB secret was read (read-only) because the CA requires external account binding.
    public let usesEABSecret: Bool
    private let eabSecret: [UInt8]?

    /// The staging directory for `config`: Let's Encrypt's staging when `directory` is Let's Encrypt's production,
    /// else `dryRunDirectory`; a `DryRunError` naming the field when neither applies.
    public static func stagingDirectory(for config: AgentConfig) throws -> String {
        if let configured = config.dryRunDirectory { return configured }
        if config.directoryURL == KnownDirectory.letsencrypt.url { return KnownDirectory.letsencryptStaging.url }
        if config.directoryURL == KnownDirectory.letsencryptStaging.url { return config.directoryURL }
        throw DryRunError(description: "\(config.sourcePath): dryRunDirectory: not set, and no staging directory is known for the CA at \(config.directoryURL): add \"dryRunDirectory\": \"https://…\" (the CA's test directory) to the config for a dry run")
    }

    /// Makes the throwaway workspace. With EAB configured, the HMAC key is read once from the real secrets file,
    /// without creating, changing or recovering anything there.
    public init(realConfig: AgentConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        directoryURL = try Self.stagingDirectory(for: realConfig)
        var eabSecret: [UInt8]?
        if let binding = realConfig.externalAccountBinding {
            let source = MasterKeySource(keyFile: realConfig.masterKeyFile, createIfMissing: false, environment: environment)
            let key = try source.load().key
            let secrets = try SecretsFile.open(path: realConfig.secretsFile, masterKey: key, createIfMissing: false)
            eabSecret = try secrets.value(named: binding.hmacKeySecret)
        }
        self.eabSecret = eabSecret
        usesEABSecret = eabSecret != nil
        workspace = try Self.makeWorkspace()
        var config = realConfig
        config.directoryURL = directoryURL
        config.fallbackAuthorities = []   // one staging CA: a fallback's account and EAB are not for a dry run
        config.storagePath = workspace + "/store"
        config.masterKeyFile = workspace + "/master.key"
        config.dryRunDirectory = nil
        config.metricsFile = nil
        for index in config.certificates.indices { config.certificates[index].install = nil }
        self.config = config
    }

    deinit { remove() }

    /// A session on the throwaway store: a new master key and secrets file there (holding only the EAB secret, when
    /// one is used), never a systemd credential.
    public func session(clock: StoppableClock, logger: Logger) throws -> AgentSession {
        let environment = ProcessInfo.processInfo.environment.filter { $0.key != "CREDENTIALS_DIRECTORY" }
        if let binding = config.externalAccountBinding, let eabSecret {
            let store = try CertificateStore(config: config)
            let secrets = try AgentSecrets.open(config: config, store: store, create: true, environment: environment)
            try secrets.secrets.set(name: binding.hmacKeySecret, value: eabSecret)
        }
        return try AgentSession(config: config, clock: clock, logger: logger, environment: environment)
    }

    /// Removes the throwaway workspace and everything in it (idempotent).
    public func remove() {
        try? FileManager.default.removeItem(atPath: workspace)
    }

    private static func makeWorkspace() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        var template = Array("\(base.hasSuffix("/") ? String(base.dropLast()) : base)/certagent-dry-run-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FileSystemError("create a temporary directory in", path: base)
        }
        let path = String(cString: made)
        guard chmod(path, 0o700) == 0 else { throw FileSystemError("set the mode of", path: path) }
        return path
    }
}

/// A dry run that cannot start (no staging directory known).
public struct DryRunError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
