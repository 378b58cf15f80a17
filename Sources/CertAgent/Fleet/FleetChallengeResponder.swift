import FoundationEssentials
import Logging
import Synchronization

/// Every node's side of fleet HTTP-01: it watches `challenges/`, writes each challenge another node published into
/// its own webroot for that name (`WebrootSolver`, with the certificate's challenge journal, so a crash's files are
/// found later) and acknowledges under `acks/<cert>/<token>/<node>` — or acknowledges with the error that stopped it.
/// When a challenge goes (the order ended, or the ordering node's lease expired) the file and the acknowledgement go too.
public final class FleetChallengeResponder: Sendable {
    private struct Served: Sendable {
        var certificate: String
        var domain: String
        var token: String
    }

    private struct State: Sendable {
        var watch: (any FleetWatch)?
        var served: [String: Served] = [:]   // challenge key → what was written
        var solvers: [String: WebrootSolver] = [:]
        var certificates: [CertificateConfig]
    }

    private let membership: FleetMembership
    private let journal: @Sendable (String) -> String?
    private let clock: any AgentClock
    private let logger: Logger
    private let state: Mutex<State>

    /// `journal` gives a certificate's challenge journal path (`CertificateStore.challengeJournal`), nil for none.
    public init(membership: FleetMembership, certificates: [CertificateConfig], journal: @escaping @Sendable (String) -> String?,
                clock: any AgentClock, logger: Logger) {
        self.membership = membership
        state = Mutex(State(certificates: certificates))
        self.journal = journal
        self.clock = clock
        self.logger = logger
    }

    /// Uses the certificates of a reloaded config for challenges published from now on (`SIGHUP`).
    public func update(certificates: [CertificateConfig]) {
        state.withLock { state in
            state.certificates = certificates
            // A certificate whose webroots changed gets a new solver; files already served stay with the old one.
            for (name, _) in state.solvers where !state.served.values.contains(where: { $0.certificate == name }) { state.solvers[name] = nil }
        }
    }

    /// The challenge files this node serves for others now.
    public var servedFiles: [String] { state.withLock { $0.solvers.values.flatMap(\.publishedFiles).sorted() } }

    /// Reads every published challenge, serves those not yet served, removes those gone, and watches from there on.
    public func start() throws {
        let (entries, revision) = try membership.store.range(prefix: membership.keys.challenges)
        reconcile(with: entries)
        let watch = try membership.store.watch(prefix: membership.keys.challenges, fromRevision: revision + 1)
        let previous = state.withLock { state -> (any FleetWatch)? in defer { state.watch = watch }; return state.watch }
        previous?.cancel()
    }

    /// Handles what happened since the last call, waiting at most `timeout` seconds for something to happen. After a
    /// compaction or a broken watch it starts over from a full read (`start`); an unreachable etcd is thrown.
    public func sync(timeout: Double) throws {
        guard let watch = state.withLock({ $0.watch }) else { return try start() }
        let events: [FleetEvent]
        do { events = try watch.next(timeout: timeout) } catch FleetStoreError.compacted {
            return try start()
        } catch {
            state.withLock { $0.watch = nil }   // the next call reads everything again
            throw error
        }
        for event in events {
            switch event {
            case .put(let entry): serve(entry)
            case .delete(let key, _): withdraw(key)
            }
        }
    }

    /// Removes every file this node serves for others and stops watching (at shutdown).
    public func stop() {
        let (watch, keys) = state.withLock { state in (state.watch, Array(state.served.keys)) }
        watch?.cancel()
        for key in keys { withdraw(key) }
        state.withLock { $0.watch = nil }
    }

    private func reconcile(with entries: [FleetEntry]) {
        let present = Set(entries.map(\.key))
        for key in state.withLock({ Array($0.served.keys) }) where !present.contains(key) { withdraw(key) }
        for entry in entries { serve(entry) }
    }

    private func serve(_ entry: FleetEntry) {
        let keys = membership.keys
        guard let parts = keys.components(of: entry.key, below: keys.challenges), parts.count == 2,
              let challenge = FleetJSON.decode(FleetChallenge.self, entry), challenge.token == parts[1],
              challenge.node != membership.node, state.withLock({ $0.served[entry.key] == nil }) else { return }
        let name = parts[0]
        var logger = logger
        logger[metadataKey: "certificate"] = "\(name)"
        var failure: String?
        var written: String?
        if let certificate = state.withLock({ $0.certificates.first { $0.name == name } }) {
            let solver = state.withLock { state in
                if let existing = state.solvers[name] { return existing }
                let made = WebrootSolver(webroots: certificate.webroots, journal: journal(name).map { ChallengeJournal(path: $0) })
                state.solvers[name] = made
                return made
            }
            do {
                try solver.present(domain: challenge.domain, token: challenge.token, keyAuthorization: challenge.keyAuthorization)
                written = solver.lastWrittenFile(for: challenge.domain)
                state.withLock { $0.served[entry.key] = Served(certificate: name, domain: challenge.domain, token: challenge.token) }
                logger.info("serving the fleet's challenge file", metadata: ["domain": "\(challenge.domain)", "orderedBy": "\(challenge.node)"])
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "this node's config has no certificate named \(name): every node of a fleet needs the same certificates"
        }
        if let failure { logger.error("cannot serve the fleet's challenge file", metadata: ["domain": "\(challenge.domain)", "error": "\(failure)"]) }
        do {
            let ack = FleetAck(node: membership.node, at: clock.now(), error: failure, file: written)
            try membership.store.put(keys.ack(name, token: challenge.token, node: membership.node), value: try FleetJSON.encode(ack),
                                     lease: try membership.currentLease())
        } catch {
            logger.warning("cannot acknowledge the fleet's challenge: \(error)")
        }
    }

    private func withdraw(_ key: String) {
        guard let served = state.withLock({ $0.served.removeValue(forKey: key) }) else { return }
        let solver = state.withLock { $0.solvers[served.certificate] }
        solver?.cleanUp(domain: served.domain, token: served.token)
        try? membership.store.delete(membership.keys.ack(served.certificate, token: served.token, node: membership.node))
    }
}
