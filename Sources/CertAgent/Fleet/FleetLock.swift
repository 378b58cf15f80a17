import ACME
import FoundationEssentials

/// A certificate's ordering lock, held by this node (`locks/<cert>`): created in a transaction only if absent, bound to
/// the node's lease — so at most one node of the fleet orders a certificate at a time, and a node that dies loses the
/// lock with its lease. `modRevision` fences later writes: a publication succeeds only while this very lock is held.
public struct FleetHeldLock: Sendable, Equatable {
    public let certificate: String
    public let key: String
    public let modRevision: Int64
}

/// The fleet's lock of one certificate was not free.
public struct FleetLockBusy: Error, Sendable, Equatable, CustomStringConvertible {
    public let certificate: String
    public let holder: FleetLockRecord

    public var description: String {
        "node \(holder.node) is getting this certificate for the fleet (lock held since \(TimeText.human(holder.since))): nothing ordered here"
    }
}

/// Taking and giving back a certificate's ordering lock.
public enum FleetLocking {
    /// Takes the lock of `certificate` for `membership`'s node; throws `FleetLockBusy` naming the holder when another
    /// node holds it. A lock this node still holds from before (a restart within the lease) is not taken over: it is
    /// bound to the old lease and goes with it.
    public static func acquire(_ certificate: String, membership: FleetMembership, now: Date) throws -> FleetHeldLock {
        let key = membership.keys.lock(certificate)
        let lease = try membership.currentLease()
        let record = FleetLockRecord(node: membership.node, since: now)
        if try membership.store.createIfAbsent(key, value: try FleetJSON.encode(record), lease: lease),
           let entry = try membership.store.get(key), entry.lease == lease {
            return FleetHeldLock(certificate: certificate, key: key, modRevision: entry.modRevision)
        }
        let holder = try membership.store.get(key).flatMap { FleetJSON.decode(FleetLockRecord.self, $0) }
            ?? FleetLockRecord(node: "(unknown)", since: now)
        throw FleetLockBusy(certificate: certificate, holder: holder)
    }

    /// Gives the lock back (only if it is still the one taken: never another node's).
    public static func release(_ lock: FleetHeldLock, membership: FleetMembership) {
        _ = try? membership.store.compareAndDelete(lock.key, expected: lock.modRevision)
    }

    /// Every lock held now: certificate name → holder.
    public static func holders(membership: FleetMembership) throws -> [String: FleetLockRecord] {
        var holders: [String: FleetLockRecord] = [:]
        for entry in try membership.store.range(prefix: membership.keys.locks).entries {
            guard let name = membership.keys.components(of: entry.key, below: membership.keys.locks)?.first,
                  let record = FleetJSON.decode(FleetLockRecord.self, entry) else { continue }
            holders[name] = record
        }
        return holders
    }
}
