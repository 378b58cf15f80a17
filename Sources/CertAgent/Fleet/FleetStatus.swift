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
}
