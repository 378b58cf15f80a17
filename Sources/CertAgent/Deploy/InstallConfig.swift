#if canImport(Glibc)
import Glibc
#endif

/// Where a certificate's files are copied after issuance, with which owner and modes, and what runs afterwards.
/// Built only by `InstallConfigReader`, so every path, id and mode here has been checked.
public struct InstallConfig: Sendable, Equatable {
    /// The installed private key, if it is installed (mode never grants anything to "other").
    public var privateKey: InstallTarget?
    /// The installed leaf certificate.
    public var certificate: InstallTarget?
    /// The installed intermediates.
    public var chain: InstallTarget?
    /// The installed leaf followed by the intermediates.
    public var fullChain: InstallTarget?
    /// The numeric owner given to installed files; nil leaves the daemon's own user.
    public var owner: uid_t?
    /// The numeric group given to installed files; nil leaves the daemon's own group.
    public var group: gid_t?
    /// Run after files change (or after every issuance when no file is installed); nil runs nothing.
    public var reload: ReloadCommand?

    public init(privateKey: InstallTarget? = nil, certificate: InstallTarget? = nil, chain: InstallTarget? = nil,
                fullChain: InstallTarget? = nil, owner: uid_t? = nil, group: gid_t? = nil, reload: ReloadCommand? = nil) {
        self.privateKey = privateKey
        self.certificate = certificate
        self.chain = chain
        self.fullChain = fullChain
        self.owner = owner
        self.group = group
        self.reload = reload
    }

    /// The installed files, in the order they are written: key, certificate, chain, full chain.
    public var targets: [InstallTarget] { [privateKey, certificate, chain, fullChain].compactMap { $0 } }

    /// True when at least one file is copied (false for a pure deploy hook).
    public var installsFiles: Bool { privateKey != nil || certificate != nil || chain != nil || fullChain != nil }
}

/// One installed file: its absolute path and exact permission bits.
public struct InstallTarget: Sendable, Equatable {
    public var path: String
    public var mode: mode_t

    public init(path: String, mode: mode_t) {
        self.path = path
        self.mode = mode
    }
}

/// A command run without a shell: `executable` is the resolved absolute path of `arguments[0]`.
public struct ReloadCommand: Sendable, Equatable {
    /// The program's absolute path (as written, or found on PATH when the config was read).
    public var executable: String
    /// The argument vector as written in the config, `arguments[0]` included.
    public var arguments: [String]
    /// How long the command may run before it is sent SIGTERM (then SIGKILL).
    public var timeoutSeconds: Double

    public init(executable: String, arguments: [String], timeoutSeconds: Double = ReloadCommand.defaultTimeoutSeconds) {
        self.executable = executable
        self.arguments = arguments
        self.timeoutSeconds = timeoutSeconds
    }

    public static let defaultTimeoutSeconds: Double = 60

    /// The command for messages: arguments joined by spaces.
    public var displayText: String { arguments.joined(separator: " ") }
}
