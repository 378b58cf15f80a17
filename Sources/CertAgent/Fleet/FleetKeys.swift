import FoundationEssentials

/// The one place that knows where each thing lives in etcd under the fleet's prefix (as `StoreKeys` is for the local
/// store): every key is built and taken apart here.
///
/// ```
/// <prefix>nodes/<node>                       presence: FleetNodeRecord (JSON), bound to the node's lease
/// <prefix>locks/<cert>                       the ordering lock: FleetLockRecord (JSON), bound to the holder's lease
/// <prefix>records/<cert>                     the shared renewal record (RenewalRecord JSON: ARI window, failures, backoff)
/// <prefix>challenges/<cert>/<token>          FleetChallenge (JSON: domain, token, key authorization), bound to the
///                                            ordering node's lease
/// <prefix>acks/<cert>/<token>/<node>         a node wrote the file into its webroot (FleetAck JSON), bound to its lease
/// <prefix>certificates/<cert>/<version>      a version: key, CSR, certificate, chain, facts — sealed (FleetSeal)
/// <prefix>current/<cert>                     the version every node deploys (its name, JSON)
/// <prefix>deployed/<cert>/<node>             the version a node has deployed (FleetDeployment JSON)
/// <prefix>accounts/<ca>/account.json         the account record at a CA (JSON: URL, contacts; no key)
/// <prefix>accounts/<ca>/account-key          the account key — sealed
/// <prefix>pushed                             `cluster push` filled the prefix from a single server's store
/// ```
/// `<cert>` is the certificate's configured name, `<ca>` the store's account directory name, `<node>` a node name
/// (`ClusterConfig.isValidNodeName`); all three are single key components without `/`. Sealed values are bound to
/// their key (the key is the seal's associated data), so a value moved under another key does not open.
public struct FleetKeys: Sendable, Equatable {
    /// The fleet's prefix, ending in `/`.
    public let prefix: String

    public init(prefix: String) {
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    // MARK: Nodes

    public var nodes: String { prefix + "nodes/" }
    public func node(_ node: String) -> String { nodes + node }

    // MARK: Ordering

    public var locks: String { prefix + "locks/" }
    public func lock(_ certificate: String) -> String { locks + certificate }
    public var records: String { prefix + "records/" }
    public func record(_ certificate: String) -> String { records + certificate }

    // MARK: HTTP-01

    public var challenges: String { prefix + "challenges/" }
    public func challenges(of certificate: String) -> String { challenges + certificate + "/" }
    public func challenge(_ certificate: String, token: String) -> String { challenges(of: certificate) + token }
    public var acks: String { prefix + "acks/" }
    public func acks(of certificate: String, token: String) -> String { acks + certificate + "/" + token + "/" }
    public func ack(_ certificate: String, token: String, node: String) -> String { acks(of: certificate, token: token) + node }

    // MARK: Certificates and accounts

    public var certificates: String { prefix + "certificates/" }
    public func versions(of certificate: String) -> String { certificates + certificate + "/" }
    public func version(_ version: String, of certificate: String) -> String { versions(of: certificate) + version }
    public var current: String { prefix + "current/" }
    public func current(_ certificate: String) -> String { current + certificate }
    public var deployed: String { prefix + "deployed/" }
    public func deployed(of certificate: String) -> String { deployed + certificate + "/" }
    public func deployed(_ certificate: String, node: String) -> String { deployed(of: certificate) + node }
    public var accounts: String { prefix + "accounts/" }
    public func accountRecord(directoryURL: String) -> String { accounts + StoreKeys.accountDirectoryName(directoryURL) + "/account.json" }
    public func accountKey(directoryURL: String) -> String { accounts + StoreKeys.accountDirectoryName(directoryURL) + "/account-key" }

    /// The marker `cluster push` writes with its first keys (`FleetPush`).
    public var pushed: String { prefix + "pushed" }

    // MARK: Taking keys apart

    /// The components of `key` after `base` (a prefix built here), or nil when `key` is not below it.
    public func components(of key: String, below base: String) -> [String]? {
        guard key.hasPrefix(base) else { return nil }
        return key.dropFirst(base.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    }

    /// Whether `name` can be one key component (a certificate or node name, a token): no `/`, not empty.
    public static func isComponent(_ name: String) -> Bool { !name.isEmpty && !name.contains("/") && name != "." && name != ".." }
}
