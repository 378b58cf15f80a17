import Dispatch
import Etcd
import FoundationEssentials
import Synchronization

/// `FleetKeyValueStore` on a real etcd v3 cluster, through the `Etcd` module's client (the JSON gateway over libcurl):
/// the small adapter between the fleet's vocabulary and etcd's. An `EtcdError.unreachable` becomes
/// `FleetStoreError.unreachable`, so the fleet tells an outage from other errors.
public final class EtcdFleetStore: FleetKeyValueStore {
    public let client: EtcdClient

    public init(client: EtcdClient) { self.client = client }

    /// A client for the `cluster` block; `password` is the value of its `passwordSecret`, if any.
    public convenience init(cluster: ClusterConfig, password: String?) throws {
        let configuration = EtcdConfiguration(endpoints: cluster.endpoints, caFile: cluster.caFile, clientCertificateFile: cluster.certificateFile,
                                              clientKeyFile: cluster.keyFile, username: cluster.user, password: password,
                                              userAgent: "CertAgent/\(CertAgentVersion.current)")
        self.init(client: try EtcdClient(configuration: configuration))
    }

    /// Runs `body`, turning etcd's "no member answered" into the fleet's `unreachable`.
    private func call<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as EtcdError {
            switch error {
            case .unreachable: throw FleetStoreError.unreachable("\(error)")
            case .leaseNotFound(let id): throw FleetStoreError.leaseNotFound(id)
            default: throw error
            }
        }
    }

    static func entry(_ kv: EtcdKeyValue) -> FleetEntry {
        FleetEntry(key: kv.keyText, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, lease: kv.lease)
    }

    public func get(_ key: String) throws -> FleetEntry? {
        try call { try client.range(.key(key)).kvs.first.map(Self.entry) }
    }

    public func range(prefix: String) throws -> (entries: [FleetEntry], revision: Int64) {
        try call {
            let answer = try client.range(.prefix(prefix))
            return (answer.kvs.map(Self.entry).sorted { $0.key < $1.key }, answer.header.revision)
        }
    }

    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: Int64) throws -> Int64 {
        try call { try client.put(key: Array(key.utf8), value: value, lease: lease).header.revision }
    }

    public func delete(_ key: String) throws {
        _ = try call { try client.deleteRange(.key(key)) }
    }

    @discardableResult
    public func transaction(if conditions: [FleetCondition], then writes: [FleetWrite], otherwise: [FleetWrite]) throws -> Bool {
        func compare(_ condition: FleetCondition) -> EtcdCompare {
            switch condition {
            case .absent(let key): .absent(Array(key.utf8))
            case .modRevision(let key, let revision): .modRevision(Array(key.utf8), .equal, revision)
            }
        }
        func operation(_ write: FleetWrite) -> EtcdRequestOp {
            switch write {
            case .put(let key, let value, let lease): .put(key: Array(key.utf8), value: value, lease: lease)
            case .delete(let key): .deleteRange(.key(key))
            case .deletePrefix(let prefix): .deleteRange(.prefix(prefix))
            }
        }
        return try call {
            try client.txn(compare: conditions.map(compare), success: writes.map(operation), failure: otherwise.map(operation)).succeeded
        }
    }

    public func grantLease(ttl: Int) throws -> Int64 {
        try call { try client.leaseGrant(ttl: Int64(ttl)).id }
    }

    public func keepAlive(_ lease: Int64) throws {
        _ = try call { try client.leaseKeepAlive(id: lease) }
    }

    public func revokeLease(_ lease: Int64) throws {
        _ = try call { try client.leaseRevoke(id: lease) }
    }

    public func watch(prefix: String, fromRevision revision: Int64) throws -> any FleetWatch {
        let buffer = WatchBuffer()
        let watch = client.watch(.prefix(prefix), fromRevision: revision) { notice in buffer.receive(notice) }
        buffer.attach(watch)
        return buffer
    }

    /// The etcd watch's notices, queued for `next(timeout:)`.
    private final class WatchBuffer: FleetWatch {
        private struct State {
            var events: [FleetEvent] = []
            var ended: FleetStoreError?
            var watch: EtcdWatch?
        }
        private let state = Mutex(State())
        private let signal = DispatchSemaphore(value: 0)

        func attach(_ watch: EtcdWatch) { state.withLock { $0.watch = watch } }

        func receive(_ notice: EtcdWatchNotice) {
            switch notice {
            case .connected, .disconnected:
                return   // the client reconnects and resumes by itself
            case .events(let events):
                let converted = events.map { event -> FleetEvent in
                    switch event.kind {
                    case .put: .put(EtcdFleetStore.entry(event.kv))
                    case .delete: .delete(key: event.kv.keyText, revision: event.kv.modRevision)
                    }
                }
                state.withLock { $0.events += converted }
            case .compacted(let revision):
                state.withLock { $0.ended = .compacted(compactRevision: revision) }
            case .failed(let error):
                state.withLock { $0.ended = .unreachable("the watch ended: \(error)") }
            }
            signal.signal()
        }

        func next(timeout: Double) throws -> [FleetEvent] {
            let deadline = DispatchTime.now() + .milliseconds(Int(max(timeout, 0) * 1000))
            while true {
                let (events, ended) = state.withLock { state -> ([FleetEvent], FleetStoreError?) in
                    defer { state.events = [] }
                    return (state.events, state.ended)
                }
                if !events.isEmpty { return events }
                if let ended { throw ended }
                if signal.wait(timeout: deadline) == .timedOut { return [] }
            }
        }

        func cancel() {
            state.withLock { $0.watch }?.cancel()
            signal.signal()
        }
    }
}
