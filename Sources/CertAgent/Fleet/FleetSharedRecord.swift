import FoundationEssentials

/// The part of a renewal record the fleet shares (`records/<cert>`): the schedule and the backoff — failures, the CA's
/// `Retry-After`, the chosen renewal time, renewal information (ARI), the fallback CA — so every node decides from one
/// schedule and the fleet makes one renewal, not one per node. What a node did locally (its deployment, the summary of
/// its own files, its own order in flight) stays in its own `renewal.json`.
extension RenewalRecord {
    /// This record without the node's own fields (`nodeOwnFields`): what is written to `records/<cert>`.
    public var fleetShared: RenewalRecord { withNodeOwnFields(of: RenewalRecord()) }

    /// The fleet's `shared` schedule with this node's own fields kept.
    public func adopting(fleet shared: RenewalRecord) -> RenewalRecord { shared.withNodeOwnFields(of: self) }
}

extension RenewalRecord {
    /// One field of a renewal record, for `merged` and the node-own list.
    private struct Field {
        let same: (RenewalRecord, RenewalRecord) -> Bool
        let copy: (inout RenewalRecord, RenewalRecord) -> Void

        init<Value: Equatable>(_ path: WritableKeyPath<RenewalRecord, Value>) {
            same = { $0[keyPath: path] == $1[keyPath: path] }
            copy = { $0[keyPath: path] = $1[keyPath: path] }
        }
    }

    /// What a node did locally — its deployment, the summary of its own files, its own order in flight — which stays
    /// in its own `renewal.json` and never goes to the fleet: the one list `fleetShared` and `adopting` both follow.
    private static var nodeOwnFields: [Field] {
        [Field(\.deployError), Field(\.nextDeployAttempt), Field(\.deployedVersion), Field(\.deployedReload),
         Field(\.certificateSummary), Field(\.inFlightSince)]
    }

    /// This record with its node's own fields taken from `source`.
    fileprivate func withNodeOwnFields(of source: RenewalRecord) -> RenewalRecord {
        var record = self
        for field in Self.nodeOwnFields { field.copy(&record, source) }
        return record
    }

    /// The shared fields in the groups that change together: a group this node changed is taken whole from its record.
    private static var sharedFieldGroups: [[Field]] {
        [[Field(\.failures), Field(\.lastFailure), Field(\.lastError), Field(\.retryAfter),
          Field(\.failedAuthority), Field(\.failuresAtAuthority), Field(\.authorityRetryAfter)],
         [Field(\.chosenRenewalTime), Field(\.chosenForSerial), Field(\.chosenFromWindow)],
         [Field(\.ariCertificateID), Field(\.ariWindow), Field(\.ariExplanationURL), Field(\.ariFetched), Field(\.nextARICheck)],
         [Field(\.formatVersion)]]
    }

    /// The shared record after a write conflict: `mine` is what this node meant to write over `base` (what it had read;
    /// nil: none existed), `theirs` what another node wrote meanwhile. A renewal wins over everything (it starts the
    /// record afresh: this node's, else the other node's, whose success makes this node's edits of the replaced
    /// certificate moot); otherwise each group of fields (failures and backoff, the chosen renewal time, ARI) this node
    /// changed is taken from `mine`, and every other from `theirs`.
    public static func merged(mine: RenewalRecord, base: RenewalRecord?, theirs: RenewalRecord) -> RenewalRecord {
        let base = base?.fleetShared ?? RenewalRecord()
        let mine = mine.fleetShared, theirs = theirs.fleetShared
        if mine.lastRenewed != base.lastRenewed { return mine }
        if theirs.lastRenewed != base.lastRenewed { return theirs }
        var merged = theirs
        for group in sharedFieldGroups where group.contains(where: { !$0.same(mine, base) }) {
            for field in group { field.copy(&merged, mine) }
        }
        return merged
    }
}

/// Reading and writing `records/<cert>`: every write is a compare-and-swap on the record's mod revision, so a node
/// never overwrites what another wrote since it read (`save`).
public enum FleetRecords {
    /// The record as read, with the mod revision it was read at (0: there was none).
    public struct Read: Sendable, Equatable {
        public var record: RenewalRecord?
        public var revision: Int64
    }

    /// How often a conflicting write is merged and tried again before giving up (each retry means another node wrote
    /// in between: a handful is plenty for a fleet).
    static let attempts = 8

    /// The fleet's record of `certificate`, nil when none was written yet (or it does not decode).
    public static func load(_ certificate: String, membership: FleetMembership) throws -> RenewalRecord? {
        try read(certificate, membership: membership).record
    }

    /// The fleet's record of `certificate` with its mod revision.
    public static func read(_ certificate: String, membership: FleetMembership) throws -> Read {
        guard let entry = try membership.store.get(membership.keys.record(certificate)) else { return Read(record: nil, revision: 0) }
        return Read(record: try? StoreJSON.decode(RenewalRecord.self, from: entry.value), revision: entry.modRevision)
    }

    /// Writes the shared part of `record` (`fleetShared`), made from `base` (what this node read; nil: what is there
    /// now), only if nobody wrote since — else merges it with what is there (`RenewalRecord.merged`) and tries again.
    /// Returns what was written, as the base of this node's next write.
    @discardableResult
    public static func save(_ record: RenewalRecord, of certificate: String, base: Read? = nil, membership: FleetMembership) throws -> Read {
        let key = membership.keys.record(certificate)
        var base = try base ?? read(certificate, membership: membership)
        var writing = record.fleetShared
        for _ in 0..<attempts {
            if try membership.store.compareAndSwap(key, expected: base.revision, value: try FleetJSON.encode(writing)) {
                // The revision of this write: when another write followed at once, a revision no write has, so the next
                // write from here merges with it rather than overwrite it.
                let now = try read(certificate, membership: membership)
                return Read(record: writing, revision: now.record == writing ? now.revision : -1)
            }
            let theirs = try read(certificate, membership: membership)
            writing = RenewalRecord.merged(mine: writing, base: base.record, theirs: theirs.record ?? RenewalRecord())
            base = theirs
        }
        throw FleetRecordContention(certificate: certificate, attempts: attempts)
    }
}

/// The shared record changed under every attempt to write it.
public struct FleetRecordContention: Error, Sendable, CustomStringConvertible {
    public let certificate: String
    public let attempts: Int
    public var description: String {
        "the fleet's renewal record of \(certificate) changed under each of \(attempts) attempts to write it: this node's change is kept locally and written at its next pass"
    }
}
