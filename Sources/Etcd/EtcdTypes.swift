/// The keys a request covers: one key, or every key in `[key, rangeEnd)` (etcd's `key` and `range_end`).
public struct EtcdKeyRange: Sendable, Hashable {
    /// The first key (the only one when `rangeEnd` is empty).
    public let key: [UInt8]
    /// The end of the range, exclusive; empty = the key alone; `[0]` = every key from `key` on.
    public let rangeEnd: [UInt8]

    public init(key: [UInt8], rangeEnd: [UInt8] = []) {
        self.key = key
        self.rangeEnd = rangeEnd
    }

    /// The one key `key`.
    public static func key(_ key: [UInt8]) -> EtcdKeyRange { EtcdKeyRange(key: key) }
    /// The one key `key` (its UTF-8 bytes).
    public static func key(_ key: String) -> EtcdKeyRange { EtcdKeyRange(key: Array(key.utf8)) }

    /// Every key that starts with `prefix`: `range_end` is the prefix with its last byte incremented (trailing 0xFF
    /// bytes dropped first), as etcd's clients do; an empty or all-0xFF prefix covers every key from it on.
    public static func prefix(_ prefix: [UInt8]) -> EtcdKeyRange {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return EtcdKeyRange(key: prefix, rangeEnd: end)
            }
            end.removeLast()
        }
        return EtcdKeyRange(key: prefix.isEmpty ? [0] : prefix, rangeEnd: [0])
    }

    /// Every key that starts with `prefix` (its UTF-8 bytes).
    public static func prefix(_ prefix: String) -> EtcdKeyRange { .prefix(Array(prefix.utf8)) }

    /// Every key in `[from, to)`.
    public static func range(from: [UInt8], to: [UInt8]) -> EtcdKeyRange { EtcdKeyRange(key: from, rangeEnd: to) }
}

/// The header of every etcd answer: which member answered and the store's revision when it did.
public struct EtcdResponseHeader: Sendable, Equatable {
    public let clusterID: UInt64
    public let memberID: UInt64
    /// The key-value store's revision when the request was served (for a write, the revision it made).
    public let revision: Int64
    public let raftTerm: UInt64

    public init(clusterID: UInt64 = 0, memberID: UInt64 = 0, revision: Int64, raftTerm: UInt64 = 0) {
        self.clusterID = clusterID
        self.memberID = memberID
        self.revision = revision
        self.raftTerm = raftTerm
    }
}

/// One key and its value, with etcd's bookkeeping (`mvccpb.KeyValue`).
public struct EtcdKeyValue: Sendable, Equatable {
    public let key: [UInt8]
    /// Empty when the request asked for keys only, and in a DELETE event.
    public let value: [UInt8]
    /// The revision that created the key (0 in a DELETE event).
    public let createRevision: Int64
    /// The revision of the last change to the key (in a DELETE event: the deletion's revision).
    public let modRevision: Int64
    /// How many times the key was written since it was created (1 after the first put; 0 in a DELETE event).
    public let version: Int64
    /// The lease the key is bound to, 0 for none.
    public let lease: Int64

    public init(key: [UInt8], value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The key as text (invalid UTF-8 repaired), for messages and string-keyed callers.
    public var keyText: String { String(decoding: key, as: UTF8.self) }
    /// The value as text (invalid UTF-8 repaired).
    public var valueText: String { String(decoding: value, as: UTF8.self) }
}

/// The answer to `range`.
public struct EtcdRangeResponse: Sendable, Equatable {
    public let header: EtcdResponseHeader
    /// The keys found, in key order, at most `limit` of them.
    public let kvs: [EtcdKeyValue]
    /// True when `limit` cut the answer short.
    public let more: Bool
    /// How many keys the range holds in all (not only those returned).
    public let count: Int64
}

/// The answer to `put`.
public struct EtcdPutResponse: Sendable, Equatable {
    public let header: EtcdResponseHeader
    /// The key as it was before the put, when asked for (`prevKV`) and the key existed.
    public let prevKV: EtcdKeyValue?
}

/// The answer to `deleteRange`.
public struct EtcdDeleteRangeResponse: Sendable, Equatable {
    public let header: EtcdResponseHeader
    /// How many keys were deleted.
    public let deleted: Int64
    /// The deleted keys as they were, when asked for (`prevKV`).
    public let prevKVs: [EtcdKeyValue]
}

/// One comparison of a transaction's guard (`etcdserverpb.Compare`): a key's revision, version, value or lease
/// against a given one.
public struct EtcdCompare: Sendable, Equatable {
    /// How the key's field relates to the given one.
    public enum Relation: String, Sendable {
        case equal = "EQUAL"
        case greater = "GREATER"
        case less = "LESS"
        case notEqual = "NOT_EQUAL"
    }

    /// Which field of the key is compared, and with what.
    public enum Target: Sendable, Equatable {
        /// The revision that created the key; 0 = the key does not exist.
        case createRevision(Int64)
        /// The revision of the key's last change; 0 = the key does not exist.
        case modRevision(Int64)
        /// How many times the key was written; 0 = the key does not exist.
        case version(Int64)
        /// The key's value.
        case value([UInt8])
        /// The lease the key is bound to.
        case lease(Int64)
    }

    public let key: [UInt8]
    /// Empty: the key alone; otherwise every key in `[key, rangeEnd)` must satisfy the comparison.
    public let rangeEnd: [UInt8]
    public let relation: Relation
    public let target: Target

    public init(key: [UInt8], rangeEnd: [UInt8] = [], _ relation: Relation, _ target: Target) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.relation = relation
        self.target = target
    }

    /// True when `key` does not exist (its create revision is 0): the guard of a create-if-absent transaction.
    public static func absent(_ key: [UInt8]) -> EtcdCompare { EtcdCompare(key: key, .equal, .createRevision(0)) }
    /// Compares `key`'s create revision.
    public static func createRevision(_ key: [UInt8], _ relation: Relation, _ revision: Int64) -> EtcdCompare {
        EtcdCompare(key: key, relation, .createRevision(revision))
    }
    /// Compares `key`'s last-change revision: `.modRevision(key, .equal, seen)` is compare-and-swap.
    public static func modRevision(_ key: [UInt8], _ relation: Relation, _ revision: Int64) -> EtcdCompare {
        EtcdCompare(key: key, relation, .modRevision(revision))
    }
    /// Compares `key`'s version.
    public static func version(_ key: [UInt8], _ relation: Relation, _ version: Int64) -> EtcdCompare {
        EtcdCompare(key: key, relation, .version(version))
    }
    /// Compares `key`'s value.
    public static func value(_ key: [UInt8], _ relation: Relation, _ value: [UInt8]) -> EtcdCompare {
        EtcdCompare(key: key, relation, .value(value))
    }
}

/// One operation of a transaction branch (`etcdserverpb.RequestOp`).
public enum EtcdRequestOp: Sendable, Equatable {
    /// Reads keys, as `EtcdClient.range`.
    case range(EtcdKeyRange, revision: Int64 = 0, limit: Int64 = 0, keysOnly: Bool = false)
    /// Writes a key, as `EtcdClient.put`.
    case put(key: [UInt8], value: [UInt8], lease: Int64 = 0, prevKV: Bool = false)
    /// Deletes keys, as `EtcdClient.deleteRange`.
    case deleteRange(EtcdKeyRange, prevKV: Bool = false)
}

/// The answer to one operation of a transaction, in the order of the operations.
public enum EtcdResponseOp: Sendable, Equatable {
    case range(EtcdRangeResponse)
    case put(EtcdPutResponse)
    case deleteRange(EtcdDeleteRangeResponse)
}

/// The answer to `txn`.
public struct EtcdTxnResponse: Sendable, Equatable {
    public let header: EtcdResponseHeader
    /// True when every comparison held and the `success` branch ran; false when the `failure` branch ran.
    public let succeeded: Bool
    /// The answers of the branch that ran, one per operation.
    public let responses: [EtcdResponseOp]
}

/// A lease: keys bound to it are deleted when it expires or is revoked.
public struct EtcdLease: Sendable, Equatable {
    public let header: EtcdResponseHeader
    public let id: Int64
    /// Seconds the lease lives without a keepalive (after a keepalive: from now).
    public let ttl: Int64
}

/// One change seen by a watch.
public struct EtcdEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case put
        case delete
    }

    public let kind: Kind
    /// The key after the change; for a DELETE only `key` and `modRevision` (the deletion's revision) are set.
    public let kv: EtcdKeyValue
    /// The key before the change, when the watch asked for it (`prevKV`) and the key existed.
    public let prevKV: EtcdKeyValue?
}

/// What a watch reports, in order, to its handler.
public enum EtcdWatchNotice: Sendable, Equatable {
    /// The watch is established on `endpoint`; changes from `nextRevision` on follow. Reported at the start and after
    /// every reconnect.
    case connected(endpoint: String, nextRevision: Int64)
    /// Changes, in revision order, each exactly once across reconnects.
    case events([EtcdEvent])
    /// The connection was lost (the member stopped, or refused the watch); the watch reconnects — to the next member
    /// when this one stays away — and resumes from the revision after the last one delivered.
    case disconnected(EtcdError)
    /// The revisions the watch had to resume from were compacted away: changes were lost. The watch has ended; the
    /// caller reloads its state with `range` and starts a new watch from that answer's revision + 1.
    case compacted(compactRevision: Int64)
    /// The watch ended for good: an error it cannot retry (authentication refused, an invalid request). Not reported
    /// after `cancel()`.
    case failed(EtcdError)
}
