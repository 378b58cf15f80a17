import CertAgent
import Foundation
import Synchronization

/// etcd v3 in memory, with the semantics fleet mode relies on: one revision counter for every write (a transaction's
/// writes share one revision), create and mod revisions, leases that expire on an injected clock (keys bound to a lease
/// are deleted when it expires, as etcd's lessor does), watches that deliver every event after a revision in order,
/// compaction, and an unreachable switch (every call fails as a cluster without quorum would).
public final class InMemoryFleetStore: FleetKeyValueStore {
    private struct Lease {
        var ttl: Int
        var expiresAt: Date
    }

    private struct State {
        var revision: Int64 = 1
        var entries: [String: FleetEntry] = [:]
        var history: [FleetEvent] = []
        var compactedBefore: Int64 = 0
        var leases: [Int64: Lease] = [:]
        var nextLease: Int64 = 0x1000
        var reachable = true
        var requests = 0
    }

    private let state = Mutex(State())
    private let clock: any AgentClock

    public init(clock: any AgentClock) { self.clock = clock }

    // MARK: Test controls

    /// Makes every call fail with `FleetStoreError.unreachable` (false) or work again (true).
    public func setReachable(_ reachable: Bool) { state.withLock { $0.reachable = reachable } }

    /// Forgets the history before `revision`: a watch from an earlier revision fails with `.compacted`.
    public func compact(before revision: Int64) { state.withLock { $0.compactedBefore = revision; $0.history.removeAll { $0.revision < revision } } }

    /// Every key and value, as `etcdctl get --prefix ""` would show them.
    public var everything: [FleetEntry] { state.withLock { $0.entries.values.sorted { $0.key < $1.key } } }

    /// How many calls were made (watch polls not counted).
    public var requestCount: Int { state.withLock { $0.requests } }

    /// The current revision.
    public var revision: Int64 { state.withLock { $0.revision } }

    // MARK: FleetKeyValueStore

    public func get(_ key: String) throws -> FleetEntry? {
        try access { $0.entries[key] }
    }

    public func range(prefix: String) throws -> (entries: [FleetEntry], revision: Int64) {
        try access { state in (state.entries.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }, state.revision) }
    }

    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: Int64) throws -> Int64 {
        try access { state in
            guard lease == 0 || state.leases[lease] != nil else { throw FleetStoreError.leaseNotFound(lease) }
            state.revision += 1
            Self.apply(.put(key: key, value: value, lease: lease), to: &state)
            return state.revision
        }
    }

    public func delete(_ key: String) throws {
        try access { state in
            guard state.entries[key] != nil else { return }
            state.revision += 1
            Self.apply(.delete(key: key), to: &state)
        }
    }

    @discardableResult
    public func transaction(if conditions: [FleetCondition], then writes: [FleetWrite], otherwise: [FleetWrite]) throws -> Bool {
        try access { state in
            let holds = conditions.allSatisfy { condition in
                switch condition {
                case .absent(let key): state.entries[key] == nil
                case .modRevision(let key, let revision): (state.entries[key]?.modRevision ?? 0) == revision
                }
            }
            let chosen = holds ? writes : otherwise
            for case .put(_, _, let lease) in chosen where lease != 0 && state.leases[lease] == nil {
                throw FleetStoreError.leaseNotFound(lease)
            }
            if !chosen.isEmpty {
                state.revision += 1
                for write in chosen { Self.apply(write, to: &state) }
            }
            return holds
        }
    }

    public func grantLease(ttl: Int) throws -> Int64 {
        let now = clock.now()
        return try access { state in
            state.nextLease += 1
            state.leases[state.nextLease] = Lease(ttl: ttl, expiresAt: now.addingTimeInterval(TimeInterval(ttl)))
            return state.nextLease
        }
    }

    public func keepAlive(_ lease: Int64) throws {
        let now = clock.now()
        try access { state in
            guard var held = state.leases[lease] else { throw FleetStoreError.leaseNotFound(lease) }
            held.expiresAt = now.addingTimeInterval(TimeInterval(held.ttl))
            state.leases[lease] = held
        }
    }

    public func revokeLease(_ lease: Int64) throws {
        try access { state in
            guard state.leases.removeValue(forKey: lease) != nil else { throw FleetStoreError.leaseNotFound(lease) }
            Self.deleteKeys(of: [lease], in: &state)
        }
    }

    public func watch(prefix: String, fromRevision revision: Int64) throws -> any FleetWatch {
        try access { _ in }
        return Watch(store: self, prefix: prefix, cursor: revision)
    }

    // MARK: Internals

    /// Runs `body` on the state after expiring leases, counting the call; fails when unreachable.
    private func access<T>(_ body: (inout State) throws -> T) throws -> T {
        let now = clock.now()
        return try state.withLock { state in
            guard state.reachable else { throw FleetStoreError.unreachable("no member answered (test)") }
            state.requests += 1
            Self.expireLeases(now: now, in: &state)
            return try body(&state)
        }
    }

    private static func expireLeases(now: Date, in state: inout State) {
        let expired = state.leases.filter { $0.value.expiresAt <= now }.map(\.key).sorted()
        guard !expired.isEmpty else { return }
        for lease in expired { state.leases[lease] = nil }
        deleteKeys(of: expired, in: &state)
    }

    private static func deleteKeys(of leases: [Int64], in state: inout State) {
        let bound = state.entries.values.filter { leases.contains($0.lease) }.map(\.key).sorted()
        guard !bound.isEmpty else { return }
        state.revision += 1
        for key in bound { apply(.delete(key: key), to: &state) }
    }

    /// Applies one write at `state.revision` (already advanced by the caller).
    private static func apply(_ write: FleetWrite, to state: inout State) {
        switch write {
        case .put(let key, let value, let lease):
            let created = state.entries[key]?.createRevision ?? state.revision
            let entry = FleetEntry(key: key, value: value, createRevision: created, modRevision: state.revision, lease: lease)
            state.entries[key] = entry
            state.history.append(.put(entry))
        case .delete(let key):
            guard state.entries.removeValue(forKey: key) != nil else { return }
            state.history.append(.delete(key: key, revision: state.revision))
        case .deletePrefix(let prefix):
            for key in state.entries.keys.filter({ $0.hasPrefix(prefix) }).sorted() { apply(.delete(key: key), to: &state) }
        }
    }

    fileprivate func events(prefix: String, from cursor: Int64) throws -> [FleetEvent] {
        let now = clock.now()
        return try state.withLock { state in
            guard state.reachable else { throw FleetStoreError.unreachable("the watch connection broke (test)") }
            Self.expireLeases(now: now, in: &state)
            if cursor < state.compactedBefore { throw FleetStoreError.compacted(compactRevision: state.compactedBefore) }
            return state.history.filter { $0.revision >= cursor && $0.key.hasPrefix(prefix) }
        }
    }

    private final class Watch: FleetWatch {
        let store: InMemoryFleetStore
        let prefix: String
        let cursor: Mutex<Int64>
        let cancelled = Atomic<Bool>(false)

        init(store: InMemoryFleetStore, prefix: String, cursor: Int64) {
            self.store = store
            self.prefix = prefix
            self.cursor = Mutex(cursor)
        }

        func next(timeout: Double) throws -> [FleetEvent] {
            let deadline = Date().addingTimeInterval(timeout)
            while !cancelled.load(ordering: .relaxed) {
                let from = cursor.withLock { $0 }
                let events = try store.events(prefix: prefix, from: from)
                if let last = events.last {
                    cursor.withLock { $0 = last.revision + 1 }
                    return events
                }
                if Date() >= deadline { return [] }
                usleep(2_000)
            }
            return []
        }

        func cancel() { cancelled.store(true, ordering: .relaxed) }
    }
}
