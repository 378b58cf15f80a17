import ACME
import FoundationEssentials
import Synchronization

/// The ordering node's HTTP-01 solver in fleet mode (lego-style present/clean-up, as `HTTP01Issuance` calls it): the
/// file goes into this node's own webroot (`WebrootSolver`), and the token with its key authorization is published
/// under `challenges/<cert>/<token>`, bound to the node's lease, for every other node to serve too
/// (`FleetChallengeResponder`). `present` returns only when every live node has acknowledged the file — the CA's
/// validation may reach any server behind the load balancer — and fails naming the nodes that did not. `cleanUp`
/// withdraws the challenge (every node then removes its file); if this node dies instead, its lease expires and the
/// challenge goes with it.
public final class FleetChallengeSolver: HTTP01Solver {
    /// This node's own files.
    public let local: WebrootSolver
    private let certificate: String
    private let membership: FleetMembership
    private let clock: any AgentClock
    private let timeout: TimeInterval
    /// How often the acknowledgements are read again while waiting.
    static let pollInterval: TimeInterval = 0.2
    /// The acknowledgements each domain's challenge got (by domain as `present` was given it): where every node wrote
    /// the token, for the message of a failed validation.
    private let acknowledged = Mutex<[String: [FleetAck]]>([:])

    public init(certificate: String, local: WebrootSolver, membership: FleetMembership, clock: any AgentClock, timeout: TimeInterval) {
        self.certificate = certificate
        self.local = local
        self.membership = membership
        self.clock = clock
        self.timeout = timeout
    }

    public func present(domain: String, token: String, keyAuthorization: String) throws {
        try local.present(domain: domain, token: token, keyAuthorization: keyAuthorization)
        let keys = membership.keys
        let lease = try membership.currentLease()
        let challenge = FleetChallenge(domain: domain, token: token, keyAuthorization: keyAuthorization, node: membership.node)
        let ack = FleetAck(node: membership.node, at: clock.now(), error: nil, file: local.lastWrittenFile(for: domain))
        try membership.store.transaction(if: [], then: [
            .put(key: keys.challenge(certificate, token: token), value: try FleetJSON.encode(challenge), lease: lease),
            .put(key: keys.ack(certificate, token: token, node: membership.node), value: try FleetJSON.encode(ack), lease: lease),
        ], otherwise: [])
        try waitForAcknowledgements(domain: domain, token: token)
    }

    /// Waits until every live node acknowledged `token` (the decision is `FleetAcknowledgements.check`).
    private func waitForAcknowledgements(domain: String, token: String) throws {
        let deadline = clock.now().addingTimeInterval(timeout)
        while true {
            let live = try membership.liveNodes().map(\.node)
            let acks = try membership.store.range(prefix: membership.keys.acks(of: certificate, token: token)).entries
                .compactMap { FleetJSON.decode(FleetAck.self, $0) }
            switch FleetAcknowledgements.check(live: live, acks: acks) {
            case .complete:
                acknowledged.withLock { $0[domain] = acks }
                return
            case .failed(let failures):
                throw FleetChallengeError.nodesFailed(domain: domain, failures: failures)
            case .waiting(let missing):
                guard clock.now() < deadline else {
                    throw FleetChallengeError.notAcknowledged(domain: domain, nodes: missing, seconds: Int(timeout))
                }
            }
            try clock.sleep(seconds: Self.pollInterval)
        }
    }

    /// Where each node wrote the token of `domain`'s challenge, this node first (empty before every node acknowledged).
    public func tokenCopies(for domain: String) -> [HTTP01ValidationFailure.TokenCopy] {
        let acks = acknowledged.withLock { $0[domain] } ?? []
        return acks.filter { $0.error == nil }
            .map { HTTP01ValidationFailure.TokenCopy(node: $0.node, file: $0.file, isThisNode: $0.node == membership.node) }
            .sorted { ($0.isThisNode ? 0 : 1, $0.node) < ($1.isThisNode ? 0 : 1, $1.node) }
    }

    public func cleanUp(domain: String, token: String) {
        local.cleanUp(domain: domain, token: token)
        let keys = membership.keys
        _ = try? membership.store.transaction(if: [], then: [
            .delete(key: keys.challenge(certificate, token: token)),
            .deletePrefix(keys.acks(of: certificate, token: token)),
        ], otherwise: [])
    }
}

/// Whether the fleet is ready for the CA to validate a challenge: a pure decision over who is alive and who answered.
public enum FleetAcknowledgements {
    public enum State: Sendable, Equatable {
        /// Every live node has the file.
        case complete
        /// These live nodes have not answered yet.
        case waiting(missing: [String])
        /// These nodes answered that they could not write the file (node → why).
        case failed([String: String])
    }

    /// A node that answered with an error fails the challenge at once; otherwise it is complete when every live node
    /// answered. A node that answered but is no longer alive does not count; one that died without answering is not
    /// waited for (the CA cannot reach a dead server through the load balancer either).
    public static func check(live: [String], acks: [FleetAck]) -> State {
        let byNode = Dictionary(acks.map { ($0.node, $0) }, uniquingKeysWith: { first, _ in first })
        let failures = byNode.compactMapValues(\.error)
        if !failures.isEmpty { return .failed(failures) }
        let missing = live.filter { byNode[$0] == nil }.sorted()
        return missing.isEmpty ? .complete : .waiting(missing: missing)
    }
}

/// Why the fleet could not serve a challenge.
public enum FleetChallengeError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAcknowledged(domain: String, nodes: [String], seconds: Int)
    case nodesFailed(domain: String, failures: [String: String])

    public var description: String {
        switch self {
        case .notAcknowledged(let domain, let nodes, let seconds):
            "the challenge file for \(domain) was not acknowledged within \(seconds) s by node(s) \(nodes.joined(separator: ", ")): the CA's validation could reach a server without it, so the challenge was not answered (is certagent running there, and can it reach etcd?)"
        case .nodesFailed(let domain, let failures):
            "node(s) could not publish the challenge file for \(domain): "
                + failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        }
    }
}
