import FoundationEssentials

/// The part of a renewal record the fleet shares (`records/<cert>`): the schedule and the backoff — failures, the CA's
/// `Retry-After`, the chosen renewal time, renewal information (ARI), the fallback CA — so every node decides from one
/// schedule and the fleet makes one renewal, not one per node. What a node did locally (its deployment, the summary of
/// its own files, its own order in flight) stays in its own `renewal.json`.
extension RenewalRecord {
    /// This record without the node's own fields: what is written to `records/<cert>`.
    public var fleetShared: RenewalRecord {
        var shared = self
        shared.deployError = nil
        shared.nextDeployAttempt = nil
        shared.deployedVersion = nil
        shared.deployedReload = nil
        shared.certificateSummary = nil
        shared.inFlightSince = nil
        return shared
    }

    /// The fleet's `shared` schedule with this node's own fields kept.
    public func adopting(fleet shared: RenewalRecord) -> RenewalRecord {
        var merged = shared.fleetShared
        merged.deployError = deployError
        merged.nextDeployAttempt = nextDeployAttempt
        merged.deployedVersion = deployedVersion
        merged.deployedReload = deployedReload
        merged.certificateSummary = certificateSummary
        merged.inFlightSince = inFlightSince
        return merged
    }
}

/// Reading and writing `records/<cert>`.
public enum FleetRecords {
    /// The fleet's record of `certificate`, nil when none was written yet (or it does not decode).
    public static func load(_ certificate: String, membership: FleetMembership) throws -> RenewalRecord? {
        try membership.store.get(membership.keys.record(certificate)).flatMap { try? StoreJSON.decode(RenewalRecord.self, from: $0.value) }
    }

    /// Writes the shared part of `record` (`fleetShared`).
    public static func save(_ record: RenewalRecord, of certificate: String, membership: FleetMembership) throws {
        try membership.store.put(membership.keys.record(certificate), value: try FleetJSON.encode(record.fleetShared), lease: 0)
    }
}
