import ArgumentParser
import CertAgent
import CertCrypto
import FoundationEssentials

struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Store, list and remove the named secrets (EAB HMAC key, API tokens, passwords) sealed under the master key.",
        discussion: "Values are read from standard input or from a prompt that does not echo, never from the command line, and are never printed.",
        subcommands: [SecretSetCommand.self, SecretListCommand.self, SecretRemoveCommand.self])
}

struct SecretSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store a secret: its value is read from standard input (one trailing newline removed) or, on a terminal, typed twice without echo.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The secret's name (1 to 64 characters from A-Z a-z 0-9 . _ -).")
    var name: String

    func run() throws {
        _ = options.logger()
        try SecretCLI.validate(name)
        let config = try options.loadConfig()
        let opened = try SecretCLI.open(config: config, create: true)
        var value: [UInt8]
        do { value = try SecretInput.read(name: name) } catch { throw SecretCLI.failure("\(error)") }
        defer { SecureMemory.cleanse(&value) }
        let replaced = opened.secrets.secrets.names().contains(name)
        do { try opened.secrets.secrets.set(name: name, value: value) } catch { throw SecretCLI.failure("\(error)") }
        print("✓ secret \(name) \(replaced ? "replaced" : "stored") in \(config.secretsFile)")
        if !config.referencedSecrets.contains(name) {
            print("  (the config \(config.sourcePath) does not refer to it yet)")
        }
    }
}

struct SecretListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the stored secrets' names (never their values), one per line, marking those the config uses.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        let referenced = Set(config.referencedSecrets)
        let names: [String]
        if SecretCLI.nothingStoredYet(config) {
            names = []
        } else {
            names = try SecretCLI.open(config: config, create: false).secrets.secrets.names()
        }
        for name in names {
            print(referenced.contains(name) ? "\(name)  (used by the config)" : name)
        }
        if names.isEmpty { printError("no secrets stored in \(config.secretsFile)") }
        let missing = config.referencedSecrets.filter { !names.contains($0) }
        for name in missing {
            printError("missing: the config \(config.sourcePath) uses the secret \(name), which is not set: certagent secret set \(name)")
        }
    }
}

struct SecretRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a stored secret.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The secret's name.")
    var name: String

    func run() throws {
        _ = options.logger()
        try SecretCLI.validate(name)
        let config = try options.loadConfig()
        if SecretCLI.nothingStoredYet(config) { throw SecretCLI.failure("there is no secret \(name): no secrets are stored in \(config.secretsFile)") }
        let opened = try SecretCLI.open(config: config, create: false)
        let removed: Bool
        do { removed = try opened.secrets.secrets.remove(name: name) } catch { throw SecretCLI.failure("\(error)") }
        guard removed else {
            let stored = opened.secrets.secrets.names()
            throw SecretCLI.failure("there is no secret \(name) in \(config.secretsFile)"
                + (stored.isEmpty ? " (it holds none)" : " (it holds: \(stored.joined(separator: ", ")))"))
        }
        print("✓ secret \(name) removed from \(config.secretsFile)")
        if config.referencedSecrets.contains(name) {
            printError("warning: the config \(config.sourcePath) still uses the secret \(name): issue, renew and run will refuse to start "
                + "until it is set again (certagent secret set \(name)) or the config stops referring to it")
        }
    }
}

/// What the secret and key commands share: opening the store, the master key (finishing an interrupted rotation) and
/// the secrets file the way the daemon does, with errors that name the file and the fix.
enum SecretCLI {
    struct Opened {
        let store: CertificateStore
        let secrets: AgentSecrets
        /// Held (shared) while the command runs, so a master-key rotation cannot run at the same time.
        let lock: StoreLock?
    }

    static func validate(_ name: String) throws {
        guard SecretName.isValid(name) else {
            printError(SecretsError.invalidName(name).description)
            throw ExitCode(2)
        }
    }

    /// No master key file, no systemd credential and no secrets file: nothing was ever stored.
    static func nothingStoredYet(_ config: AgentConfig) -> Bool {
        MasterKeySource(keyFile: config.masterKeyFile, createIfMissing: false).credentialPath == nil
            && !FileManager.default.fileExists(atPath: config.masterKeyFile)
            && !FileManager.default.fileExists(atPath: config.secretsFile)
    }

    /// Opens the store (tightening its permissions, reporting each fix), takes the shared store lock, loads the master
    /// key (creating it when `create` is set), finishes an interrupted rotation and opens the secrets file.
    static func open(config: AgentConfig, create: Bool) throws -> Opened {
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: create) } catch {
            throw failure("storage: \(error)")
        }
        var lock: StoreLock?
        if FileManager.default.fileExists(atPath: store.root) {
            do {
                let audit = try PermissionAudit.run(store: store)
                for line in audit.fixes.map(\.description) + audit.findings.map(\.description) { printError("warning: \(line)") }
                lock = try StoreLock(storeRoot: store.root, mode: .shared)
            } catch let error as PermissionAuditError {
                for fix in error.fixes { printError("warning: \(fix)") }
                throw failure("\(error)")
            } catch {
                throw failure("\(error)")
            }
        }
        let secrets: AgentSecrets
        do {
            secrets = try AgentSecrets.open(config: config, store: store, create: create)
        } catch let error as SecretsError {
            if case .wrongMasterKey = error {
                throw failure("\(error). The master key in use is \(describeKeySource(config)); restore the master key the secrets were "
                    + "sealed with (from your backup), or remove \(config.secretsFile) to start over without them")
            }
            throw failure("\(error)")
        } catch {
            throw failure("\(error)")
        }
        for notice in secrets.notices { printError("note: \(notice)") }
        return Opened(store: store, secrets: secrets, lock: lock)
    }

    static func describeKeySource(_ config: AgentConfig) -> String {
        let source = MasterKeySource(keyFile: config.masterKeyFile, createIfMissing: false)
        if let credential = source.credentialPath { return "the systemd credential \(credential)" }
        return "the key file \(config.masterKeyFile)"
    }

    /// Prints `message` and returns the error that ends the command with status 1.
    static func failure(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode(1)
    }
}
