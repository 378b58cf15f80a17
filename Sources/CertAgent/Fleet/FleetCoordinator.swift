import ACME
import FoundationEssentials
import Logging
import Synchronization

/// Fleet mode as the renewal service sees it (config `cluster`): this node's membership, the shared records, the
/// ordering lock, the fleet's HTTP-01 solver, the distribution of new versions, and whether etcd answers
/// (`FleetAvailability`). Every etcd call goes through `attempt`, which notes an outage once (log line) and its end.
public final class FleetCoordinator: Sendable {
    public let membership: FleetMembership
    public let distribution: FleetDistribution
    public let responder: FleetChallengeResponder
    /// The fleet's one ACME account per CA (`withFleetAccount`).
    public let accounts: FleetAccounts
    private let cluster: ClusterConfig
    private let clock: any AgentClock
    private let logger: Logger
    private let availabilityState = Mutex(FleetAvailability())
    /// Held while an availability change is noted and reported (`attempt`).
    private let reporting = Mutex(())
    private let running = Atomic<Bool>(false)
    /// Each shared record as this node last read or wrote it: the base of its next compare-and-swap.
    private let sharedRecordBases = Mutex<[String: FleetRecords.Read]>([:])
    /// Called when an outage starts or ends, with the availability after it: the daemon tells the admin through its
    /// notification channels (`setAvailabilityHandler`).
    private let availabilityHandler: Mutex<(@Sendable (FleetAvailability) -> Void)?>

    public init(store: any FleetKeyValueStore, cluster: ClusterConfig, certificates: [CertificateConfig], masterKey: MasterKey,
                journal: @escaping @Sendable (String) -> String?, clock: any AgentClock, logger: Logger, announces: Bool = true,
                onAvailabilityChange: @escaping @Sendable (FleetAvailability) -> Void = { _ in }) throws {
        var logger = logger
        logger[metadataKey: "node"] = "\(cluster.node)"
        membership = FleetMembership(store: store, cluster: cluster, clock: clock, announces: announces)
        distribution = FleetDistribution(membership: membership, seal: try FleetSeal(masterKey: masterKey))
        accounts = FleetAccounts(membership: membership, seal: distribution.seal, clock: clock)
        responder = FleetChallengeResponder(membership: membership, certificates: certificates, journal: journal, clock: clock, logger: logger)
        self.cluster = cluster
        self.clock = clock
        self.logger = logger
        self.availabilityHandler = Mutex(onAvailabilityChange)
    }

    /// Sets what is called when an etcd outage starts or ends (the daemon's notifications).
    public func setAvailabilityHandler(_ handler: @escaping @Sendable (FleetAvailability) -> Void) {
        availabilityHandler.withLock { $0 = handler }
    }

    private func onAvailabilityChange(_ availability: FleetAvailability) {
        availabilityHandler.withLock { $0 }?(availability)
    }

    /// Whether etcd answered the last call, and since when not.
    public var availability: FleetAvailability { availabilityState.withLock { $0 } }

    /// Runs one etcd interaction, noting whether etcd answered: an `unreachable` error starts (or continues) an outage,
    /// said once; any answer ends it.
    /// The change and its report (log line, handler) happen under `reporting`, so that two threads noting opposite
    /// changes at once report them in the order they happened (the handler must not call `attempt`).
    public func attempt<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            reporting.withLock { _ in
                let (ended, now) = availabilityState.withLock { state in (state.noteReachable(at: clock.now()), state) }
                if ended {
                    logger.notice("etcd answers again: renewals resume")
                    onAvailabilityChange(now)
                }
            }
            return result
        } catch let error as FleetStoreError {
            guard case .unreachable(let reason) = error else { throw error }
            reporting.withLock { _ in
                let (started, now) = availabilityState.withLock { state in (state.noteUnreachable(reason, at: clock.now()), state) }
                if started {
                    logger.error("\(now.text)", metadata: ["while": "\(what)"])
                    onAvailabilityChange(now)
                }
            }
            throw error
        }
    }

    // MARK: Shared records

    /// The fleet's record of `certificate`, nil when there is none or etcd does not answer. What was read is the base
    /// of this node's next write of it (`saveShared`).
    public func sharedRecord(_ certificate: String) -> RenewalRecord? {
        guard let read = try? attempt("reading the shared renewal record", { try FleetRecords.read(certificate, membership: membership) }) else {
            return nil
        }
        sharedRecordBases.withLock { $0[certificate] = read }
        return read.record
    }

    /// Writes the shared part of `record` as a compare-and-swap over what this node last read or wrote of it: a write
    /// another node made since is merged, not overwritten (`FleetRecords.save`). An unreachable etcd is noted (the
    /// local record is kept regardless).
    public func saveShared(_ record: RenewalRecord, of certificate: String) {
        let base = sharedRecordBases.withLock { $0[certificate] }
        // Only the node's own fields changed (a deploy retry, the summary of its files): nothing to write to etcd.
        if let known = base?.record, known == record.fleetShared { return }
        do {
            let written = try attempt("writing the shared renewal record") { try FleetRecords.save(record, of: certificate, base: base, membership: membership) }
            sharedRecordBases.withLock { $0[certificate] = written }
        } catch {
            logger.warning("cannot write the fleet's renewal record: \(error)", metadata: ["certificate": "\(certificate)"])
        }
    }

    // MARK: Ordering

    /// Why this node does not order a certificate now.
    public enum Waiting: Error, Sendable, CustomStringConvertible {
        case lockedBy(FleetLockBusy)
        case unreachable(FleetAvailability)
        case failed(String)

        public var description: String {
            switch self {
            case .lockedBy(let busy): "\(busy)"
            case .unreachable(let availability): availability.text
            case .failed(let reason): "cannot take the fleet's lock: \(reason)"
            }
        }
    }

    /// Takes the fleet's ordering lock of `certificate`.
    public func lockForOrdering(_ certificate: String) -> Result<FleetHeldLock, Waiting> {
        do {
            return .success(try attempt("taking the ordering lock") { try FleetLocking.acquire(certificate, membership: membership, now: clock.now()) })
        } catch let busy as FleetLockBusy {
            return .failure(.lockedBy(busy))
        } catch FleetStoreError.unreachable {
            return .failure(.unreachable(availability))
        } catch {
            return .failure(.failed("\(error)"))
        }
    }

    public func release(_ lock: FleetHeldLock) { FleetLocking.release(lock, membership: membership) }

    /// The HTTP-01 solver of an order for `certificate`: this node's `local` webroot solver plus every other node's.
    public func solver(for certificate: String, local: WebrootSolver) -> any HTTP01Solver {
        FleetChallengeSolver(certificate: certificate, local: local, membership: membership, clock: clock,
                             timeout: TimeInterval(cluster.acknowledgeTimeoutSeconds))
    }

    /// Publishes the version `store` now holds as current for `certificate` (just issued under `lock`), with `record`
    /// and the account of `directoryURL`, in one transaction.
    public func publishCurrent(_ certificate: String, store: CertificateStore, lock: FleetHeldLock, record: RenewalRecord,
                               directoryURL: String) throws -> String {
        guard let files = try store.linkedVersion(certificate) else { throw FleetVersionMissing(certificate: certificate, version: "current") }
        func text(_ path: String) throws -> String { String(decoding: try store.read(path) ?? [], as: UTF8.self) }
        let material = CertificateMaterial(privateKeyPEM: try text(files.privateKey), csrPEM: try text(files.csr),
                                           certificatePEM: try text(files.certificate), chainPEM: try text(files.chain),
                                           facts: store.issuanceFacts(of: certificate))
        return try attempt("publishing the new version") {
            // The account goes along only while the fleet has none: never one node's account over the fleet's.
            let account = try membership.store.get(membership.keys.accountKey(directoryURL: directoryURL)) != nil ? []
                : try FleetAccounts.files(directoryURL: directoryURL, store: store, keys: membership.keys)
            let version = try distribution.publish(material, of: certificate, lock: lock, record: record, account: account, now: clock.now())
            // The transaction wrote the shared record too: the next save of the same content writes nothing, and a
            // changed one merges with whatever followed (an unknown revision, as `FleetRecords.save` treats it).
            sharedRecordBases.withLock { $0[certificate] = FleetRecords.Read(record: record.fleetShared, revision: -1) }
            return version
        }
    }

    // MARK: The account

    /// Runs `connect` (which registers or finds the ACME account at `directoryURL`) with the fleet's account in the
    /// local store (`FleetAccounts`): adopted when the fleet has one, else registered or taken from this store and
    /// published under the account lock. With etcd unreachable, a node that has an account connects with it; one
    /// without throws `FleetAccountUnavailable` rather than register a second account.
    public func withFleetAccount<T>(directoryURL: String, store: CertificateStore, masterKey: MasterKey, _ connect: () throws -> T) throws -> T {
        do {
            return try attempt("sharing the fleet's ACME account") {
                try accounts.connect(directoryURL: directoryURL, store: store, masterKey: masterKey, logger: logger, connect).0
            }
        } catch FleetStoreError.unreachable(let reason) {
            guard FileManager.default.fileExists(atPath: store.keys.accountKey(directoryURL: directoryURL)) else {
                throw FleetAccountUnavailable(reason: "etcd is unreachable: \(reason)")
            }
            return try connect()
        }
    }

    /// The coordinator of `session`'s `cluster` block over the real etcd (`EtcdFleetStore`), nil without one.
    /// `announces`: the daemon (true) announces the node and serves challenges; a command (false) only orders.
    public static func forSession(_ session: AgentSession, clock: any AgentClock, logger: Logger, announces: Bool,
                                  onAvailabilityChange: @escaping @Sendable (FleetAvailability) -> Void = { _ in }) throws -> FleetCoordinator? {
        guard let cluster = session.config.cluster else { return nil }
        let password = try cluster.passwordSecret.map { String(decoding: try session.secrets.secrets.value(named: $0), as: UTF8.self) }
        let store = session.store
        return try FleetCoordinator(store: try EtcdFleetStore(cluster: cluster, password: password), cluster: cluster,
                                    certificates: session.config.certificates, masterKey: session.secrets.masterKey,
                                    journal: { store.challengeJournal($0) }, clock: clock, logger: logger, announces: announces,
                                    onAvailabilityChange: onAvailabilityChange)
    }

    /// This node serves a newer certificate than the fleet's — its publication failed after the order (the lease
    /// expired in a pause or a partition) — so it publishes it now, under the lock, rather than leave the fleet to
    /// order again. Returns the version published, nil when the lock is held elsewhere or nothing was done.
    public func publishNewerLocal(_ certificate: String, store: CertificateStore, record: RenewalRecord, directoryURL: String) -> String? {
        guard case .success(let lock) = lockForOrdering(certificate) else { return nil }
        defer { release(lock) }
        return try? publishCurrent(certificate, store: store, lock: lock, record: record, directoryURL: directoryURL)
    }

    // MARK: Running

    /// Joins the fleet (lease, presence), serves the challenges already published, and starts the fleet's thread:
    /// the lease kept alive every `leaseSeconds / 3`, challenges served as they come, and `onNewVersion` called with a
    /// certificate's name whenever the fleet's `current/` pointer of it changes. An unreachable etcd at start is noted
    /// and retried by the thread.
    public func start(onNewVersion: @escaping @Sendable (String) -> Void) {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        do {
            try attempt("joining the fleet") {
                try membership.join()
                try responder.start()
            }
            logger.notice("joined the fleet", metadata: ["prefix": "\(cluster.prefix)", "endpoints": "\(cluster.endpoints.joined(separator: ","))"])
        } catch {
            logger.error("cannot join the fleet yet: \(error)")
        }
        WorkerThreads.detach { [self] in runLoop(onNewVersion: onNewVersion) }
    }

    private func runLoop(onNewVersion: @escaping @Sendable (String) -> Void) {
        let keepAliveEvery = max(1, Double(cluster.leaseSeconds) / 3)
        var lastKeepAlive = clock.now()
        var currentWatch: (any FleetWatch)?
        while running.load(ordering: .relaxed), !clock.isStopped {
            do {
                if clock.now().timeIntervalSince(lastKeepAlive) >= keepAliveEvery {
                    lastKeepAlive = clock.now()
                    let kept = try attempt("keeping the lease alive") { try membership.keepAlive() }
                    if !kept { logger.warning("this node's etcd lease had expired (a pause or a partition): joined again; its locks and challenges of before are gone") }
                }
                if currentWatch == nil {
                    let revision = try attempt("watching current/") { try membership.store.range(prefix: membership.keys.current).revision }
                    currentWatch = try membership.store.watch(prefix: membership.keys.current, fromRevision: revision + 1)
                }
                for event in try currentWatch?.next(timeout: 0) ?? [] {
                    if case .put(let entry) = event, let name = membership.keys.components(of: entry.key, below: membership.keys.current)?.first {
                        onNewVersion(name)
                    }
                }
                try attempt("serving challenges") { try responder.sync(timeout: 1) }
            } catch {
                currentWatch = nil
                if case FleetStoreError.compacted = error { continue }
                try? clock.sleep(seconds: 1)
            }
        }
    }

    /// Stops the thread, removes the challenge files served for others and leaves the fleet (the lease is revoked).
    public func stop() {
        running.store(false, ordering: .relaxed)
        responder.stop()
        membership.leave()
    }
}
