import FoundationEssentials

/// One key and its value as etcd v3 keeps it (`mvccpb.KeyValue`): revisions are the store-wide counter at the write.
public struct FleetEntry: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    /// The revision that created the key (since its last deletion).
    public var createRevision: Int64
    /// The revision of the last write of the key.
    public var modRevision: Int64
    /// The lease the key is bound to (0: none).
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.lease = lease
    }
}

/// A change a watch reports, in revision order (etcd's `mvccpb.Event`).
public enum FleetEvent: Sendable, Equatable {
    case put(FleetEntry)
    /// The key was deleted (by a delete, or because its lease expired or was revoked) at `revision`.
    case delete(key: String, revision: Int64)

    public var key: String {
        switch self {
        case .put(let entry): entry.key
        case .delete(let key, _): key
        }
    }

    public var revision: Int64 {
        switch self {
        case .put(let entry): entry.modRevision
        case .delete(_, let revision): revision
        }
    }
}

/// A condition of a transaction (etcd's `Compare`).
public enum FleetCondition: Sendable, Equatable {
    /// The key does not exist (`CREATE` revision `=` 0).
    case absent(String)
    /// The key's last write was at this revision (`MOD` revision `=`); 0: absent.
    case modRevision(String, Int64)
}

/// A write of a transaction (etcd's `RequestOp`).
public enum FleetWrite: Sendable, Equatable {
    /// Sets `key` to `value`, bound to `lease` (0: none).
    case put(key: String, value: [UInt8], lease: Int64)
    case delete(key: String)
    /// Deletes every key starting with `prefix`.
    case deletePrefix(String)
}

/// Why a key-value operation did not happen.
public enum FleetStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No member answered (no quorum, network split, every endpoint down): `reason` in words.
    case unreachable(String)
    /// The revision a watch resumed from was compacted away: read everything again from `compactRevision` on.
    case compacted(compactRevision: Int64)
    /// The lease expired or was revoked.
    case leaseNotFound(Int64)

    public var description: String {
        switch self {
        case .unreachable(let reason): "etcd is unreachable: \(reason)"
        case .compacted(let revision): "the watch's start revision was compacted (etcd keeps revisions from \(revision) on)"
        case .leaseNotFound(let lease): "the lease \(String(lease, radix: 16)) expired or was revoked"
        }
    }
}

/// A watch over a prefix: the events after a revision, in revision order.
public protocol FleetWatch: Sendable {
    /// The next events, waiting at most `timeout` seconds (0: only what is already there; `[]` when none came).
    /// Throws `FleetStoreError.compacted` when events were lost to compaction, `.unreachable` when the connection
    /// broke and could not be resumed.
    func next(timeout: Double) throws -> [FleetEvent]
    /// Ends the watch; a blocked `next` returns.
    func cancel()
}

/// What fleet mode needs of etcd v3, and nothing more: the `Etcd` module's client (through a small adapter) and
/// `InMemoryFleetStore` (for tests, with the same revision and lease semantics) implement it. Every call is blocking
/// and may throw `FleetStoreError.unreachable`.
public protocol FleetKeyValueStore: Sendable {
    /// The key's entry, or nil.
    func get(_ key: String) throws -> FleetEntry?
    /// Every key starting with `prefix`, sorted by key, and the store's revision at the read.
    func range(prefix: String) throws -> (entries: [FleetEntry], revision: Int64)
    /// Sets `key` (bound to `lease`, 0: none); returns the revision of the write.
    @discardableResult
    func put(_ key: String, value: [UInt8], lease: Int64) throws -> Int64
    /// Deletes `key` (nothing when absent).
    func delete(_ key: String) throws
    /// Applies `writes` in one revision when every condition holds, else `otherwise` (etcd's `Txn`); returns whether
    /// the conditions held.
    @discardableResult
    func transaction(if conditions: [FleetCondition], then writes: [FleetWrite], otherwise: [FleetWrite]) throws -> Bool
    /// A new lease of `ttl` seconds; returns its ID.
    func grantLease(ttl: Int) throws -> Int64
    /// Renews the lease for its TTL; throws `FleetStoreError.leaseNotFound` when it expired or was revoked.
    func keepAlive(_ lease: Int64) throws
    /// Ends the lease now: every key bound to it is deleted.
    func revokeLease(_ lease: Int64) throws
    /// Watches every key starting with `prefix`, from `revision` on (events with revision >= it).
    func watch(prefix: String, fromRevision revision: Int64) throws -> any FleetWatch
}

extension FleetKeyValueStore {
    /// Creates `key` only if it does not exist (a transaction on its create revision); returns whether it did.
    public func createIfAbsent(_ key: String, value: [UInt8], lease: Int64) throws -> Bool {
        try transaction(if: [.absent(key)], then: [.put(key: key, value: value, lease: lease)], otherwise: [])
    }

    /// Writes `key` only if its last write was at `expected` (0: absent); returns whether it did.
    public func compareAndSwap(_ key: String, expected: Int64, value: [UInt8], lease: Int64 = 0) throws -> Bool {
        try transaction(if: [.modRevision(key, expected)], then: [.put(key: key, value: value, lease: lease)], otherwise: [])
    }

    /// Deletes `key` only if its last write was at `expected`; returns whether it did.
    public func compareAndDelete(_ key: String, expected: Int64) throws -> Bool {
        try transaction(if: [.modRevision(key, expected)], then: [.delete(key: key)], otherwise: [])
    }
}
