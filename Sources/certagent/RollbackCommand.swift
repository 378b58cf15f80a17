import ArgumentParser
import CertAgent
import FoundationEssentials

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make the certificate kept as previous current again (checked first), deploy it, and keep the other as previous.",
        discussion: """
            The previous certificate must match its key, cover the configured names, chain correctly, not be known to be \
            revoked and still be valid for more than its safety margin. Running rollback again undoes it.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The certificate's name in the config.")
    var name: String

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        if let cluster = config.cluster {
            printError(FleetLocalCommands.rollbackRefusal(name, cluster: cluster, configPath: config.sourcePath))
            throw ExitCode(2)
        }
        try options.requireStoreAccess(config, .write)
        guard let certificate = config.certificate(named: name) else {
            printError(UnknownCertificateNames(unknown: [name], known: config.certificates.map(\.name), file: config.sourcePath).description)
            throw ExitCode(2)
        }
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: false) } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        guard store.ownership != .missing else {
            printError("✗ \(name): cannot roll back: \(RollbackRefusal.noPrevious(name: name))")
            throw ExitCode(1)
        }
        let report: RollbackReport
        do {
            let storeLock = try StoreLock(storeRoot: store.root, mode: .shared)
            defer { withExtendedLifetime(storeLock) {} }
            report = try CertificateRollback.rollBack(certificate, in: store, now: Date())
        } catch let refusal as RollbackRefusal {
            printError("✗ \(name): cannot roll back: \(refusal) (nothing was changed)")
            throw ExitCode(1)
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(1)
        }
        print(Self.summary(name: name, report: report, fullChain: store.currentFiles(name)?.fullChain))
        DaemonNotice.tell(storeRoot: store.root, names: [name])
        if let deployError = report.deployError {
            printError("✗ \(name): rolled back, but deployment failed (the daemon retries it if it runs): \(deployError)")
            throw ExitCode(1)
        }
    }

    static func summary(name: String, report: RollbackReport, fullChain: String?) -> String {
        var lines = ["✓ \(name): rolled back to certificate \(report.current.serialHex), valid until \(DisplayFormat.date(report.current.notAfter))"]
        if let replaced = report.replaced {
            lines.append("    kept          \(replaced.serialHex) as previous: `certagent rollback \(name)` again undoes this")
        }
        if let fullChain { lines.append("    full chain    \(fullChain)") }
        if let install = report.install {
            let files = install.written.isEmpty ? "install targets already held it" : "wrote \(install.written.joined(separator: ", "))"
            lines.append("    deployed      \(files)" + (install.reloaded ? "; ran the reload command" : ""))
        }
        if report.isDue {
            lines.append("    renewal       it is already in its renewal period: the daemon replaces it with a new certificate at its next look")
        } else {
            lines.append("    renewal       from about \(DisplayFormat.date(report.renewalFrom)) (by \(DisplayFormat.date(report.renewalBy))), "
                         + "or when the CA's renewal information says")
        }
        return lines.joined(separator: "\n")
    }
}
