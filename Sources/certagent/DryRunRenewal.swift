import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// `certagent renew --dry-run [NAME…]`: each selected certificate is ordered from the CA's staging directory through the
/// daemon's own renewal code (`RenewalService` on a session over a throwaway store, see `DryRun`), then the throwaway
/// store is removed. Exits 0 when every test certificate was issued and verified, 1 otherwise, 2 for unknown names,
/// 128 + the signal on Ctrl-C or SIGTERM (the order abandoned, its challenge files removed).
enum DryRunRenewal {
    /// `skipPreflight`: `--skip-preflight`; otherwise the names are checked as before a first order (the throwaway store
    /// has no certificate), so a dry run proves the pre-flight check passes too.
    static func run(options: GlobalOptions, names: [String], skipPreflight: Bool) throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        let selected: [CertificateConfig]
        switch config.select(names) {
        case .success(let certificates): selected = certificates
        case .failure(let error):
            printError(error.description)
            throw ExitCode(2)
        }
        let dryRun: DryRun
        do { dryRun = try DryRun(realConfig: config) } catch {
            printError("✗ dry run: \(error)")
            throw ExitCode(1)
        }
        defer { dryRun.remove() }
        print("… dry run at \(dryRun.directoryURL): a throwaway account and store in \(dryRun.workspace) (removed afterwards); nothing is deployed, no reload command runs, the real store and renewal records are not touched")
        if dryRun.usesEABSecret {
            print("… the CA requires external account binding: the EAB secret \(config.externalAccountBinding?.hmacKeySecret ?? "") was read (read-only) from \(config.secretsFile)")
        }
        fflush(nil)
        let clock = StoppableClock()
        let interruption = Interruption(stopping: clock)
        let preflight: HTTP01Preflight?
        do {
            preflight = try HTTP01Preflight.forAgent(clock: clock, skip: skipPreflight)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let service: RenewalService
        do {
            service = RenewalService(session: try dryRun.session(clock: clock, logger: logger), clock: clock, failureLogLevel: .info,
                                     preflight: preflight, logger: logger)
        } catch {
            printError("✗ dry run: cannot set up the throwaway store: \(error)")
            throw ExitCode(1)
        }
        var failures = 0
        var cutShort: [String] = []
        var notStarted: [String] = []
        for certificate in selected {
            guard !interruption.happened else {
                notStarted.append(certificate.name)
                continue
            }
            let started = Date()
            switch service.process(certificate.name, forced: true) {
            case .renewed(let issued, _):
                print("✓ \(certificate.name): dry run got a test certificate for \(issued.domains.joined(separator: ", ")) in \(DecimalText.oneDecimal(Date().timeIntervalSince(started))) s")
                print("    checked       account, order, http-01 validation of each name, download, chain and key verified")
                print("    issuer        \(issued.issuer)")
                print("    valid until   \(DisplayFormat.date(issued.notAfter)) (test certificate, discarded)")
                if config.certificates.first(where: { $0.name == certificate.name })?.install != nil {
                    print("    not deployed  (dry run: no files copied, no reload command run)")
                }
            case .failed(let error, _):
                failures += 1
                printError("✗ \(certificate.name): dry run failed: \(error)")
            case .interrupted:
                failures += 1
                cutShort.append(certificate.name)
            case .busy(let busy):
                failures += 1
                printError("✗ \(busy)")
            case .fleetWaiting(let why):
                failures += 1
                printError("✗ \(certificate.name): \(why)")
            case .notDue, .obtainedElsewhere:
                // A fresh throwaway store holds nothing, so a forced pass always orders: not expected here.
                failures += 1
                printError("✗ \(certificate.name): dry run did not order a certificate")
            }
        }
        try interruption.exitIfInterrupted(cutShort: cutShort, notStarted: notStarted)   // the deferred removal runs
        if failures > 0 {
            printError("✗ dry run: \(failures) of \(selected.count) failed; the real store is unchanged")
            throw ExitCode(1)
        }
        print("✓ dry run: \(selected.count) of \(selected.count) passed; the real store is unchanged")
    }
}
