import ArgumentParser
import CertAgent
import Foundation

extension RevocationReason: ExpressibleByArgument {}

struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a certificate's current version at the CA; the next issue or renewal replaces it.",
        discussion: "Revoke with --reason keyCompromise if the private key may have leaked. Revoking does not reset any rate limit. Asks for confirmation on a terminal; elsewhere --yes is required.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "unspecified, keyCompromise, superseded or cessationOfOperation.")
    var reason: RevocationReason = .unspecified

    @Flag(help: "Revoke without asking (required when standard input is not a terminal).")
    var yes = false

    @Argument(help: "The certificate's name in the config.")
    var name: String

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        guard case .success = config.select([name]) else {
            printError(UnknownCertificateNames(unknown: [name], known: config.certificates.map(\.name), file: config.sourcePath).description)
            throw ExitCode(2)
        }
        try Confirmation.require("Revoke the current certificate of \(name) at the CA (\(reason.rawValue))? This cannot be undone.",
                                 yes: yes, command: "certagent revoke")
        let session = try AgentSession(config: config, logger: logger)
        do {
            let serial = try session.connect(toIssuerOf: name, logger: logger).revokeCurrent(name, reason: reason, now: Date())
            print("✓ \(name): certificate \(serial) revoked (\(reason.rawValue)); `certagent issue \(name)` gets a new one")
            DaemonNotice.tell(storeRoot: session.store.root, names: [name])
        } catch {
            printError("✗ \(name): \(error)")
            throw ExitCode(1)
        }
    }
}
