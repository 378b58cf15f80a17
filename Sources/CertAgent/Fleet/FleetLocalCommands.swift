import FoundationEssentials

/// Commands that act on this server's store only, and what they mean on one node of a fleet: `rotate-master-key` and
/// `rollback` are refused (one would lock the node out of the fleet's sealed values, the other is undone at the next
/// pass), `revoke` and `delete` go ahead with a warning about the other nodes.
public enum FleetLocalCommands {
    /// Why `rotate-master-key` is refused on a fleet node, and what to do instead.
    public static func rotateMasterKeyRefusal(cluster: ClusterConfig, configPath: String) -> String {
        "certagent rotate-master-key: refused: this server is node \(cluster.node) of a fleet (cluster in \(configPath)). "
            + "Every node shares one master key, and the fleet's sealed values in etcd (certificate versions, the account key) open "
            + "only with it: a key rotated on one node would lock that node out of the fleet. Nothing was changed. Keep the shared key "
            + "(back it up). To replace it: remove the cluster block on one node, rotate the key there, put the block back with a new "
            + "prefix and run `certagent cluster push`; then give every other node the new key, the new prefix and an empty store "
            + "(each catches up from etcd without ordering; set its secrets again with `certagent secret set`)."
    }

    /// Why `rollback NAME` is refused on a fleet node, and what to do instead.
    public static func rollbackRefusal(_ name: String, cluster: ClusterConfig, configPath: String) -> String {
        "✗ \(name): rollback refused: this server is node \(cluster.node) of a fleet (cluster in \(configPath)): every node "
            + "deploys the fleet's current version, so this node would install it again at its next pass (and the other nodes "
            + "would keep it). Nothing was changed. To replace the fleet's certificate, run `certagent renew --force \(name)` "
            + "on one node: the new one goes to every node; to roll back this server alone, take it out of the fleet first "
            + "(remove its cluster block)."
    }

    /// The warning `revoke NAME` gives on a fleet node.
    public static func revokeWarning(_ name: String, cluster: ClusterConfig) -> String {
        "warning: this server is node \(cluster.node) of a fleet: the other nodes keep serving the revoked certificate of \(name) "
            + "until the fleet has a new one — this node's daemon orders it at its next pass (or run `certagent renew \(name)` here "
            + "now), and every node installs it."
    }

    /// The warning `delete NAME` gives on a fleet node.
    public static func deleteWarning(_ name: String, cluster: ClusterConfig, revoking: Bool) -> String {
        "warning: this server is node \(cluster.node) of a fleet: only this node's config and files change; the other nodes keep "
            + "serving \(revoking ? "the revoked certificate of " : "")\(name) and the fleet keeps renewing it until it is deleted "
            + "on every node."
    }
}
