import FoundationEssentials

/// The `cluster` block: this server is one node of a fleet that shares its certificates through etcd v3
/// (`FleetKeys` says what lives where). The block is the same on every node except `node`.
///
/// Everything sensitive is sealed with the master key before it reaches etcd (`FleetSeal`), so every node needs the same
/// master key (a systemd credential), and etcd and its backups never hold a private key or secret in readable form.
public struct ClusterConfig: Sendable, Equatable {
    /// This node's name, unique in the fleet (a key component: 1–63 of A–Z a–z 0–9 `.` `_` `-`).
    public var node: String
    /// The etcd members' client URLs (`http://` or `https://`, host and port), tried in order.
    public var endpoints: [String]
    /// Where the fleet's keys live in etcd, ending in `/`: several fleets can share one etcd under different prefixes.
    public var prefix: String = ClusterConfig.defaultPrefix
    /// A PEM file of CA certificates to trust for the etcd members instead of the system store (`https://` only).
    public var caFile: String?
    /// The client certificate and its key for etcd's `--client-cert-auth` (both or neither; `https://` only).
    public var certificateFile: String?
    public var keyFile: String?
    /// etcd user name and the name of the secret (`certagent secret set NAME`) holding its password (both or neither).
    public var user: String?
    public var passwordSecret: String?
    /// The TTL of this node's etcd lease: its presence, its locks and its published challenges vanish this long after
    /// it dies.
    public var leaseSeconds: Int = ClusterConfig.defaultLeaseSeconds
    /// How long an ordering node waits for every live node to acknowledge a challenge file before giving up.
    public var acknowledgeTimeoutSeconds: Int = ClusterConfig.defaultAcknowledgeTimeoutSeconds

    public static let defaultPrefix = "/certagent/"
    public static let defaultLeaseSeconds = 15
    public static let defaultAcknowledgeTimeoutSeconds = 60

    public init(node: String, endpoints: [String]) {
        self.node = node
        self.endpoints = endpoints
    }

    /// The secret names the block refers to.
    public var referencedSecrets: [String] { passwordSecret.map { [$0] } ?? [] }

    /// Whether `name` can name a node (and so be one component of an etcd key).
    public static func isValidNodeName(_ name: String) -> Bool {
        guard (1...63).contains(name.utf8.count), !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
