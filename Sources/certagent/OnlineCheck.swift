import ArgumentParser
import CertAgent
import FoundationEssentials

/// `certagent check --online`: the pre-flight check of every certificate (or the named ones), on demand — each name's
/// A and AAAA addresses, each fetching a probe file from the webroot as the CA would fetch the challenge file.
enum OnlineCheck {
    /// Prints a line per name and address; exits 1 when a name fails, 130/143 when Ctrl-C or SIGTERM cut it short.
    static func run(config: AgentConfig, store: CertificateStore, names: [String]) throws {
        let selected: [CertificateConfig]
        switch config.select(names) {
        case .success(let certificates): selected = certificates
        case .failure(let error):
            printError(error.description)
            throw ExitCode(2)
        }
        let clock = StoppableClock()
        let interruption = Interruption(stopping: clock)
        let preflight: HTTP01Preflight
        do { preflight = try HTTP01Preflight(clock: clock) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let refusedProfiles = checkProfiles(config: config, certificates: selected, clock: clock)
        print("Pre-flight check: http://NAME/.well-known/acme-challenge/PROBE through each address of each name, as the CA fetches it"
              + (preflight.port == 80 ? "" : " (port \(preflight.port), from \(HTTP01Preflight.portVariable))"))
        var failed: [String] = []
        var cutShort: [String] = []
        var notStarted: [String] = []
        for certificate in selected {
            guard !interruption.happened else {
                notStarted.append(certificate.name)
                continue
            }
            // In a store of CertAgent's, probe files are journaled (a crash leaves none) under the issuance lock, so
            // they never mix with an order another process is running; elsewhere nothing is written to the store.
            var lock: FileLock?
            var journal: String?
            if store.ownership == .marked {
                do {
                    lock = try store.lockForIssuance(certificate.name)
                    journal = store.challengeJournal(certificate.name)
                } catch {
                    print("  \(certificate.name): not checked: \(error)")
                    failed.append(certificate.name)
                    continue
                }
            }
            defer { withExtendedLifetime(lock) {} }
            do {
                let report = try preflight.check(certificate, journal: journal)
                print("  \(certificate.name):")
                for line in report.lines { print("    \(line)") }
                if !report.passed { failed.append(certificate.name) }
            } catch is PreflightInterrupted {
                cutShort.append(certificate.name)
            } catch {
                print("  \(certificate.name): not checked: \(error)")
                failed.append(certificate.name)
            }
        }
        try interruption.exitIfInterrupted(cutShort: cutShort, notStarted: notStarted)
        if !refusedProfiles.isEmpty {
            printError("✗ the CA would refuse the orders of \(refusedProfiles.joined(separator: ", ")) (see above): fix \"profile\" in \(config.sourcePath)")
        }
        guard failed.isEmpty else {
            printError("✗ pre-flight check failed for \(failed.joined(separator: ", ")): the CA's validation would fail the same way; "
                + "a first order is refused until this passes (or with --skip-preflight)")
            throw ExitCode(1)
        }
        print("✓ every name serves its webroot through every address")
        guard refusedProfiles.isEmpty else { throw ExitCode(1) }
    }

    /// The CA's directory against each certificate's profile and IP addresses (`ProfilePreflight`), when one names a
    /// profile or holds an address: prints what the CA offers and each problem; returns the certificates the CA would
    /// refuse (or whose check could not run).
    private static func checkProfiles(config: AgentConfig, certificates: [CertificateConfig], clock: StoppableClock) -> [String] {
        guard ProfilePreflight.needsDirectory(certificates) else { return [] }
        let report: ProfilePreflight.Report
        do {
            let transport = try CurlTransport(caFile: config.caFile, cancellation: clock.httpCancellation)
            report = ProfilePreflight.check(certificates, directoryURL: config.directoryURL, transport: transport, clock: clock)
        } catch {
            print("Profiles: not checked: \(error)")
            return certificates.filter { $0.profile != nil }.map(\.name)
        }
        for line in report.lines { print(line) }
        return report.refused
    }
}
