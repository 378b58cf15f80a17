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
/// <prefix>accounts/<ca>/lock                 the account lock: the node registering the fleet's account (FleetLockRecord,
///                                            bound to its lease)
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

    /// Every node's presence key starts with this.
    public var nodes: String { prefix + "nodes/" }
    /// Node `node`'s presence (`FleetNodeRecord`, bound to its lease).
    public func node(_ node: String) -> String { nodes + node }

    // MARK: Ordering

    /// Every ordering lock starts with this.
    public var locks: String { prefix + "locks/" }
    /// The ordering lock of `certificate` (`FleetLockRecord`, bound to the holder's lease).
    public func lock(_ certificate: String) -> String { locks + certificate }
    /// Every shared renewal record starts with this.
    public var records: String { prefix + "records/" }
    /// The shared renewal record of `certificate` (`RenewalRecord.fleetShared`).
    public func record(_ certificate: String) -> String { records + certificate }

    // MARK: HTTP-01

    /// Every published challenge starts with this (what the nodes watch).
    public var challenges: String { prefix + "challenges/" }
    /// The challenges published for `certificate`.
    public func challenges(of certificate: String) -> String { challenges + certificate + "/" }
    /// One challenge of `certificate` (`FleetChallenge`, bound to the ordering node's lease).
    public func challenge(_ certificate: String, token: String) -> String { challenges(of: certificate) + token }
    /// Every acknowledgement starts with this.
    public var acks: String { prefix + "acks/" }
    /// The acknowledgements of one challenge, one per node.
    public func acks(of certificate: String, token: String) -> String { acks + certificate + "/" + token + "/" }
    /// Node `node`'s acknowledgement of one challenge (`FleetAck`, bound to its lease).
    public func ack(_ certificate: String, token: String, node: String) -> String { acks(of: certificate, token: token) + node }

    // MARK: Certificates and accounts

    /// Every sealed certificate version starts with this.
    public var certificates: String { prefix + "certificates/" }
    /// The versions of `certificate` (the current one and the one before).
    public func versions(of certificate: String) -> String { certificates + certificate + "/" }
    /// One version of `certificate` (`FleetCertificateVersion`, sealed).
    public func version(_ version: String, of certificate: String) -> String { versions(of: certificate) + version }
    /// Every current pointer starts with this (what the nodes watch for new versions).
    public var current: String { prefix + "current/" }
    /// The version of `certificate` every node deploys (`FleetCurrentPointer`).
    public func current(_ certificate: String) -> String { current + certificate }
    /// Every node's deployment note starts with this.
    public var deployed: String { prefix + "deployed/" }
    /// What each node deployed of `certificate`.
    public func deployed(of certificate: String) -> String { deployed + certificate + "/" }
    /// What node `node` deployed of `certificate` (`FleetDeployment`).
    public func deployed(_ certificate: String, node: String) -> String { deployed(of: certificate) + node }
    /// Every shared account file starts with this.
    public var accounts: String { prefix + "accounts/" }
    /// The account record at the CA whose directory URL is `directoryURL` (plain JSON: no key).
    public func accountRecord(directoryURL: String) -> String { accounts + StoreKeys.accountDirectoryName(directoryURL) + "/account.json" }
    /// The account key at the CA whose directory URL is `directoryURL` (sealed).
    public func accountKey(directoryURL: String) -> String { accounts + StoreKeys.accountDirectoryName(directoryURL) + "/account-key" }
    /// The lock a node holds while it registers (or publishes) the fleet's account at the CA of `directoryURL`
    /// (`FleetLockRecord`, bound to its lease).
    public func accountLock(directoryURL: String) -> String { accounts + StoreKeys.accountDirectoryName(directoryURL) + "/lock" }

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
