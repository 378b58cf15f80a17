import ACME
import CertCrypto
import FoundationEssentials
import Logging
import Synchronization

/// What one pass over a certificate did.
public enum RenewalOutcome: Sendable {
    /// A new certificate was issued, verified and made current (and deployed, unless `deployError` says otherwise).
    case renewed(IssuedCertificate, deployError: String?)
    /// Nothing was due; the decision says what comes next.
    case notDue(RenewalDecision)
    /// The renewal failed; it is retried at `retryAt` (backoff, or the CA's Retry-After).
    case failed(error: String, retryAt: Date)
    /// Stopping (SIGTERM, Ctrl-C): the work was cut short — an order abandoned with its challenge files removed, or a
    /// decision left unfinished (never reported as "not due"); not counted as a failure.
    case interrupted
    /// Another certagent process is getting this certificate right now; nothing was done (not a failure).
    case busy(CertificateBusy)
    /// Another certagent process stored a new certificate after this pass began (seen when deciding again under the
    /// issuance lock); nothing was ordered.
    case obtainedElsewhere(ObtainedElsewhere)
    /// Fleet mode: another node holds the certificate's lock, or etcd does not answer; nothing was ordered, the
    /// certificate served stays (not a failure). The text says which.
    case fleetWaiting(String)
}

/// Renews certificates when the policy says: ARI (RFC 9773) when the CA offers it, else by lifetime; with backoff
/// after failures, persisted per certificate; deploying each new certificate. The daemon's scheduler calls
/// `process` for each due certificate, and `certagent renew` calls it directly — one code path for both.
public final class RenewalService: Sendable {
    private struct Connection {
        var issuer: CertificateIssuer
        var ariSupported: Bool
    }

    private let sessionState: Mutex<AgentSession>
    /// One connection per CA (directory URL), made when first needed.
    private let connections = Mutex<[String: Connection]>([:])
    /// Held while a connection is made: orders running side by side that all need one wait for the first to make it
    /// (one account key, one account lookup), then share it. A new session (a reload) gets a new gate, so its
    /// connection never waits behind one the old session is still making.
    private let connectGate = Mutex(ConnectGate())

    private final class ConnectGate: Sendable {
        let lock = Mutex<Void>(())
    }
    /// Whether each certificate was usable when a decision was last made about it: what the daemon's status line
    /// counts, without reading every certificate again.
    private let usableAtLastDecision = Mutex<[String: Bool]>([:])
    private let clock: any AgentClock
    private let random: any RandomSource
    private let policy: RenewalPolicy
    private let busyCertificates: BusyCertificateHandling
    private let failureLogLevel: Logger.Level
    private let preflight: (any CertificatePreflight)?
    private let logger: Logger
    /// Fleet mode (config `cluster`): the fleet's lock, records and versions; nil on a single server.
    public let fleet: FleetCoordinator?

    /// `failureLogLevel`: the level a failed renewal is logged at — `error` in the daemon, where the log is the report;
    /// lower in a command, whose own summary reports it (the log line is then for `--verbose`), so it is told once.
    public init(session: AgentSession, clock: any AgentClock, random: any RandomSource = SystemRandomSource(),
                policy: RenewalPolicy = RenewalPolicy(), busyCertificates: BusyCertificateHandling = .skip,
                failureLogLevel: Logger.Level = .error, preflight: (any CertificatePreflight)? = nil, logger: Logger,
                fleet: FleetCoordinator? = nil) {
        self.fleet = fleet
        self.failureLogLevel = failureLogLevel
        self.preflight = preflight
        self.sessionState = Mutex(session)
        self.clock = clock
        self.random = random
        self.policy = policy
        self.busyCertificates = busyCertificates
        self.logger = logger
    }

    /// The session in use (replaced on a config reload).
    public var session: AgentSession { sessionState.withLock { $0 } }

    /// Uses a new session (after SIGHUP); the ACME connection is rebuilt when the CA or account settings changed.
    public func replaceSession(_ session: AgentSession) {
        let previous = sessionState.withLock { state in
            defer { state = session }
            return state
        }
        connectGate.withLock { $0 = ConnectGate() }
        if previous.config.directoryURL != session.config.directoryURL || previous.config.caFile != session.config.caFile
            || previous.config.storagePath != session.config.storagePath || previous.config.emails != session.config.emails
            || previous.config.preferredChain != session.config.preferredChain
            || previous.config.externalAccountBinding != session.config.externalAccountBinding
            || previous.config.certificateAuthorities != session.config.certificateAuthorities {
            connections.withLock { $0 = [:] }
        }
    }

    private var records: RenewalRecordStore { RenewalRecordStore(store: session.store) }

    /// Connects to `authority` (directory, account) once, and again after a failure or when the account key was
    /// rolled over or retired since.
    private func connect(to authority: CertificateAuthorityConfig) throws -> Connection {
        func current() -> Connection? {
            guard let existing = connections.withLock({ $0[authority.directoryURL] }), existing.issuer.accountKey?.isOutdated != true else { return nil }
            return existing
        }
        if let existing = current() { return existing }
        let gate = connectGate.withLock { $0 }
        return try gate.lock.withLock { _ in
            if let made = current() { return made }   // made by another order while this one waited
            return try makeConnection(to: authority, gate: gate)
        }
    }

    private func makeConnection(to authority: CertificateAuthorityConfig, gate: ConnectGate) throws -> Connection {
        // Fleet mode: the fleet's one account (adopted, or registered here and published), never one per node.
        let issuer = try fleet?.withFleetAccount(directoryURL: authority.directoryURL, store: session.store, masterKey: session.secrets.masterKey) {
            try session.connect(to: authority, logger: logger)
        } ?? session.connect(to: authority, logger: logger)
        let ari = (try? issuer.client.directory().renewalInfo) != nil
        let made = Connection(issuer: issuer, ariSupported: ari)
        // Kept only while its session is current: one a reload replaced meanwhile is not shared.
        if connectGate.withLock({ $0 === gate }) { connections.withLock { $0[authority.directoryURL] = made } }
        logger.info("connected to the ACME server", metadata: ["directory": "\(authority.directoryURL)", "ari": "\(ari)"])
        if !issuer.isFallback { warnOfProfileProblems(issuer.client) }
        return made
    }

    /// Says at once, on connecting to the primary CA, which certificates it will refuse for their profile
    /// (`CertificateProfile`): each also fails when its renewal comes, but the admin should not learn it then.
    private func warnOfProfileProblems(_ client: ACMEClient) {
        guard let directory = try? client.directory() else { return }
        let offered = directory.meta?.profiles
        for certificate in session.config.certificates {
            if let problem = CertificateProfile.problem(with: certificate, directoryURL: client.directoryURL, offered: offered) {
                logger.warning("\(problem)", metadata: ["certificate": "\(certificate.name)"])
            }
        }
    }

    /// Connects to the primary CA now if possible (so planning can use ARI); a failure is logged and retried by the
    /// first renewal.
    public func connectIfPossible() { connectIfPossible(to: session.config.primaryAuthority) }

    private func connectIfPossible(to authority: CertificateAuthorityConfig) {
        do { _ = try connect(to: authority) } catch where clock.isStopped {
            // Cut short by a stop: the caller reports the interruption.
        } catch { logger.log(level: min(.warning, failureLogLevel), "cannot reach the ACME server \(authority.directoryURL) yet: \(error)") }
    }

    /// Whether the primary CA offers ARI, when known (nil before the first connection).
    public var ariSupported: Bool? { ariSupported(by: session.config.primaryAuthority) }

    /// Whether `authority` offers ARI, when known (nil before the first connection to it).
    private func ariSupported(by authority: CertificateAuthorityConfig) -> Bool? {
        connections.withLock { $0[authority.directoryURL]?.ariSupported }
    }

    /// The configured CA that issued the certificate stored for `name` (`AgentSession.issuingAuthority(of:)`).
    private func issuingAuthority(of name: String) -> CertificateAuthorityConfig? { session.issuingAuthority(of: name) }

    /// Cleans up after a previous run that stopped mid-order: challenge files it left, and its in-flight mark.
    public func recoverInterruptedWork() {
        let session = self.session
        for certificate in session.config.certificates {
            var logger = logger
            logger[metadataKey: "certificate"] = "\(certificate.name)"
            // Nothing left behind (the usual case): no lock taken, nothing written.
            let journal = session.store.challengeJournal(certificate.name)
            guard FileIdentity.of(journal) != nil || session.store.currentLinkIsMissing(certificate.name)
                    || records.hasOrderInFlight(certificate.name) else { continue }
            // A certificate another process is issuing right now is its business: its files are live, not leftovers.
            guard let lock = try? session.store.lockForIssuance(certificate.name) else { continue }
            defer { withExtendedLifetime(lock) {} }
            let removed = ChallengeJournal.removeLeftovers(journal: journal,
                                                           webroots: Array(certificate.webroots.values))
            for file in removed { logger.warning("removed a challenge file left by an interrupted run", metadata: ["file": "\(file)"]) }
            var record = loadRecord(certificate.name, logger: logger)
            if let since = record.inFlightSince {
                logger.warning("an order was in flight when CertAgent stopped (started \(TimeText.human(since))): abandoning it; a new one is placed when due")
                record.inFlightSince = nil
                save(record, for: certificate.name, logger: logger)
            }
            relinkMissingCurrent(certificate, logger: logger)
        }
    }

    /// Links a verified, still-valid version as `current` again when the link is missing (`CurrentLinkRecovery`), says
    /// so, and deploys it: a lost link never costs an order. Call while holding the certificate's issuance lock.
    private func relinkMissingCurrent(_ certificate: CertificateConfig, logger: Logger) {
        do {
            guard let choice = try CurrentLinkRecovery.relinkIfMissing(certificate, in: session.store, now: clock.now(),
                                                                       rule: policy.lifetimeRule) else { return }
            logger.warning("the current link was missing: linked it again to the stored version \(choice.description); nothing ordered")
            var record = loadRecord(certificate.name, logger: logger)
            let before = record
            _ = deploy(certificate, record: &record, logger: logger)
            if record != before { save(record, for: certificate.name, logger: logger) }
        } catch {
            logger.error("the current link is missing and could not be linked again: \(error)")
        }
    }

    /// Brings every `install` target up to date with the current certificate (at start and after a config reload, so a
    /// new or changed install block takes effect without waiting for the next renewal). Unchanged files are left
    /// alone and the reload command runs only when a file changed.
    public func deployCurrentCertificates() {
        let session = self.session
        for certificate in session.config.certificates where certificate.install != nil {
            guard StoredCertificateState.inspect(certificate, in: session.store, now: clock.now()).isUsable,
                  let lock = try? session.store.lockForIssuance(certificate.name) else { continue }
            defer { withExtendedLifetime(lock) {} }
            var logger = logger
            logger[metadataKey: "certificate"] = "\(certificate.name)"
            var record = loadRecord(certificate.name, logger: logger)
            let before = record
            _ = deploy(certificate, record: &record, logger: logger)
            if record != before { save(record, for: certificate.name, logger: logger) }
        }
    }

    /// When each configured certificate is next due, without contacting the CA unless already connected.
    /// Certificates in `skipping` (being renewed right now) are left out: their job owns their record.
    public func plan(skipping: Set<String> = []) -> [String: Date] {
        var plan: [String: Date] = [:]
        for certificate in session.config.certificates where !skipping.contains(certificate.name) {
            plan[certificate.name] = decide(certificate, forcing: nil, logger: logger).decision.wakeAt
        }
        return plan
    }

    /// The decision for `certificate` now, with the record it was made from (saved when the decision changed it).
    /// `forcing`: the admin's forced renewal, if any (see `ForcedRenewal`).
    public func decide(_ certificate: CertificateConfig, forcing: ForcedRenewal?, logger: Logger)
        -> (decision: RenewalDecision, state: StoredCertificateState, record: RenewalRecord) {
        let record = loadRecord(certificate.name, logger: logger)
        return decide(certificate, record: record, saved: record, forcing: forcing, logger: logger)
    }

    /// The decision for `certificate` from `record` (what this pass knows of it), saved when it differs from `saved`
    /// (what the store holds): a pass reads the record once and writes it at most once per decision. The stored
    /// certificate is inspected with the record's `certificateSummary`, which the decision's record carries, updated.
    private func decide(_ certificate: CertificateConfig, record: RenewalRecord, saved: RenewalRecord, forcing: ForcedRenewal?,
                        logger: Logger) -> (decision: RenewalDecision, state: StoredCertificateState, record: RenewalRecord) {
        let now = clock.now()
        let (state, summary) = StoredCertificateState.inspect(certificate, in: session.store, now: now, summary: record.certificateSummary)
        var record = record
        record.certificateSummary = summary
        // The issuance facts, read once: the issuing CA (`AgentSession.issuingAuthority(of:)`) and the profile.
        let facts = session.store.issuanceFacts(of: certificate.name)
        let issuing: CertificateAuthorityConfig? = if let facts {
            session.config.certificateAuthority(directoryURL: facts.directoryURL)
        } else {
            session.config.primaryAuthority
        }
        let ari = issuing.flatMap { ariSupported(by: $0) } ?? false
        let decision = policy.decide(state: state, record: record, ariSupported: ari, now: now,
                                     random: random, forcing: forcing,
                                     profileChange: ProfileChange.between(configured: certificate.profile, facts: facts,
                                                                          primaryDirectoryURL: session.config.directoryURL))
        if decision.record != saved { save(decision.record, for: certificate.name, logger: logger) }
        usableAtLastDecision.withLock { $0[certificate.name] = state.isUsable }
        return (decision, state, decision.record)
    }

    /// How many of `names` were usable when last decided about (never-decided ones count as not usable), for the
    /// daemon's status line: known from the passes, nothing is read.
    public func usableCount(of names: [String]) -> Int {
        usableAtLastDecision.withLock { known in names.filter { known[$0] == true }.count }
    }

    /// Whether the last decision about `name` found its certificate usable (nothing is read for it).
    public func isUsable(_ name: String) -> Bool {
        usableAtLastDecision.withLock { $0[name] == true }
    }

    /// Does whatever is due for the certificate `name` now: an ARI check, a renewal, a deployment retry.
    /// `forced`: renew the certificate stored now, whatever its schedule and backoff.
    /// Returns the outcome; `nextDue(of:)` says when to look again.
    @discardableResult
    public func process(_ name: String, forced: Bool = false) -> RenewalOutcome {
        let forcing = forced ? session.config.certificate(named: name).map {
            ForcedRenewal(replacing: StoredCertificateState.inspect($0, in: session.store, now: clock.now()))
        } : nil
        return process(name, forcing: forcing)
    }

    /// `process(_:forced:)` for a forced renewal of the certificate stored when the command started (`forcing`): when
    /// another process has replaced that one meanwhile, nothing is ordered and the outcome says so.
    @discardableResult
    public func process(_ name: String, forcing: ForcedRenewal?) -> RenewalOutcome {
        guard let certificate = session.config.certificate(named: name) else {
            return .notDue(RenewalDecision(action: .renewAt(.distantFuture, .forced), wakeAt: .distantFuture,
                                           heldBackByFailures: false, record: RenewalRecord()))
        }
        guard !clock.isStopped else { return .interrupted }
        var logger = logger
        logger[metadataKey: "certificate"] = "\(name)"
        if fleet != nil, let waiting = followFleet(certificate, logger: logger) { return waiting }
        // Without a connection the policy cannot know the CA offers ARI, and could miss a window that has started.
        if let issuing = issuingAuthority(of: name), ariSupported(by: issuing) == nil { connectIfPossible(to: issuing) }
        // The record is read once (again only after an ARI fetch changed it); each step that changes it saves it once.
        var saved = loadRecord(name, logger: logger)
        saved = retryDeploymentIfDue(certificate, record: saved, logger: logger)
        // A `current` link deleted since the last look: a verified version on disk is linked again, not re-ordered.
        if session.store.currentLinkIsMissing(name), let lock = try? session.store.lockForIssuance(name) {
            withExtendedLifetime(lock) { relinkMissingCurrent(certificate, logger: logger) }
            saved = loadRecord(name, logger: logger)   // the relink may have deployed
        }
        var (decision, state, record) = decide(certificate, record: saved, saved: saved, forcing: forcing, logger: logger)
        if case .checkRenewalInfo(let at) = decision.action, at <= clock.now(), let leaf = state.leaf,
           let issuing = issuingAuthority(of: name) {
            checkRenewalInfo(leaf: leaf, record: &record, at: issuing, logger: logger)
            // Saved, and decided on as read back: the times the decision returns are those a later pass or `status`
            // reads (the file keeps milliseconds).
            save(record, for: name, logger: logger)
            saved = loadRecord(name, logger: logger)
            (decision, state, record) = decide(certificate, record: saved, saved: saved, forcing: forcing, logger: logger)
        }
        // A decision a stop cut short (no connection, no renewal information) is no decision: never "not due".
        guard !clock.isStopped else { return .interrupted }
        guard case .renewNow = decision.action else {
            return obtainedElsewhere(certificate, seen: forcing, now: state, logger: logger) ?? .notDue(decision)
        }
        return renew(certificate, seen: forcing ?? ForcedRenewal(replacing: state), forcing: forcing, logger: logger)
    }

    /// `.obtainedElsewhere` when the store, now in `state`, holds a usable certificate other than the one `seen`
    /// (the certificate this pass or the admin's command started from); nil otherwise.
    private func obtainedElsewhere(_ certificate: CertificateConfig, seen: ForcedRenewal?, now state: StoredCertificateState,
                                   logger: Logger) -> RenewalOutcome? {
        guard let seen, seen.isFulfilled(by: state), let leaf = state.leaf else { return nil }
        let elsewhere = ObtainedElsewhere(name: certificate.name, holderPID: session.store.lastIssuanceHolder(certificate.name),
                                          serialHex: leaf.serialHex, notAfter: leaf.notAfter)
        logger.notice("\(elsewhere)")
        return .obtainedElsewhere(elsewhere)
    }

    /// What happens next to `name`, in words after its name ("renews at 2026-12-03 10:00 UTC (…)"), for the daemon's
    /// log: a pending deployment retry when it comes first.
    public func nextStepText(of name: String) -> String {
        guard let certificate = session.config.certificate(named: name) else { return NextStep(action: .none, at: nil, reason: nil).text }
        return Self.nextStepText(decide(certificate, forcing: nil, logger: logger).decision)
    }

    /// When `name` should next be looked at.
    public func nextDue(of name: String) -> Date {
        guard let certificate = session.config.certificate(named: name) else { return .distantFuture }
        return Self.nextDue(decide(certificate, forcing: nil, logger: logger).decision)
    }

    /// `nextDue(of:)` and `nextStepText(of:)` from one decision.
    public func outlook(of name: String) -> (nextDue: Date, nextStep: String) {
        guard let certificate = session.config.certificate(named: name) else {
            return (.distantFuture, NextStep(action: .none, at: nil, reason: nil).text)
        }
        let decision = decide(certificate, forcing: nil, logger: logger).decision
        return (Self.nextDue(decision), Self.nextStepText(decision))
    }

    /// `nextStepText(of:)` from a decision already made.
    static func nextStepText(_ decision: RenewalDecision) -> String {
        let record = decision.record
        if let deployRetry = record.nextDeployAttempt, record.deployError != nil, deployRetry < decision.wakeAt {
            return "retries its deployment at \(TimeText.human(deployRetry))"
        }
        return NextStep(decision).text
    }

    /// `nextDue(of:)` from a decision already made: its wake-up time, or a pending deployment retry when sooner.
    static func nextDue(_ decision: RenewalDecision) -> Date {
        let record = decision.record
        guard let deployRetry = record.nextDeployAttempt, record.deployError != nil else { return decision.wakeAt }
        return min(decision.wakeAt, deployRetry)
    }

    /// What one daemon job over a certificate did and what comes next.
    public struct PassResult: Sendable {
        public var outcome: RenewalOutcome
        /// When the certificate is next due (`nextDue(of:)`).
        public var nextDue: Date
        /// What comes next, in words (`nextStepText(of:)`).
        public var nextStep: String
        /// Whether the stored certificate was usable at the end of the pass.
        public var usable: Bool
    }

    /// The daemon's job for `name`: `process(_:forced:)`, then when it is next due and what comes next, from what the
    /// pass already knows — a pass that found nothing due reads nothing again; one that renewed, failed or was cut
    /// short decides once more, from the record as it left it.
    public func pass(_ name: String, forced: Bool = false) -> PassResult {
        let outcome = process(name, forced: forced)
        let decision: RenewalDecision
        if case .notDue(let known) = outcome {
            decision = known
        } else if let certificate = session.config.certificate(named: name) {
            decision = decide(certificate, forcing: nil, logger: logger).decision
        } else {
            return PassResult(outcome: outcome, nextDue: .distantFuture, nextStep: NextStep(action: .none, at: nil, reason: nil).text, usable: false)
        }
        let usable = usableAtLastDecision.withLock { $0[name] ?? false }
        return PassResult(outcome: outcome, nextDue: Self.nextDue(decision), nextStep: Self.nextStepText(decision), usable: usable)
    }

    /// Renews `certificate`, decided due from the store holding the certificate `seen`. The decision is made again
    /// under the issuance lock, from the store and record as they are then: another process may have renewed it
    /// between the first decision and the lock.
    private func renew(_ certificate: CertificateConfig, seen: ForcedRenewal, forcing: ForcedRenewal?,
                       logger: Logger) -> RenewalOutcome {
        // The lock first: while another process holds it, its record and files are not ours to touch.
        let lock: FileLock
        switch lockForOrdering(certificate, logger: logger) {
        case .success(let held): lock = held
        case .failure(let outcome): return outcome.outcome
        }
        defer { withExtendedLifetime(lock) {} }
        // Fleet mode: the fleet's lock too, and the fleet's newest version first (another node may just have renewed).
        var fleetLock: FleetHeldLock?
        if let fleet {
            switch fleet.lockForOrdering(certificate.name) {
            case .success(let held): fleetLock = held
            case .failure(let waiting):
                logger.notice("\(waiting)")
                return .fleetWaiting("\(waiting)")
            }
            if let waiting = followFleet(certificate, logger: logger) {
                fleetLock.map(fleet.release)
                return waiting
            }
        }
        defer { if let fleet, let fleetLock { fleet.release(fleetLock) } }
        relinkMissingCurrent(certificate, logger: logger)   // a link lost while another process held the lock
        // Read under the lock: fresh, now that nobody else can change it.
        let (decision, state, lockedRecord) = decide(certificate, forcing: forcing, logger: logger)
        guard case .renewNow(let reason) = decision.action else {
            return obtainedElsewhere(certificate, seen: seen, now: state, logger: logger) ?? .notDue(decision)
        }
        session.store.noteIssuanceHolder(certificate.name)
        var record = lockedRecord
        logger.notice("\(Self.startLine(reason: reason, state: state))")
        let authorities = session.config.certificateAuthorities
        let choice = CertificateAuthorityFallback.choose(
            authorities: authorities.map(\.directoryURL), record: record, fallbackAfterFailures: session.config.fallbackAfterFailures,
            retryAfterCap: policy.retryAfterCap(for: state, failedAt: FailureBackoff.failureTime(of: record, now: clock.now())), now: clock.now())
        let authority = authorities[choice.index]
        if authorities.count > 1 { logger.notice("ordering from \(choice)") }
        record.inFlightSince = clock.now()
        save(record, for: certificate.name, logger: logger)
        do {
            // Before a first order (no usable certificate): a site that cannot serve the challenge is not ordered for.
            if !state.isUsable, let preflight {
                let report = try preflight.check(certificate, journal: session.store.challengeJournal(certificate.name))
                guard report.passed else { throw PreflightFailure(report: report) }
                logger.info("pre-flight check passed", metadata: ["addresses": "\(report.names.map(\.addresses.count).reduce(0, +))"])
            }
            let connection = try connect(to: authority)
            // ARI `replaces` (RFC 9773 §5) only to the CA that issued the certificate being replaced, and only from the
            // account that ordered it when that is known (a CA may refuse to let another account replace it: an imported
            // certificate whose account stayed behind, an account retired since).
            let sameCA = issuingAuthority(of: certificate.name)?.directoryURL == authority.directoryURL
            let orderedBy = session.store.issuanceFacts(of: certificate.name)?.accountURL
            let sameAccount = orderedBy == nil || orderedBy == connection.issuer.client.accountURL
            let replaces = connection.ariSupported && sameCA && sameAccount ? state.leaf?.ariCertificateIdentifier : nil
            var issuer = connection.issuer
            if let fleet { issuer.fleetSolver = { name, local in fleet.solver(for: name, local: local) } }
            var issued = try issuer.issue(certificate, replaces: replaces, lock: lock, newKey: forcing?.newKey ?? false, logger: logger)
            record.inFlightSince = nil
            record.recordSuccess(at: clock.now())
            var publishedVersion: String?
            if let fleet, let fleetLock {
                do {
                    let version = try fleet.publishCurrent(certificate.name, store: session.store, lock: fleetLock, record: record,
                                                           directoryURL: authority.directoryURL)
                    publishedVersion = version
                    logger.notice("published to the fleet", metadata: ["version": "\(version)"])
                } catch {
                    logger.error("the new certificate is served here, but could not be published to the fleet: \(error)")
                }
            }
            // The new certificate's summary: the next pass, start-up or `status` need not read its key again.
            record.certificateSummary = StoredCertificateState.inspect(certificate, in: session.store, now: clock.now(), summary: nil).summary
            let deployError = deploy(certificate, record: &record, logger: logger) { issued.deployment = $0 }
            if certificate.install == nil { noteDeploy(certificate.name, logger: logger) }   // served from the store: in place now
            if let fleet, let publishedVersion {
                try? fleet.distribution.noteDeployed(certificate.name, version: publishedVersion, error: deployError, now: clock.now())
            }
            save(record, for: certificate.name, logger: logger)
            return .renewed(issued, deployError: deployError)
        } catch where clock.isStopped {
            record.inFlightSince = nil
            save(record, for: certificate.name, logger: logger)
            logger.notice("renewal interrupted by shutdown: the order is abandoned and placed again at the next start")
            return .interrupted
        } catch {
            if error is IssuanceError == false, error is PreflightFailure == false {
                connections.withLock { $0[authority.directoryURL] = nil }   // reconnect next time
            }
            // The certificate's name is already in the log metadata and in the caller's summary.
            let message = (error as? IssuanceError).map { "\($0.underlying)" } ?? "\(error)"
            record.inFlightSince = nil
            let asked = Self.retryAfter(of: error)
            let cap = policy.retryAfterCap(for: state, failedAt: clock.now())
            let next: CertificateAuthorityFallback.Choice
            (record, next) = CertificateAuthorityFallback.recordingFailure(
                message, at: authority.directoryURL, retryAfter: asked, in: record, authorities: authorities.map(\.directoryURL),
                fallbackAfterFailures: session.config.fallbackAfterFailures, retryAfterCap: cap, now: clock.now(),
                blamesCA: CertificateAuthorityFallback.blamesCertificateAuthority(error))
            save(record, for: certificate.name, logger: logger)
            if next.directoryURL != authority.directoryURL {
                logger.warning("the next attempt goes to \(next)")
            } else if let asked, asked > cap.latest {
                logger.warning("the CA asked to wait until \(CertificateStatus.format(asked)); waiting until \(CertificateStatus.format(cap.latest)) instead (cap: \(cap.reason))")
            }
            let retryAt = FailureBackoff.nextAttempt(for: record, now: clock.now(), retryAfterCap: cap) ?? clock.now()
            logger.log(level: failureLogLevel, "\(state.isUsable ? "renewal" : "issuance") failed (attempt \(record.failures)); the daemon retries at \(TimeText.human(retryAt))",
                       metadata: ["error": "\(message)"])
            return .failed(error: message, retryAt: retryAt)
        }
    }

    /// The log line that starts an order: a first certificate is issued, not renewed; a forced one says so.
    static func startLine(reason: RenewalReason, state: StoredCertificateState) -> String {
        if case .missing = state { return "issuing the first certificate" + (reason == .forced ? " (asked for now)" : "") }
        if reason == .forced, !state.isUsable { return "getting a new certificate (asked for now): \(state)" }
        return "renewing: \(reason)"
    }

    /// Why no lock was taken: the outcome to report instead.
    private struct NotLocked: Error {
        let outcome: RenewalOutcome
    }

    /// Takes the issuance lock of `certificate`; when another process holds it, gives up or waits as
    /// `busyCertificates` says.
    private func lockForOrdering(_ certificate: CertificateConfig, logger: Logger) -> Result<FileLock, NotLocked> {
        var announced = false
        let started = clock.now()
        while true {
            do {
                return .success(try session.store.lockForIssuance(certificate.name))
            } catch let busy as CertificateBusy {
                guard case .wait(let maximumWait, let announce) = busyCertificates,
                      clock.now().timeIntervalSince(started) < maximumWait else {
                    logger.notice("\(busy)")
                    return .failure(NotLocked(outcome: .busy(busy)))
                }
                if !announced {
                    announced = true
                    logger.info("waiting for the issuance lock: \(busy)")
                    announce(busy)
                }
                do { try clock.sleep(seconds: Self.lockPollInterval) } catch {
                    logger.notice("stopped while waiting for another certagent process: nothing ordered")
                    return .failure(NotLocked(outcome: .interrupted))
                }
            } catch {
                logger.log(level: failureLogLevel, "cannot lock the certificate for issuance: \(error)")
                return .failure(NotLocked(outcome: .failed(error: "\(error)",
                                                           retryAt: clock.now().addingTimeInterval(FailureBackoff.delay(afterFailures: 1)))))
            }
        }
    }

    /// How often a waiting command tries the issuance lock again.
    static let lockPollInterval: TimeInterval = 0.2

    /// Copies the new files to their install targets and runs the reload command; a failure is kept for retry.
    /// `done` receives what the installation did, when it succeeded.
    private func deploy(_ certificate: CertificateConfig, record: inout RenewalRecord, logger: Logger,
                        done: (InstallReport) -> Void = { _ in }) -> String? {
        guard let install = certificate.install, let files = session.store.currentFiles(certificate.name) else { return nil }
        let version = (try? session.store.linkedVersion(certificate.name)).map { PathText.lastComponent($0.directory) }
        do {
            let report = try CertificateInstaller.install(files: files, config: install, name: certificate.name, domains: certificate.domains,
                                                          versionChanged: version == nil || version != record.deployedVersion
                                                              || install.reload?.arguments != record.deployedReload,
                                                          shouldStop: { clock.isStopped })
            if report.changed || report.reloaded {
                logger.notice("deployed", metadata: ["written": "\(report.written.count)", "reloaded": "\(report.reloaded)"])
                noteDeploy(certificate.name, logger: logger)
            }
            done(report)
            record.deployError = nil
            record.nextDeployAttempt = nil
            record.deployedVersion = version
            record.deployedReload = install.reload?.arguments
            return nil
        } catch {
            let message = "\(error)"
            record.deployError = message
            record.nextDeployAttempt = clock.now().addingTimeInterval(Self.deployRetryDelay)
            if clock.isStopped {
                // A stop cut the reload short: not a failure of the admin's command, and the next start deploys again.
                logger.notice("deployment cut short by the stop; the next start deploys again", metadata: ["error": "\(message)"])
                return message
            }
            logger.log(level: failureLogLevel, "deployment failed; the stored certificate stays and the daemon retries the deployment in \(Int(Self.deployRetryDelay / 60)) min",
                         metadata: ["error": "\(message)"])
            return message
        }
    }

    /// Records the time of a successful deploy for the site check (`site.json`), which then checks the site again.
    private func noteDeploy(_ name: String, logger: Logger) {
        do { try SiteCheckStore(store: session.store).noteDeploy(name, at: clock.now()) } catch {
            logger.warning("cannot record the deploy time for the site check: \(error)")
        }
    }

    /// How long after a failed deployment it is tried again.
    public static let deployRetryDelay: TimeInterval = 300

    /// Deploys again when a failed deployment is due for a retry; returns the record as saved after it.
    private func retryDeploymentIfDue(_ certificate: CertificateConfig, record: RenewalRecord, logger: Logger) -> RenewalRecord {
        guard record.deployError != nil, let at = record.nextDeployAttempt, at <= clock.now() else { return record }
        var record = record
        logger.info("retrying the failed deployment")
        _ = deploy(certificate, record: &record, logger: logger)
        save(record, for: certificate.name, logger: logger)
        return record
    }

    /// Fetches renewal information for `leaf` from `authority`, the CA that issued it (RFC 9773 §4.3), into `record`
    /// (the caller saves it).
    private func checkRenewalInfo(leaf: Certificate, record: inout RenewalRecord, at authority: CertificateAuthorityConfig,
                                  logger: Logger) {
        guard let certificateID = leaf.ariCertificateIdentifier else { return }
        do {
            let info = try connect(to: authority).issuer.client.renewalInfo(certificateID: certificateID)
            record.recordRenewalInfo(info, certificateID: certificateID, at: clock.now())
            logger.info("renewal information: window \(TimeText.human(info.windowStart)) – \(TimeText.human(info.windowEnd))")
            let latest = policy.lifetimeRule.latestRenewal(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
            if info.windowEnd > latest {
                logger.warning("the CA's suggested window ends \(CertificateStatus.format(info.windowEnd)), after the certificate's latest safe renewal time: renewing by \(CertificateStatus.format(latest)) instead")
            }
            Self.logCappedRetryAfter(info.retryAfter, logger: logger)
        } catch where clock.isStopped {
            return   // cut short by a stop: not a failure of the CA
        } catch {
            let retryAfter = Self.retryAfter(of: error).map { $0.timeIntervalSince(clock.now()) }
            record.recordRenewalInfoFailure(certificateID: certificateID, retryAfter: retryAfter, at: clock.now())
            logger.warning("could not fetch renewal information: \(error)")
            Self.logCappedRetryAfter(retryAfter, logger: logger)
        }
    }

    /// Says so when a renewal-information `Retry-After` is beyond what RFC 9773 §4.3 lets a client honour (a day).
    private static func logCappedRetryAfter(_ seconds: TimeInterval?, logger: Logger) {
        guard let seconds, seconds > RenewalInfoPolling.maximumInterval else { return }
        logger.warning("the CA asked to check renewal information again in \(Int(seconds)) s; checking in \(Int(RenewalInfoPolling.maximumInterval)) s instead (cap: one day, RFC 9773 §4.3)")
    }

    /// The CA's Retry-After carried by an error, if any (e.g. `rateLimited`, RFC 8555 §6.6).
    static func retryAfter(of error: any Error) -> Date? {
        var current: any Error = error
        if let issuance = current as? IssuanceError { current = issuance.underlying }
        if case ACMEError.problem(_, _, let retryAfter) = current { return retryAfter }
        return nil   // a bare 5xx without a problem document: the backoff schedule applies
    }

    private func loadRecord(_ name: String, logger: Logger) -> RenewalRecord {
        let loaded = records.load(name)
        if let problem = loaded.problem { logger.warning("renewal record unreadable, starting afresh: \(problem)") }
        // Fleet mode: the fleet's schedule and backoff, with this node's own deployment fields.
        if let shared = fleet?.sharedRecord(name) { return loaded.record.adopting(fleet: shared) }
        return loaded.record
    }

    private func save(_ record: RenewalRecord, for name: String, logger: Logger) {
        do { try records.save(record, for: name) } catch { logger.error("cannot save the renewal record: \(error)") }
        fleet?.saveShared(record, of: name)
    }

    /// Fleet mode: brings every certificate to the fleet's current version (at start: a node that was down or joins
    /// late catches up without ordering). Nothing without a `cluster` block.
    public func followFleet() {
        guard fleet != nil else { return }
        for certificate in session.config.certificates {
            var logger = logger
            logger[metadataKey: "certificate"] = "\(certificate.name)"
            guard let lock = try? session.store.lockForIssuance(certificate.name) else { continue }
            withExtendedLifetime(lock) { _ = followFleet(certificate, logger: logger) }
        }
    }

    /// Fleet mode: brings the local store to the fleet's current version of `certificate` (verified, committed, then
    /// deployed with this node's own install and reload), and says whether the pass must wait for etcd.
    private func followFleet(_ certificate: CertificateConfig, logger: Logger) -> RenewalOutcome? {
        guard let fleet else { return nil }
        do {
            let outcome = try fleet.attempt("following the fleet's version") {
                try fleet.distribution.catchUp(certificate, store: session.store, now: clock.now())
            }
            guard case .committed(let version) = outcome else { return nil }
            logger.notice("installed the fleet's version", metadata: ["version": "\(version)"])
            var record = loadRecord(certificate.name, logger: logger)
            record.certificateSummary = nil
            let deployError = deploy(certificate, record: &record, logger: logger)
            if certificate.install == nil { noteDeploy(certificate.name, logger: logger) }
            save(record, for: certificate.name, logger: logger)
            try? fleet.distribution.noteDeployed(certificate.name, version: version, error: deployError, now: clock.now())
            return nil
        } catch FleetStoreError.unreachable {
            return .fleetWaiting(fleet.availability.text)
        } catch is FleetVersionOlder {
            // Ordered here, but its publication failed: the fleet gets it now instead of ordering again.
            let directoryURL = session.store.issuanceFacts(of: certificate.name)?.directoryURL ?? session.config.directoryURL
            if let version = fleet.publishNewerLocal(certificate.name, store: session.store, record: loadRecord(certificate.name, logger: logger),
                                                     directoryURL: directoryURL) {
                logger.notice("published this node's newer certificate to the fleet", metadata: ["version": "\(version)"])
            }
            return nil
        } catch {
            logger.error("cannot install the fleet's version; this node keeps serving its own: \(error)")
            return nil
        }
    }
}
