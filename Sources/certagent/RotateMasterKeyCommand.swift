import ArgumentParser
import CertAgent
import FoundationEssentials

struct RotateMasterKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-master-key",
        abstract: "Replace the master key and re-encrypt the secrets file and every account key with the new one.",
        discussion: """
            Stop the daemon first: the rotation takes an exclusive lock on <store>/.lock and refuses to run while another \
            certagent process holds it. Crash-safe: an interrupted rotation is finished by the next certagent command \
            or start. Prints the new key's identifier, never the key.
            With a master key from a systemd credential (read-only), pass --new-key-file PATH: the new key is written \
            there (0600) and used from <master key file>.next until LoadCredential= points at it.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("Where to write the new key (32 raw bytes, 0600) when the master key comes from a systemd credential.", valueName: "path"))
    var newKeyFile: String?

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        if let cluster = config.cluster {
            printError(FleetLocalCommands.rotateMasterKeyRefusal(cluster: cluster, configPath: config.sourcePath))
            throw ExitCode(2)
        }
        if let newKeyFile, !newKeyFile.hasPrefix("/") {
            printError("--new-key-file must be an absolute path, got \(newKeyFile)")
            throw ExitCode(2)
        }
        let store: CertificateStore
        let lock: StoreLock
        do {
            store = try CertificateStore(config: config)
            lock = try StoreLock(storeRoot: store.root, mode: .exclusive)
        } catch {
            throw SecretCLI.failure("\(error)")
        }
        defer { withExtendedLifetime(lock) {} }

        let source = MasterKeySource(keyFile: config.masterKeyFile, createIfMissing: false)
        let rotation = { MasterKeyRotation(source: source, files: AgentSecrets.protectedFiles(config: config, store: store)) }
        let current: MasterKey
        do {
            let recovered = try rotation().recover(try source.load())
            if let notice = recovered.notice { printError("note: \(notice)") }
            current = recovered.key
        } catch let error as MasterKeyError {
            if case .keyFileMissing = error {
                throw SecretCLI.failure("\(error). Nothing to rotate. If the service gets its key from an encrypted systemd credential, "
                    + "run this command with that credential, e.g. systemd-run -P --wait -p LoadCredentialEncrypted="
                    + "\(MasterKeySource.credentialName):/etc/certagent/master.key.cred certagent rotate-master-key --new-key-file PATH")
            }
            throw SecretCLI.failure("\(error)")
        } catch {
            throw SecretCLI.failure("\(error)")
        }

        // Refuse before writing anything if a protected file does not open: a rotation would stop half-way.
        let files = AgentSecrets.protectedFiles(config: config, store: store)
        let unreadable = files.filter { !$0.isReadable(with: current) }
        guard unreadable.isEmpty else {
            throw SecretCLI.failure("nothing was changed: \(unreadable.map(\.description).joined(separator: ", ")) cannot be opened with "
                + "the current \(current); restore the right master key (or those files) from a backup first")
        }

        let loaded: LoadedMasterKey
        let newKey: MasterKey
        do {
            loaded = try source.load()
            switch loaded.origin {
            case .keyFile(let path):
                if newKeyFile != nil {
                    throw SecretCLI.failure("--new-key-file is only for a master key from a systemd credential; this one is the key file "
                        + "\(path), which is replaced in place: run without --new-key-file")
                }
                newKey = try rotation().rotate(loaded)
            case .systemdCredential(let path):
                guard let newKeyFile else {
                    throw SecretCLI.failure("the master key comes from the systemd credential \(path), which cannot be replaced in place: "
                        + "run again with --new-key-file PATH (a file that does not exist yet, e.g. /etc/certagent/master.key.new); "
                        + "the new key is written there and the credential is then pointed at it")
                }
                newKey = try rotation().rotate(loaded, to: try MasterKey.generate(writingTo: newKeyFile))
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw SecretCLI.failure("the rotation failed: \(error). Run any certagent command (e.g. certagent check) to finish or "
                + "tidy it up; every file still opens with the old or the new key")
        }

        print("✓ master key rotated: \(current.identifier) → \(newKey.identifier)")
        for file in files { print("  re-encrypted \(file)") }
        if files.isEmpty { print("  (no secrets file or account key yet: nothing needed re-encrypting)") }
        switch loaded.origin {
        case .keyFile(let path):
            print("""
                The new key is in \(path) (mode 0600). Back it up now, together with a fresh backup of the store \
                \(store.root): the files there open only with the new key, and backups taken before open only with the \
                old one (keep the old key's backup as long as you keep those).
                """)
        case .systemdCredential(let credential):
            let next = source.pendingKeyFile
            print("""
                The new key is in \(newKeyFile ?? "") (mode 0600); until the service's credential points at it, certagent \
                uses the copy in \(next) (the credential \(credential) still holds the old key). Next:
                  1. point the unit at the new key: LoadCredential=\(MasterKeySource.credentialName):\(newKeyFile ?? "") \
                (or encrypt it with `systemd-creds encrypt --name=\(MasterKeySource.credentialName) \(newKeyFile ?? "") \
                \(newKeyFile ?? "").cred` and use LoadCredentialEncrypted=\(MasterKeySource.credentialName):\(newKeyFile ?? "").cred);
                  2. systemctl daemon-reload && systemctl restart certagent: the first start with the new credential removes \(next);
                  3. back up the new key together with a fresh backup of the store \(store.root); backups taken before open \
                only with the old key.
                """)
        }
    }
}
