import FoundationEssentials
import Logging
import Synchronization

/// This node in the fleet: its lease (TTL `leaseSeconds`, kept alive while it runs) and its presence key bound to it.
/// Everything the node holds in etcd — its presence, its locks, its published challenges, its acknowledgements — is
/// bound to this lease, so it all vanishes when the node dies and the lease expires.
public final class FleetMembership: Sendable {
    public let store: any FleetKeyValueStore
    public let keys: FleetKeys
    public let node: String
    public let leaseSeconds: Int
    /// Whether joining announces the node (`nodes/<node>`): the daemon does; a command (`renew`, `issue`) on the same
    /// server does not — its node is already announced by the daemon, which serves the other nodes' challenges.
    public let announces: Bool
    private let clock: any AgentClock
    private let lease = Mutex<Int64?>(nil)

    public init(store: any FleetKeyValueStore, keys: FleetKeys, node: String, leaseSeconds: Int, clock: any AgentClock,
                announces: Bool = true) {
        self.announces = announces
        self.store = store
        self.keys = keys
        self.node = node
        self.leaseSeconds = leaseSeconds
        self.clock = clock
    }

    public convenience init(store: any FleetKeyValueStore, cluster: ClusterConfig, clock: any AgentClock, announces: Bool = true) {
        self.init(store: store, keys: FleetKeys(prefix: cluster.prefix), node: cluster.node, leaseSeconds: cluster.leaseSeconds, clock: clock,
                  announces: announces)
    }

    /// The lease everything of this node is bound to: granted (and the node announced) when there is none yet.
    public func currentLease() throws -> Int64 {
        if let held = lease.withLock({ $0 }) { return held }
        return try join()
    }

    /// Grants a new lease and announces the node under it; returns the lease.
    @discardableResult
    public func join() throws -> Int64 {
        let granted = try store.grantLease(ttl: leaseSeconds)
        if announces {
            let record = FleetNodeRecord(node: node, started: clock.now(), version: CertAgentVersion.current)
            try store.put(keys.node(node), value: try FleetJSON.encode(record), lease: granted)
        }
        lease.withLock { $0 = granted }
        return granted
    }

    /// Renews the lease (call every `leaseSeconds / 3`). A lease that expired meanwhile (a long partition, a suspended
    /// machine) is replaced and the node announced again; returns false then: locks and challenges of the old lease
    /// are gone, and work that relied on them must stop.
    @discardableResult
    public func keepAlive() throws -> Bool {
        guard let held = lease.withLock({ $0 }) else {
            try join()
            return false
        }
        do {
            try store.keepAlive(held)
            return true
        } catch FleetStoreError.leaseNotFound {
            lease.withLock { if $0 == held { $0 = nil } }
            try join()
            return false
        }
    }

    /// Leaves the fleet: the lease is revoked, so this node's presence, locks and challenges go at once.
    public func leave() {
        guard let held = lease.withLock({ state -> Int64? in defer { state = nil }; return state }) else { return }
        try? store.revokeLease(held)
    }

    /// The nodes alive now (their presence keys exist), sorted.
    public func liveNodes() throws -> [FleetNodeRecord] {
        try store.range(prefix: keys.nodes).entries.compactMap { FleetJSON.decode(FleetNodeRecord.self, $0) }
    }
}
