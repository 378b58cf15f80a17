import ArgumentParser
import CertAgent
import Foundation
import Logging

struct IssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Get every configured certificate that has none yet (or the named ones), now.",
        discussion: "A certificate that is already valid and covers its names is left alone: `certagent renew --force NAME` replaces one early.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Certificate names from the config (default: all).")
    var names: [String] = []

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        try IssueRunner.issueMissing(config: config, names: names, logger: logger)
    }
}

/// Issues the configured certificates that have no usable certificate yet: `certagent issue` and `certagent init`.
enum IssueRunner {
    static func issueMissing(config: AgentConfig, names: [String], logger: Logger) throws {
        let context = try RenewalCommandContext(config: config, names: names, logger: logger)
        let session = context.session
        let wanted = session.inspect(context.selected).filter { certificate, state in
            if case .valid(let leaf, _) = state {
                print("✓ \(certificate.name): already has a certificate, valid until \(DisplayFormat.date(leaf.notAfter)): nothing to do")
                return false
            }
            return true
        }
        guard !wanted.isEmpty else { return }
        print("Using the ACME server \(config.directoryURL)")
        // The same path as the daemon's renewals, so failures, backoff and deployment retries are recorded; forced,
        // because the admin asked for these certificates now.
        let service = context.service
        service.connectIfPossible()
        var failures = 0
        var cutShort: [String] = []
        var notStarted: [String] = []
        for (certificate, state) in wanted {
            guard !context.interruption.happened else {
                notStarted.append(certificate.name)
                continue
            }
            if case .missing = state {} else { print("… \(certificate.name): \(state), getting a new one") }
            let started = Date()
            switch service.process(certificate.name, forcing: ForcedRenewal(replacing: state)) {
            case .renewed(let issued, let deployError):
                print(DisplayFormat.issued(issued, seconds: Date().timeIntervalSince(started)))
                if let install = certificate.install {
                    if let deployError {
                        failures += 1
                        printError("✗ \(certificate.name): issued and stored, but deployment failed (the daemon retries it): \(deployError)")
                    } else {
                        print("    deployed      " + install.targets.map(\.path).joined(separator: ", ")
                              + (install.reload.map { "; ran \($0.displayText)" } ?? ""))
                    }
                }
            case .failed(let error, _):
                failures += 1
                printError("✗ \(certificate.name): \(error); nothing was replaced")
            case .busy(let busy):
                failures += 1
                printError("✗ \(busy)")
            case .obtainedElsewhere(let elsewhere):
                print("✓ \(elsewhere)")
            case .interrupted:
                failures += 1
                cutShort.append(certificate.name)
            case .notDue:
                failures += 1
                printError("✗ \(certificate.name): not issued")
            }
        }
        try context.interruption.exitIfInterrupted(cutShort: cutShort, notStarted: notStarted)
        if failures > 0 {
            printError("\(failures) of \(wanted.count) certificate(s) failed")
            throw ExitCode(1)
        }
    }
}

/// How the command line shows dates and results.
enum DisplayFormat {
    static func date(_ date: Date) -> String { CertificateStatus.format(date) }

    static func issued(_ issued: IssuedCertificate, seconds: Double) -> String {
        """
        ✓ \(issued.name): issued for \(issued.domains.joined(separator: ", ")) in \(String(format: "%.1f", seconds)) s
            valid until   \(date(issued.notAfter))
            issuer        \(issued.issuer)
            serial        \(issued.serialHex)
            full chain    \(issued.files.fullChain)
            private key   \(issued.files.privateKey)
            certificate   \(issued.files.certificate)
            chain         \(issued.files.chain)
        """
    }
}
