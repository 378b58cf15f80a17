import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// What `issue`, `init` and `renew` start from: the certificates named on the command line (all when none), and a
/// renewal service — the daemon's own code path — whose orders Ctrl-C or SIGTERM abandon cleanly.
struct RenewalCommandContext: Sendable {
    let selected: [CertificateConfig]
    let session: AgentSession
    let service: RenewalService
    /// Ctrl-C and SIGTERM: they stop the service's clock, aborting its requests and waits.
    let interruption: Interruption

    /// Exits with status 2 for unknown names and 1 when the store, master key or secrets cannot be opened.
    /// `skipPreflight`: `--skip-preflight`, order without the pre-flight check of a first certificate.
    init(config: AgentConfig, names: [String], skipPreflight: Bool = false, logger: Logger) throws {
        switch config.select(names) {
        case .success(let certificates): selected = certificates
        case .failure(let error):
            printError(error.description)
            throw ExitCode(2)
        }
        let clock = StoppableClock()
        interruption = Interruption(stopping: clock)
        do {
            session = try AgentSession(config: config, clock: clock, logger: logger)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let preflight: HTTP01Preflight?
        do {
            preflight = try HTTP01Preflight.forAgent(clock: clock, skip: skipPreflight)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        // A certificate another certagent process is getting right now is waited for, then decided again: usually the
        // other process got it, and a second order would only duplicate it.
        let waiting = BusyCertificateHandling.wait(maximumWait: Self.maximumLockWait) { busy in
            // Whole, between other certificates' results; shown now, even when stdout is a file.
            BatchOutput.shared.line("… \(busy.name): another certagent process\(busy.holderPID.map { " (pid \($0))" } ?? "") is getting it right now: waiting for it")
        }
        // A failure is told once, in the command's own summary; its log line is for --verbose.
        // Fleet mode (cluster): the fleet's lock, records and versions; the node's daemon serves the others' challenges.
        let fleet: FleetCoordinator?
        do { fleet = try FleetCoordinator.forSession(session, clock: clock, logger: logger, announces: false) } catch {
            printError("fleet mode (cluster): \(error)")
            throw ExitCode(1)
        }
        service = RenewalService(session: session, clock: clock, busyCertificates: waiting, failureLogLevel: .info,
                                 preflight: preflight, logger: logger, fleet: fleet)
        // As the daemon does at start: challenge files and directories a killed run left, and its in-flight marks.
        service.recoverInterruptedWork()
    }

    /// The longest a command waits for another process's issuance of the same certificate before giving up: far more
    /// than an order takes, and each pass over an unresponsive CA is bounded well below it.
    static let maximumLockWait: TimeInterval = 600

    /// What each selected certificate's forced renewal is about: the certificate stored now, as the command starts.
    /// `newKey`: each gets a new private key, even with `reuseKey` (`--new-key`).
    func forcedRenewals(newKey: Bool = false) -> [String: ForcedRenewal] {
        Dictionary(uniqueKeysWithValues: session.inspect(selected).map { ($0.0.name, ForcedRenewal(replacing: $0.1, newKey: newKey)) })
    }
}
