import ArgumentParser
import CertAgent
import FoundationEssentials

struct RenewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew what is due now (or, with --force, the named certificates or all), then deploy them.",
        discussion: "The daemon does this by itself; this command is for a first check or an early retry after fixing a problem. --force also skips the failure backoff.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Renew even if not due, and retry at once after failures.")
    var force = false

    @Flag(help: "With --force: a new private key even for certificates with reuseKey (rotate the key deliberately).")
    var newKey = false

    @Flag(help: ArgumentHelp("Order without the pre-flight check of a first certificate's names.",
                             discussion: "The check fetches a probe file through every address of every name, as the CA would, and refuses to order when one fails."))
    var skipPreflight = false

    @Flag(help: "Get a test certificate for the same names from the CA's staging directory into a throwaway store: nothing is deployed, no reload runs, the real store stays untouched.")
    var dryRun = false

    @Argument(help: "Certificate names from the config (default: all).")
    var names: [String] = []

    func run() throws {
        if newKey, !force {
            printError("--new-key needs --force: a new key comes with a new certificate, ordered now (`certagent renew --force --new-key NAME`)")
            throw ExitCode(2)
        }
        if dryRun { return try DryRunRenewal.run(options: options, names: names, skipPreflight: skipPreflight) }
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        let context = try RenewalCommandContext(config: config, names: names, skipPreflight: skipPreflight, logger: logger)
        let service = context.service
        // A forced renewal is about the certificates stored as the command starts: one another process replaces
        // meanwhile counts as done.
        let forcing = force ? context.forcedRenewals(newKey: newKey) : [:]
        service.connectIfPossible()
        let selected = context.selected
        // Up to `maxConcurrentRenewals` at once; each certificate's result is printed whole as it finishes.
        let batch = RenewalBatch(context: context, total: selected.count)
        batch.run { index, report in
            let certificate = selected[index]
            let started = Date()
            switch service.process(certificate.name, forcing: forcing[certificate.name]) {
            case .renewed(let issued, let deployError):
                report.print(DisplayFormat.issued(issued, seconds: Date().timeIntervalSince(started)))
                if let deployError {
                    report.printError("✗ \(certificate.name): renewed and stored, but deployment failed (the daemon retries it if it runs): \(deployError)")
                } else if let line = DisplayFormat.deployed(issued, install: certificate.install) {
                    report.print(line)
                }
                return .changed
            case .notDue(let decision):
                let step = NextStep(decision)
                if let heldBack = step.heldBack {
                    // Due, but not renewed: the command did not do what it was asked.
                    report.printError(Self.heldBackMessage(certificate.name, heldBack: heldBack, decision: decision))
                } else {
                    report.print("✓ \(certificate.name): not due; next: \(step.text)")
                }
            case .interrupted:
                return .interrupted
            case .busy(let busy):
                report.printError("✗ \(busy)")
            case .fleetWaiting(let why):
                report.printError("✗ \(certificate.name): \(why)")
            case .obtainedElsewhere(let elsewhere):
                report.print("✓ \(elsewhere)")
            case .failed(let error, let retryAt):
                report.printError("✗ \(certificate.name): \(error)\n  the daemon retries at \(DisplayFormat.date(retryAt)) if it runs; `certagent renew --force \(certificate.name)` retries now")
            }
            return .unchanged
        }
        let names = selected.map(\.name)
        let renewed = batch.changed.map { names[$0] }
        let cutShort = batch.interrupted.map { names[$0] }
        let notStarted = batch.notStarted.map { names[$0] }
        let failures = Set(batch.failed).union(batch.interrupted).count
        batch.summarize(doneWord: "renewed")
        DaemonNotice.tell(storeRoot: context.session.store.root, names: renewed)
        try context.interruption.exitIfInterrupted(cutShort: cutShort, notStarted: notStarted)
        if failures > 0 { throw ExitCode(1) }
    }

    /// A renewal that is due but held back by failures: what the admin reads, and how to retry now.
    static func heldBackMessage(_ name: String, heldBack: String, decision: RenewalDecision) -> String {
        let what = if case .renewAt(_, let reason) = decision.action, reason == .missing { "not issued" } else { "not renewed" }
        var message = "✗ \(name): \(what): \(heldBack); `certagent renew --force \(name)` retries now"
        if let lastError = decision.record.lastError { message += "\n  last error: \(lastError)" }
        return message
    }
}
