import ArgumentParser
import CertAgent
import Logging

/// What `issue`, `init` and `renew` start from: the certificates named on the command line (all when none), and a
/// renewal service — the daemon's own code path — whose orders Ctrl-C or SIGTERM abandon cleanly.
struct RenewalCommandContext {
    let selected: [CertificateConfig]
    let session: AgentSession
    let service: RenewalService
    /// Ctrl-C and SIGTERM: they stop the service's clock, aborting its requests and waits.
    let interruption: Interruption

    /// Exits with status 2 for unknown names and 1 when the store, master key or secrets cannot be opened.
    init(config: AgentConfig, names: [String], logger: Logger) throws {
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
        service = RenewalService(session: session, clock: clock, logger: logger)
    }
}
