import ArgumentParser
import CertAgent
import FoundationEssentials
import Logging

struct IssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Get every configured certificate that has none yet (or the named ones), now.",
        discussion: "A certificate that is already valid and covers its names is left alone: `certagent renew --force NAME` replaces one early.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: ArgumentHelp("Order without the pre-flight check of a first certificate's names.",
                             discussion: "The check fetches a probe file through every address of every name, as the CA would, and refuses to order when one fails."))
    var skipPreflight = false

    @Argument(help: "Certificate names from the config (default: all).")
    var names: [String] = []

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        try IssueRunner.issueMissing(config: config, names: names, skipPreflight: skipPreflight, logger: logger)
    }
}

/// Issues the configured certificates that have no usable certificate yet: `certagent issue` and `certagent init`.
enum IssueRunner {
    static func issueMissing(config: AgentConfig, names: [String], skipPreflight: Bool = false, logger: Logger) throws {
        let (failures, attempted, issued) = try issue(config: config, names: names, skipPreflight: skipPreflight, logger: logger)
        DaemonNotice.tell(storeRoot: config.storagePath, names: issued)
        if !failures.isEmpty {
            printError("\(failures.count) of \(attempted) certificate\(attempted == 1 ? "" : "s") failed")
            throw ExitCode(1)
        }
    }

    /// Issues what `issueMissing` would, printing each result; returns the failures' messages, how many were tried and
    /// the names of those issued. Throws `ExitCode(128 + signal)` when Ctrl-C or SIGTERM cut the work short.
    static func issue(config: AgentConfig, names: [String], skipPreflight: Bool = false,
                      logger: Logger) throws -> (failures: [String], attempted: Int, issued: [String]) {
        let context = try RenewalCommandContext(config: config, names: names, skipPreflight: skipPreflight, logger: logger)
        let session = context.session
        let wanted = session.inspect(context.selected).filter { certificate, state in
            if case .valid(let leaf, _) = state {
                print("✓ \(certificate.name): already has a certificate, valid until \(DisplayFormat.date(leaf.notAfter)): nothing to do")
                return false
            }
            return true
        }
        guard !wanted.isEmpty else { return ([], 0, []) }
        print("Using the ACME server \(config.directoryURL)" + (config.fallbackAuthorities.isEmpty ? "" : " (then, when it keeps failing: \(config.fallbackAuthorities.map(\.directoryURL).joined(separator: ", ")))"))
        // The same path as the daemon's renewals, so failures, backoff and deployment retries are recorded; forced,
        // because the admin asked for these certificates now.
        let service = context.service
        service.connectIfPossible()
        // Up to `maxConcurrentRenewals` orders at once, over one account, one nonce pool and reused connections; each
        // certificate's result is printed whole as it finishes.
        let batch = RenewalBatch(context: context, total: wanted.count)
        batch.run { index, report in
            let (certificate, state) = wanted[index]
            if case .missing = state {} else { batch.output.line("… \(certificate.name): \(state), getting a new one") }
            let started = Date()
            switch service.process(certificate.name, forcing: ForcedRenewal(replacing: state)) {
            case .renewed(let certificateIssued, let deployError):
                report.print(DisplayFormat.issued(certificateIssued, seconds: Date().timeIntervalSince(started)))
                if let deployError {
                    report.printError("✗ \(certificate.name): issued and stored, but deployment failed (the daemon retries it if it runs): \(deployError)")
                } else if let line = DisplayFormat.deployed(certificateIssued, install: certificate.install) {
                    report.print(line)
                }
                return .changed
            case .failed(let error, _):
                let kept = if case .missing = state { "no certificate was stored" } else { "nothing was replaced" }
                report.printError("✗ \(certificate.name): \(error)\n  \(kept)")
            case .busy(let busy):
                report.printError("✗ \(busy)")
            case .fleetWaiting(let why):
                report.printError("✗ \(certificate.name): \(why)")
            case .obtainedElsewhere(let elsewhere):
                report.print("✓ \(elsewhere)")
            case .interrupted:
                return .interrupted
            case .notDue:
                report.printError("✗ \(certificate.name): not issued")
            }
            return .unchanged
        }
        let names = wanted.map(\.0.name)
        let cutShort = batch.interrupted.map { names[$0] }
        let failures = batch.failureMessages + cutShort.map { "\($0): interrupted" }
        let issued = batch.changed.map { names[$0] }
        let notStarted = batch.notStarted.map { names[$0] }
        batch.summarize(doneWord: "issued")
        try context.interruption.exitIfInterrupted(cutShort: cutShort, notStarted: notStarted)
        return (failures, wanted.count, issued)
    }
}

/// How the command line shows dates and results.
enum DisplayFormat {
    /// What deploying `issued` did, as a line under `issued(_:seconds:)`: the files written and the reload command run
    /// (each only when it happened); nil when there is no install block or it did nothing.
    static func deployed(_ issued: IssuedCertificate, install: InstallConfig?) -> String? {
        guard let install, let report = issued.deployment else { return nil }
        let ran = install.reload.map { "ran \($0.displayText)" }
        switch (report.written.isEmpty, report.reloaded) {
        case (false, true): return "    deployed      \(report.written.joined(separator: ", ")); \(ran ?? "reloaded")"
        case (false, false): return "    deployed      \(report.written.joined(separator: ", "))"
        case (true, true): return "    reloaded      \(ran ?? "reloaded")"
        case (true, false): return nil
        }
    }

    static func date(_ date: Date) -> String { CertificateStatus.format(date) }

    static func issued(_ issued: IssuedCertificate, seconds: Double) -> String {
        """
        ✓ \(issued.name): issued for \(issued.domains.joined(separator: ", ")) in \(DecimalText.oneDecimal(seconds)) s
            valid until   \(date(issued.notAfter))
            issuer        \(issued.issuer)
            serial        \(issued.serialHex)
            full chain    \(issued.files.fullChain)
            private key   \(issued.files.privateKey)\(issued.keyReused ? " (the same key as before: reuseKey)" : "")
            certificate   \(issued.files.certificate)
            chain         \(issued.files.chain)
        """
    }
}
