import ArgumentParser
import CertAgent
import Dispatch

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the renewal daemon (systemd starts it): every certificate is renewed in time, by itself.",
        discussion: "SIGHUP reloads the config; SIGUSR1 looks at every certificate again at once (commands that change one send it to the PID recorded in the store's daemon.pid); SIGTERM or SIGINT stop cleanly. Under systemd (Type=notify) it reports readiness, status and watchdog pings.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let logger = options.logger(defaultLevel: .info)
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        let clock = StoppableClock()
        let session: AgentSession
        do {
            session = try AgentSession(config: config, clock: clock, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        // Before a first order, as the commands do (CERTAGENT_SKIP_PREFLIGHT=1 turns it off).
        let preflight: HTTP01Preflight?
        do { preflight = try HTTP01Preflight.forAgent(clock: clock, skip: false) } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        let fleet: FleetCoordinator?
        do { fleet = try FleetCoordinator.forSession(session, clock: clock, logger: logger, announces: true) } catch {
            logger.critical("cannot start: fleet mode (cluster): \(error)")
            throw ExitCode(1)
        }
        let daemon = Daemon(configPath: options.configPath, session: session, logger: logger, clock: clock, preflight: preflight, fleet: fleet)
        daemon.start()
        dispatchMain()
    }
}
