import Dispatch
import FoundationEssentials
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `certagent run`: keeps every configured certificate renewed. One Dispatch timer (inside `RenewalScheduler`) is armed
/// for the next due event and nothing runs in between; SIGHUP reloads the config, SIGUSR1 (sent by commands that
/// changed a certificate) re-plans every certificate at once, SIGTERM/SIGINT stop cleanly;
/// systemd hears READY, STATUS, WATCHDOG and STOPPING over `$NOTIFY_SOCKET`; after each job (and at start, and after a
/// command changed certificates) the admin is told what changed (`notify`, see `NotificationService`).
public final class Daemon: Sendable {
    private let configPath: String
    private let logger: Logger
    private let clock: StoppableClock
    private let service: RenewalService
    /// Tells the admin (config `notify`) after each job; delivers on its own queue.
    private let notifications: NotificationService
    private let notifier: SystemdNotifier
    private let scheduler: Mutex<RenewalScheduler?> = Mutex(nil)
    private let signalQueue = DispatchQueue(label: "certagent.signals")
    /// SIGTERM and SIGINT have their own queue: a stop never waits behind a reload that is talking to the CA.
    private let stopQueue = DispatchQueue(label: "certagent.stop")
    private let watchdogQueue = DispatchQueue(label: "certagent.watchdog")
    private let sources = DispatchSourceKeeper()
    private let stopTimeout: TimeInterval
    /// The metrics file (`metricsFile`), written after every pass.
    private let metrics = MetricsWriter()
    /// What the sites serve: checked after each deploy and daily, beside the renewals (never in their way).
    private let siteChecks: SiteCheckRunner
    /// The start-up work, a reload or a re-plan in progress (on the main thread or the signal queue): a stop waits for
    /// it before the process exits.
    private let busy = DispatchGroup()

    /// Builds the daemon from an opened session; nothing runs until `start()`.
    public init(configPath: String, session: AgentSession, logger: Logger, clock: StoppableClock = StoppableClock(),
                notifier: SystemdNotifier = SystemdNotifier(), stopTimeout: TimeInterval = 10,
                preflight: (any CertificatePreflight)? = nil, fleet: FleetCoordinator? = nil) {
        self.configPath = configPath
        self.logger = logger
        self.clock = clock
        self.notifier = notifier
        self.stopTimeout = stopTimeout
        self.service = RenewalService(session: session, clock: clock, preflight: preflight, logger: logger, fleet: fleet)
        self.notifications = NotificationService(clock: clock, cancellation: clock.httpCancellation, logger: logger,
                                                 delivery: NotificationDelivery(logger: logger, isStopped: { clock.isStopped }),
                                                 siteFact: { name in SiteMismatch.notificationFact(for: name, in: session) })
        self.siteChecks = SiteCheckRunner(clock: clock, logger: logger)
        // Fleet mode: an etcd outage (and its end) is told through the notification channels, once each.
        if let fleet, let cluster = session.config.cluster {
            fleet.setAvailabilityHandler { [notifications, service] availability in
                notifications.tellFleet(availability, node: cluster.node, session: service.session)
            }
        }
    }

    /// Starts renewing: cleans up after an interrupted run, deploys, plans every certificate, installs the signal
    /// handlers and tells systemd it is ready. READY=1 (and the "started" log line) come only when all of that start-up
    /// work is done; the renewals due at start are the daemon's work and begin right after it. Returns at once; call
    /// `dispatchMain()` after it.
    public func start() {
        busy.enter()
        defer { busy.leave() }
        // Fleet mode: join, serve the fleet's challenges, and look at a certificate again whenever the fleet has a
        // new version of it; a node that was down catches up here, before anything is planned.
        service.fleet?.start { [weak self] name in self?.scheduler.withLock { $0 }?.reschedule(name, at: Date()) }
        service.followFleet()
        service.recoverInterruptedWork()
        service.deployCurrentCertificates()
        let config = service.session.config
        let made = RenewalScheduler(clock: clock, maxConcurrentRenewals: config.maxConcurrentRenewals,
                                    minimumRerunDelay: config.minimumRenewalInterval) { [service, notifications, siteChecks, weak self] run in
            // One pass: it reads the certificate's record and files once and says when it is next due.
            let pass = service.pass(run.name, forced: run.forced)
            var next = pass.nextDue
            if let certificate = service.session.config.certificate(named: run.name) {
                next = min(next, siteChecks.startIfDue(certificate, store: service.session.store, usable: pass.usable))
            }
            notifications.evaluate([run.name], session: service.session, retryAt: { _ in pass.nextDue })
            self?.writeMetrics()
            self?.publishStatus()
            // The job's last line: what comes next (until then the certificate costs nothing).
            self?.logger.info("next: \(run.name) \(pass.nextStep)")
            return next
        }
        scheduler.withLock { $0 = made }
        installSignalHandlers()
        // Only once SIGUSR1 is handled: commands that find the PID file send it.
        if case .running(let other) = DaemonPIDFile.liveness(storeRoot: service.session.store.root) {
            logger.warning("another certagent daemon (pid \(other)) runs on this store: commands will tell this one instead; run one daemon per store")
        }
        do { try DaemonPIDFile.write(storeRoot: service.session.store.root) } catch {
            logger.warning("commands cannot tell this daemon what they changed (it looks at each certificate at least daily): \(error)")
        }
        startWatchdog()
        // Connecting first lets the plan use the CA's renewal information; if the CA is unreachable, the lifetime rule
        // plans meanwhile and every later pass over a certificate tries to connect again.
        service.connectIfPossible()
        let plan = service.plan()
        // Everything start-up does is done before READY=1; after it nothing runs until something is due (the
        // scheduler's one timer, armed for the earliest renewal, ARI check, deploy retry or site check).
        // What is already wrong at start (failures a command recorded, a certificate at risk) is told now.
        notifications.evaluate(session: service.session, retryAt: { plan[$0] })
        writeMetrics()
        let schedule = startingDueSiteChecks(plan)
        notifier.status(statusLine(next: schedule.min { ($0.value, $0.key) < ($1.value, $1.key) }.map { (name: $0.key, date: $0.value) }))
        logger.notice("started", metadata: ["certificates": "\(config.certificates.count)", "config": "\(configPath)"])
        if let first = plan.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            logger.notice("next: \(first.key) \(service.nextStepText(of: first.key))")
        }
        notifier.ready()
        made.update(certificates: schedule)
    }

    /// Failed notification delivery attempts since the start (for metrics).
    public var notificationDeliveryFailures: Int { notifications.delivery.failedAttempts }

    /// A one-line summary for systemd's STATUS= and for the log.
    public func statusLine() -> String {
        statusLine(next: scheduler.withLock({ $0 })?.nextDue)
    }

    /// Counted from what the passes last found (`RenewalService.usableCount`): no certificate is read for it.
    private func statusLine(next: (name: String, date: Date)?) -> String {
        let names = service.session.config.certificates.map(\.name)
        var line = "\(service.usableCount(of: names)) of \(names.count) certificates healthy"
        if let next {
            line += "; next: \(next.name) at \(CertificateStatus.format(next.date))"
        }
        return line
    }

    /// After every pass: the metrics file, when `metricsFile` is configured.
    private func writeMetrics() {
        metrics.write(session: service.session, lastPass: Date(), notificationDeliveryFailures: notificationDeliveryFailures, logger: logger)
    }

    private func publishStatus() {
        notifier.status(statusLine())
    }

    // MARK: Signals

    private func installSignalHandlers() {
        var made: [any DispatchSourceProtocol] = []
        for number in [SIGHUP, SIGUSR1, SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: number == SIGHUP || number == SIGUSR1 ? signalQueue : stopQueue)
            source.setEventHandler { [weak self] in self?.handle(signal: number) }
            source.resume()
            made.append(source)
        }
        sources.keep(made)
    }

    private func handle(signal number: Int32) {
        switch number {
        case SIGHUP: reload()
        case SIGUSR1: replan()
        default: stop(exitCode: 0)
        }
    }

    /// Re-reads the config: certificates added or removed take effect at once; an invalid config is logged with every
    /// problem and the running one kept.
    public func reload() {
        busy.enter()
        defer { busy.leave() }
        guard !clock.isStopped else { return }
        notifier.reloading()
        defer {
            publishStatus()
            notifier.ready()
        }
        logger.notice("reloading the config", metadata: ["config": "\(configPath)"])
        do {
            let config = try ConfigLoader.load(path: configPath)
            let running = service.session.config
            // The store holds the account and every certificate web servers point at: moving it under a running
            // daemon would silently start over elsewhere. That takes a deliberate restart.
            guard config.storagePath == running.storagePath else {
                logger.error("the new config uses the store \(config.storagePath), the running one \(running.storagePath): keeping the running config; restart CertAgent to move the store")
                return
            }
            if config.maxConcurrentRenewals != running.maxConcurrentRenewals || config.minimumRenewalInterval != running.minimumRenewalInterval {
                logger.warning("maxConcurrentRenewals and minimumRenewalIntervalSeconds take effect at the next restart")
            }
            let session = try AgentSession(config: config, clock: clock, logger: logger)
            service.replaceSession(session)
            service.fleet?.responder.update(certificates: session.config.certificates)
            service.recoverInterruptedWork()
            service.deployCurrentCertificates()
            service.connectIfPossible()
            if let scheduler = scheduler.withLock({ $0 }) {
                // A certificate being renewed keeps its job's record and is rescheduled when that job ends.
                let running = scheduler.running
                var plan = service.plan(skipping: running)
                for name in running where config.certificate(named: name) != nil {
                    plan[name] = scheduler.schedule[name] ?? clock.now()
                }
                scheduler.update(certificates: startingDueSiteChecks(plan))
            } else {
                _ = startingDueSiteChecks([:])
            }
            logger.notice("config reloaded", metadata: ["certificates": "\(config.certificates.count)"])
            writeMetrics()
        } catch let error as ConfigError {
            for problem in error.problems { logger.error("\(error.file): \(problem)") }
            logger.error("the new config has \(error.problems.count) problem(s): keeping the running one")
        } catch {
            logger.error("cannot use the new config, keeping the running one: \(error)")
        }
    }

    /// Looks at every certificate again, at once, because a command changed the store (`revoke`, `renew`, `issue`,
    /// `rollback`: SIGUSR1, see `DaemonPIDFile`): a missing `current` link is linked again to a verified version, and
    /// each certificate is re-planned from the store and its record and the one timer re-armed — a revoked
    /// certificate is renewed now, a replaced one planned from its own lifetime. Runs on the signal queue, so requests
    /// that arrive together are handled by one pass (Dispatch merges pending signals) and never beside a reload. A
    /// certificate being renewed is left to its job, which plans it when it ends: no second issuance starts.
    public func replan() {
        busy.enter()
        defer { busy.leave() }
        guard !clock.isStopped, let scheduler = scheduler.withLock({ $0 }) else { return }
        logger.notice("a command changed certificates: looking at them again")
        service.recoverInterruptedWork()
        let running = scheduler.running
        let before = scheduler.schedule
        var plan: [String: Date] = [:]
        var nextSteps: [String: String] = [:]
        for certificate in service.session.config.certificates {
            if running.contains(certificate.name) {
                plan[certificate.name] = before[certificate.name] ?? clock.now()
            } else {
                (plan[certificate.name], nextSteps[certificate.name]) = service.outlook(of: certificate.name)
            }
        }
        scheduler.update(certificates: startingDueSiteChecks(plan))
        // What the command changed may be news for the admin (a failure it recorded, a recovery).
        notifications.evaluate(service.session.config.certificates.map(\.name).filter { !running.contains($0) },
                               session: service.session, retryAt: { plan[$0] })
        // The same line a job ends with: what comes next for each certificate.
        for (name, step) in nextSteps.sorted(by: { $0.key < $1.key }) {
            logger.info("next: \(name) \(step)")
        }
        publishStatus()
        writeMetrics()
    }

    /// Stops: every wait ends and the HTTP request in flight is aborted (within about a second, whatever the network
    /// does), so orders are abandoned with their challenge files removed; running work — renewals, the start-up work
    /// or a reload, the site check, notifications being delivered — is given `stopTimeout` seconds to wind up, and the
    /// process exits once none of it runs any more.
    public func stop(exitCode: Int32) -> Never {
        logger.notice("stopping")
        notifier.stopping()
        clock.stop()
        DaemonPIDFile.remove(storeRoot: service.session.store.root)
        let scheduler = scheduler.withLock { $0 }
        if let scheduler, !scheduler.stop(timeout: stopTimeout) {
            // Last resort, not expected to be reached: network waits and challenge files end at once on `clock.stop()`,
            // and a deployment's reload command is stopped within 2 s of it (the next start deploys again). Only local
            // work the stop cannot reach could get here — a key being generated, which takes well under the timeout
            // (the order is placed again at the next start). `_exit`, not `exit`: exit-time handlers (OpenSSL's cleanup) would run
            // under a thread still using them.
            logger.error("still busy after \(Int(stopTimeout)) s with \(scheduler.running.sorted().joined(separator: ", ")) (key generation): exiting without waiting for it")
            _exit(exitCode)
        }
        // Fleet mode: the files served for other nodes go, and the lease is revoked (this node's presence and locks too).
        service.fleet?.stop()
        // The rest was cut short by `clock.stop()` too (a TLS probe or a notification's request aborted, no new work
        // started) and ends within about a second. Exiting under it would run exit-time code beside it.
        let deadline = DispatchTime.now() + stopTimeout
        var unfinished: [String] = []
        if busy.wait(timeout: deadline) == .timedOut { unfinished.append("the start-up work or a reload") }
        if !siteChecks.waitIdle(until: deadline) { unfinished.append("a site check") }
        if !notifications.delivery.waitIdle(until: deadline) { unfinished.append("a notification delivery") }
        if !unfinished.isEmpty {
            logger.error("still busy after \(Int(stopTimeout)) s with \(unfinished.joined(separator: ", ")): exiting without waiting for it")
            _exit(exitCode)
        }
        logger.notice("stopped")
        exit(exitCode)
    }

    /// Queues the site check of every certificate whose check is due (never checked, deployed since, a day old) and
    /// returns `plan` with each certificate woken no later than its next site check (a re-check an hour after a
    /// deploy): one read of each `site.json`.
    private func startingDueSiteChecks(_ plan: [String: Date]) -> [String: Date] {
        let session = service.session
        var merged = plan
        for certificate in session.config.certificates {
            let due = siteChecks.startIfDue(certificate, store: session.store, usable: service.isUsable(certificate.name))
            if let at = plan[certificate.name] { merged[certificate.name] = min(at, due) }
        }
        return merged
    }

    // MARK: Watchdog

    /// Pings systemd every half `WatchdogSec=` from its own queue, so a long renewal never starves it.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval, interval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: watchdogQueue)
        timer.schedule(deadline: .now(), repeating: interval / 2, leeway: .milliseconds(Int(interval * 50)))
        timer.setEventHandler { [notifier] in notifier.watchdog() }
        timer.resume()
        sources.keep([timer])
    }
}

/// Keeps Dispatch sources alive for the daemon's lifetime (`DispatchSourceProtocol` values are not Sendable).
private final class DispatchSourceKeeper: @unchecked Sendable {
    private let lock = SharedLock()
    private var sources: [any DispatchSourceProtocol] = []

    func keep(_ more: [any DispatchSourceProtocol]) {
        lock.withLock { sources += more }
    }
}
