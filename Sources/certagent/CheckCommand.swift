import ArgumentParser
import CertAgent
import FoundationEssentials

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and report every problem at once.",
        discussion: "With --online it also runs the pre-flight check a first order runs: a probe file fetched through every address of every name, as the CA fetches the challenge (the probe files are removed). Otherwise it changes nothing: it also checks that the store is CertAgent's own, reports the permissions `issue` or `run` would tighten, checks the master key (without creating it) and reports every secret the config uses that is not set.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: ArgumentHelp("Also run the pre-flight check: fetch a probe file through every A and AAAA address of every name, as the CA would.",
                             discussion: "Writes a probe file into each webroot for the duration of the check (always removed); exits 1 when a name fails."))
    var online = false

    @Argument(help: "Certificate names to check online (default: all).")
    var names: [String] = []

    func run() throws {
        _ = options.logger()
        guard online || names.isEmpty else { throw ValidationError("certificate names are for --online only (the offline check covers the whole config)") }
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .read)
        let store: CertificateStore
        do {
            store = try CertificateStore(config: config, create: false)
        } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        var problems: [String] = []
        var keyLine: String
        var secretsLine: String?
        var storeLine = config.storagePath

        // The store's permissions, reported only: issue and run fix them. Nothing is created, not even the lock file.
        var lock: StoreLock?
        switch store.ownership {
        case .missing: storeLine += " (does not exist yet: certagent issue or run creates it)"
        case .empty: storeLine += " (empty: certagent issue or run makes it CertAgent's store)"
        case .legacy: storeLine += " (a store of an earlier CertAgent: issue or run marks it as CertAgent's with \(StoreLayout.markerName))"
        case .marked: break
        }
        if store.ownership != .missing {
            var audit = PermissionAuditReport()
            do {
                audit = try PermissionAudit.run(store: store, mode: .reportOnly)
            } catch let error as PermissionAuditError {
                audit = PermissionAuditReport(fixes: error.fixes, findings: error.findings)
                problems += error.problems
            } catch {
                problems.append("\(error)")
            }
            for fix in audit.fixes { printError("warning: \(fix)") }
            // Someone else's file in the store is a warning; a link where CertAgent keeps its own files is a problem.
            for finding in audit.findings where !finding.isLink { printError("warning: \(finding)") }
            problems += audit.findings.filter(\.isLink).map(\.description)
            do { lock = try StoreLock.ifPresent(storeRoot: store.root, mode: .shared) } catch { problems.append("\(error)") }
        }
        defer { withExtendedLifetime(lock) {} }

        // The master key, never created here, and the secrets the config uses.
        let source = MasterKeySource(keyFile: config.masterKeyFile, createIfMissing: false)
        let protected = AgentSecrets.protectedFiles(config: config, store: store)
        if source.credentialPath == nil, !FileManager.default.fileExists(atPath: config.masterKeyFile),
           protected.isEmpty, !FileManager.default.fileExists(atPath: source.pendingKeyFile) {
            // A fresh install: nothing is sealed yet, so a missing key is expected.
            keyLine = "\(config.masterKeyFile) (does not exist yet: certagent issue, run or secret set creates it)"
            for name in config.referencedSecrets {
                problems.append("the config uses the secret \(name), which is not set (there is no master key \(config.masterKeyFile) "
                    + "and no secrets file yet): certagent secret set \(name) creates both")
            }
        } else {
            keyLine = "\(config.masterKeyFile)"
            do {
                let secrets = try AgentSecrets.open(config: config, store: store, create: false)
                for notice in secrets.notices { printError("note: \(notice)") }
                keyLine = "\(secrets.origin) (\(secrets.masterKey))"
                for file in AgentSecrets.protectedFiles(config: config, store: store) where !file.isReadable(with: secrets.masterKey) {
                    problems.append("the \(file) does not open with the \(secrets.masterKey): restore the right master key or the file from a backup")
                }
                for name in secrets.missingSecrets(for: config) {
                    problems.append("the config uses the secret \(name), which \(config.secretsFile) does not hold: certagent secret set \(name)")
                }
                let count = secrets.secrets.names().count
                secretsLine = "\(config.secretsFile) (\(count) secret\(count == 1 ? "" : "s"))"
            } catch let error as MasterKeyError {
                if case .keyFileMissing(let path) = error {
                    problems.append("the master key file \(path) does not exist, but \(protected.map(\.description).joined(separator: ", ")) "
                        + "need it: restore it from your backup (certagent issue, run and secret set create a new one only when nothing is sealed yet)")
                } else {
                    problems.append("\(error)")
                }
            } catch {
                problems.append("\(error)")
            }
        }

        guard problems.isEmpty else {
            printError("\(config.sourcePath): \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n  " + problems.joined(separator: "\n  "))
            throw ExitCode(2)
        }
        print("\(config.sourcePath): OK")
        for line in config.certificateAuthorityLines { print(line) }
        print("  store        \(storeLine)")
        for certificate in config.certificates {
            let state = StoredCertificateState.inspect(certificate, in: store, now: Date())
            let shown = CurrentLinkRecovery.candidate(for: certificate, in: store, now: Date()).map(CurrentLinkRecovery.note) ?? "\(state)"
            let profile = certificate.profile.map { ", profile \($0)" } ?? ""
            print("  \(certificate.name): \(certificate.domains.joined(separator: ", ")) [\(certificate.keyType.rawValue)\(profile)\(certificate.reuseKey ? ", key reused" : "")] — \(shown)")
        }
        print("  master key   \(keyLine)")
        if let secretsLine { print("  secrets      \(secretsLine)") }
        let channels = config.allNotifySettings.flatMap(\.channelDescriptions)
        print("  notify       " + (channels.isEmpty ? "nobody (no notify block: see README, Being told)" : channels.joined(separator: "; ") + " (certagent notify --test sends a test)"))
        if online { try OnlineCheck.run(config: config, store: store, names: names) }
    }
}
