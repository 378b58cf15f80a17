#if canImport(Glibc)
import Glibc
#endif

/// The complete environment of a reload command: what it needs to know about the certificate, plus PATH.
/// Nothing else of the daemon's environment is passed on, so no secret (credentials, NOTIFY_SOCKET, …) reaches a hook.
enum HookEnvironment {
    /// The variable names a hook receives, in documentation order.
    static let names = ["CERTAGENT_NAME", "CERTAGENT_DOMAINS", "CERTAGENT_PRIVATE_KEY", "CERTAGENT_CERTIFICATE",
                        "CERTAGENT_CHAIN", "CERTAGENT_FULLCHAIN", "PATH"]

    /// Paths are the installed copies where `config` installs a file, else the store's files.
    static func make(files: CertificateFiles, config: InstallConfig, name: String, domains: [String],
                     searchPath: String = daemonSearchPath()) -> [String: String] {
        [
            "CERTAGENT_NAME": name,
            "CERTAGENT_DOMAINS": domains.joined(separator: " "),
            "CERTAGENT_PRIVATE_KEY": config.privateKey?.path ?? files.privateKey,
            "CERTAGENT_CERTIFICATE": config.certificate?.path ?? files.certificate,
            "CERTAGENT_CHAIN": config.chain?.path ?? files.chain,
            "CERTAGENT_FULLCHAIN": config.fullChain?.path ?? files.fullChain,
            "PATH": searchPath,
        ]
    }

    /// The daemon's PATH, or a standard one when it has none.
    static func daemonSearchPath() -> String {
        guard let value = getenv("PATH"), let path = String(validatingCString: value), !path.isEmpty else {
            return ExecutableSearch.defaultSearchPath
        }
        return path
    }
}
