import ArgumentParser
import CertAgent
import FoundationEssentials

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove a certificate from the config and its files from the store (with --revoke, revoke it first).",
        discussion: """
            Asks for confirmation on a terminal; elsewhere --yes is required. The rest of the config is kept byte for byte. \
            Copies made by its install block are left in place and listed; change any web server config that still \
            names the store's files before that server reloads.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Revoke the current certificate at the CA first (nothing is deleted if that fails).")
    var revoke = false

    @Option(help: "With --revoke: unspecified, keyCompromise, superseded or cessationOfOperation.")
    var reason: RevocationReason = .cessationOfOperation

    @Flag(help: "Do it without asking (required when standard input is not a terminal).")
    var yes = false

    @Argument(help: "The certificate's name in the config.")
    var name: String

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: false) } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        let certificate = config.certificate(named: name)
        let directory = store.certificateDirectory(name)
        let hasFiles = store.storedCertificateNames().contains(name)
        // A certificate removed from the config by hand (`status` lists it) has only its files left to remove.
        guard certificate != nil || hasFiles else {
            printError(UnknownCertificateNames(unknown: [name], known: config.certificates.map(\.name), file: config.sourcePath).description
                       + " and the store \(store.root) holds no files for it")
            throw ExitCode(2)
        }
        var edit: ConfigEdit?
        if certificate != nil {
            do { edit = try ConfigEditor.prepareRemoval(ofCertificate: name, configAt: config.sourcePath) } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
        var plan = ["certagent delete \(name):", certificate == nil ? "  (it is no longer in \(config.sourcePath))"
                                                                : "  removes its entry from \(config.sourcePath) (the rest stays as it is)"]
        if revoke { plan.append("  first revokes its current certificate at the CA (\(reason.rawValue))") }
        plan.append(hasFiles ? "  removes \(directory) (its keys, certificates, the version kept for rollback, its renewal record)"
                             : "  (the store holds no files for it)")
        print(plan.joined(separator: "\n"))
        if let cluster = config.cluster { printError(FleetLocalCommands.deleteWarning(name, cluster: cluster, revoking: revoke)) }
        let references = Self.webServerReferences(store: store, directory: directory)
        if !references.isEmpty {
            printError("warning: web server config still names \(directory): \(references.joined(separator: ", ")); "
                       + "that server will fail to reload or restart once the files are gone: change it first")
        }
        try Confirmation.require("Delete \(name)\(revoke ? " and revoke its certificate" : "")?", yes: yes, command: "certagent delete")

        // The store lock (shared, as every command and the daemon hold it: a key rotation waits) and the certificate's
        // issuance lock, so no issuance — the daemon's or a command's — writes its files while they are removed.
        var session: AgentSession?
        var storeLock: StoreLock?
        if revoke {
            do { session = try AgentSession(config: config, logger: logger) } catch {
                printError("✗ \(name): \(error) (nothing was changed)")
                throw ExitCode(1)
            }
        } else if store.ownership != .missing {
            do { storeLock = try StoreLock(storeRoot: store.root, mode: .shared) } catch {
                printError("✗ \(name): \(error) (nothing was changed)")
                throw ExitCode(1)
            }
        }
        defer { withExtendedLifetime(storeLock) {} }
        let lockedStore = session?.store ?? store
        var issuanceLock: FileLock?
        let storeExists = lockedStore.ownership != .missing || session != nil
        if storeExists {
            do { issuanceLock = try lockedStore.lockForIssuance(name) } catch {
                printError("✗ \(error) (nothing was changed)")
                throw ExitCode(1)
            }
        }
        defer { withExtendedLifetime(issuanceLock) {} }

        if let session {
            if lockedStore.currentFiles(name) == nil {
                print("  \(name) has no current certificate: nothing to revoke")
            } else if let note = lockedStore.knownRevocation(name) {
                print("  \(name): its certificate \(note.serialHex) was already revoked (\(note.reason.rawValue)) on \(DisplayFormat.date(note.revokedAt)): not sent again")
            } else {
                do {
                    let serial = try session.connect(toIssuerOf: name, logger: logger).revokeCurrent(name, reason: reason, now: Date())
                    print("✓ \(name): certificate \(serial) revoked (\(reason.rawValue))")
                } catch {
                    printError("✗ \(name): revocation failed, so nothing was deleted: \(error)")
                    throw ExitCode(1)
                }
            }
        }
        if let edit {
            do { try edit.write() } catch {
                printError("✗ \(name): \(error.description)" + (revoke ? " (its certificate was revoked; its files are kept)" : ""))
                throw ExitCode(1)
            }
            print("✓ \(name): removed from \(config.sourcePath)")
        }

        var complete = true
        if storeExists {
            // Challenge files an interrupted run left in the webroots go first: the journal naming them goes with the rest.
            if let certificate {
                _ = ChallengeJournal.removeLeftovers(journal: lockedStore.challengeJournal(name), webroots: Array(certificate.webroots.values))
            }
            do {
                let report = try lockedStore.removeCertificateFiles(name)
                if report.removed {
                    if hasFiles { print("✓ \(name): removed \(directory)") }
                } else {
                    complete = false
                    printError("✗ \(name): \(directory) is only partly removed: these are not CertAgent's and were left in place, remove them yourself: "
                               + report.leftInPlace.joined(separator: ", "))
                }
            } catch {
                complete = false
                printError("✗ \(name): removing \(directory) failed: \(error); `certagent status` lists what is left")
            }
        }
        if let install = certificate?.install, install.installsFiles {
            print("  still in place, remove them yourself if unused: " + install.targets.map(\.path).joined(separator: ", "))
        }
        if !references.isEmpty {
            printError("warning: \(references.joined(separator: ", ")) still name \(directory): change them before the web server reloads")
        }
        if certificate != nil { DaemonNotice.tell(storeRoot: store.root, names: [name], change: .configRemoved) }
        if !complete { throw ExitCode(1) }
    }

    /// Web server config files naming the certificate's store directory (as configured, and with links resolved).
    private static func webServerReferences(store: CertificateStore, directory: String) -> [String] {
        var found = Set(WebServerReferences.files(mentioning: directory + "/"))
        let canonical = PathSafety.canonical(directory)
        if canonical != directory { found.formUnion(WebServerReferences.files(mentioning: canonical + "/")) }
        return found.sorted()
    }
}
