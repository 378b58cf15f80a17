import ACME
import FoundationEssentials

/// The fleet as `certagent status` shows it: the nodes alive, each certificate's current version and which version
/// each node has deployed, and who holds a lock — four range reads, no sealed value opened.
public struct FleetStatus: Sendable, Equatable {
    public var prefix: String
    public var node: String
    public var nodes: [FleetNodeRecord] = []
    public var locks: [String: FleetLockRecord] = [:]
    public var current: [String: FleetCurrentPointer] = [:]
    /// certificate → node → what it deployed.
    public var deployed: [String: [String: FleetDeployment]] = [:]
    /// Why etcd could not be read (nil: it answered).
    public var unreachable: String?

    /// Reads the fleet's state; an unreachable etcd is reported in `unreachable`, not thrown.
    public static func read(membership: FleetMembership) -> FleetStatus {
        var status = FleetStatus(prefix: membership.keys.prefix, node: membership.node)
        let keys = membership.keys
        do {
            status.nodes = try membership.liveNodes()
            status.locks = try FleetLocking.holders(membership: membership)
            for entry in try membership.store.range(prefix: keys.current).entries {
                if let name = keys.components(of: entry.key, below: keys.current)?.first,
                   let pointer = FleetJSON.decode(FleetCurrentPointer.self, entry) { status.current[name] = pointer }
            }
            for entry in try membership.store.range(prefix: keys.deployed).entries {
                guard let parts = keys.components(of: entry.key, below: keys.deployed), parts.count == 2,
                      let deployment = FleetJSON.decode(FleetDeployment.self, entry) else { continue }
                status.deployed[parts[0], default: [:]][parts[1]] = deployment
            }
        } catch {
            status.unreachable = "\(error)"
        }
        return status
    }

    /// The text `status` prints, for the configured `certificates`.
    public func text(certificates: [String]) -> String {
        var lines = ["fleet \(prefix) (this node: \(node))"]
        if let unreachable {
            lines.append("  \(unreachable): every node keeps serving its current certificates; renewals wait until etcd answers")
            return lines.joined(separator: "\n")
        }
        let alive = nodes.map(\.node)
        lines.append("  nodes alive: \(alive.isEmpty ? "none" : alive.joined(separator: ", "))\(alive.contains(node) ? "" : " (this node's daemon is not among them)")")
        for name in certificates {
            guard let pointer = current[name] else {
                lines.append("  \(name): no version in the fleet yet")
                continue
            }
            let byNode = deployed[name] ?? [:]
            let deployments = Set(alive).union(byNode.keys).sorted().map { node -> String in
                guard let deployment = byNode[node] else { return "\(node) –" }
                if let error = deployment.error { return "\(node) ✗ (\(error))" }
                return deployment.version == pointer.version ? "\(node) ✓" : "\(node) older (\(deployment.version))"
            }
            lines.append("  \(name): version \(pointer.version) ordered by \(pointer.node) at \(TimeText.human(pointer.at)); deployed: \(deployments.joined(separator: ", "))")
        }
        for (name, holder) in locks.sorted(by: { $0.key < $1.key }) {
            lines.append("  lock: \(name) held by \(holder.node) since \(TimeText.human(holder.since))")
        }
        return lines.joined(separator: "\n")
    }

    /// The status of a fleet that could not be read at all (no etcd client could be made, a secret is missing).
    public static func unreadable(prefix: String, node: String, reason: String) -> FleetStatus {
        var status = FleetStatus(prefix: prefix, node: node)
        status.unreachable = reason
        return status
    }

    // MARK: status --json

    /// What `status --json` adds to certificate `name` in fleet mode (its `fleet` member).
    public func certificate(_ name: String) -> CertificateFleetStatus {
        var shown = CertificateFleetStatus(prefix: prefix, node: node)
        if let unreachable {
            shown.unreachable = unreachable
            return shown
        }
        shown.nodesAlive = nodes.map { .init(node: $0.node, started: $0.started, certagentVersion: $0.version) }
        let pointer = current[name]
        shown.version = pointer?.version
        shown.orderedBy = pointer?.node
        shown.orderedAt = pointer?.at
        let alive = Set(nodes.map(\.node))
        let byNode = deployed[name] ?? [:]
        shown.deployed = alive.union(byNode.keys).sorted().map { node in
            let deployment = byNode[node]
            return .init(node: node, alive: alive.contains(node), version: deployment?.version, at: deployment?.at, error: deployment?.error,
                         current: pointer != nil && deployment?.version == pointer?.version && deployment?.error == nil)
        }
        if let holder = locks[name] { shown.lock = .init(node: holder.node, since: holder.since) }
        return shown
    }

    // MARK: status --check

    /// How long after the fleet's new version a live node may still be without it before `--check` warns (it follows
    /// at once through its watch, or at its next pass).
    public static let deploymentGrace: TimeInterval = 15 * 60
    /// How long one node may hold a certificate's ordering lock before `--check` warns (an order takes minutes).
    public static let lockGrace: TimeInterval = 60 * 60

    /// What `status --check` says of the fleet for the configured `certificates` at `now`. Every finding is a WARNING:
    /// the nodes keep serving what they have; a certificate that comes at risk meanwhile is CRITICAL by its own rule.
    public func findings(certificates: [String], now: Date) -> [StatusCheck.Finding] {
        if let unreachable {
            return [.init(level: .warning, text: "fleet: \(unreachable) (every node keeps serving; renewals wait)")]
        }
        var found: [StatusCheck.Finding] = []
        let alive = nodes.map(\.node)
        if !alive.contains(node) {
            found.append(.init(level: .warning, text: "fleet: this node (\(node)) is not among the nodes alive: is `certagent run` running here? It neither serves the fleet's challenges nor follows its versions"))
        }
        for (name, holder) in locks.sorted(by: { $0.key < $1.key }) where now.timeIntervalSince(holder.since) > Self.lockGrace {
            found.append(.init(level: .warning, text: "\(name): node \(holder.node) has held the fleet's ordering lock since \(TimeText.human(holder.since))"))
        }
        for name in certificates {
            guard let pointer = current[name] else { continue }
            let byNode = deployed[name] ?? [:]
            for node in alive.sorted() {
                let deployment = byNode[node]
                if let error = deployment?.error {
                    found.append(.init(level: .warning, text: "\(name): node \(node) could not deploy \(deployment?.version ?? pointer.version): \(error)"))
                } else if deployment?.version != pointer.version, now.timeIntervalSince(pointer.at) > Self.deploymentGrace {
                    let has = deployment.map { "still on \($0.version)" } ?? "has deployed nothing"
                    found.append(.init(level: .warning, text: "\(name): node \(node) \(has), not the fleet's \(pointer.version) of \(TimeText.human(pointer.at))"))
                }
            }
        }
        return found
    }

    /// The line `status --check` gives the fleet after the certificates'.
    public var checkDetail: String {
        if let unreachable { return "fleet \(prefix): \(unreachable)" }
        let alive = nodes.map(\.node)
        return "fleet \(prefix): \(alive.count) node\(alive.count == 1 ? "" : "s") alive (\(alive.isEmpty ? "none" : alive.joined(separator: ", ")))"
            + (locks.isEmpty ? "" : "; locks: " + locks.sorted { $0.key < $1.key }.map { "\($0.key) by \($0.value.node)" }.joined(separator: ", "))
    }
}

/// A certificate's fleet as `status --json` shows it (its `fleet` member, in fleet mode only).
public struct CertificateFleetStatus: Codable, Sendable, Equatable {
    /// A node alive now.
    public struct Node: Codable, Sendable, Equatable {
        public var node: String
        public var started: Date
        /// The CertAgent version it runs.
        public var certagentVersion: String
    }

    /// What one node has deployed of the certificate.
    public struct Deployment: Codable, Sendable, Equatable {
        public var node: String
        /// Whether the node is alive now (a node that left keeps its last note).
        public var alive: Bool
        public var version: String?
        public var at: Date?
        public var error: String?
        /// Whether it is the fleet's current version, deployed without error.
        public var current: Bool
    }

    /// Who holds the certificate's ordering lock.
    public struct Lock: Codable, Sendable, Equatable {
        public var node: String
        public var since: Date
    }

    public var prefix: String
    /// This node's name.
    public var node: String
    /// Why etcd could not be read (then nothing else is set).
    public var unreachable: String?
    public var nodesAlive: [Node]?
    /// The fleet's current version of the certificate, the node that ordered it, and when.
    public var version: String?
    public var orderedBy: String?
    public var orderedAt: Date?
    public var deployed: [Deployment]?
    public var lock: Lock?

    public init(prefix: String, node: String) {
        self.prefix = prefix
        self.node = node
    }
}
