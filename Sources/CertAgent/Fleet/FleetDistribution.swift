import CertCrypto
import FoundationEssentials

/// The same certificate on every node. The ordering node writes the new version (sealed) with the `current/` pointer,
/// the shared renewal record and the account in one transaction, fenced by its lock (`publish`); every node —
/// watching `current/`, at start, and at each pass — compares the fleet's current version with its own, verifies the
/// new one (chain, key match, names, validity: `ChainVerifier`) and commits it to its local store through the same
/// staged, atomic commit as an issuance (`catchUp`); the caller then runs the node's own install and reload.
public struct FleetDistribution: Sendable {
    public let membership: FleetMembership
    public let seal: FleetSeal
    /// How many versions of a certificate etcd keeps (the current one and the one before).
    static let keptVersions = 2

    public init(membership: FleetMembership, seal: FleetSeal) {
        self.membership = membership
        self.seal = seal
    }

    /// An account file to share with a version: its store path's name under `accounts/<ca>/`, sealed when secret.
    public struct AccountFile: Sendable {
        public var key: String
        public var bytes: [UInt8]
        public var sealed: Bool

        public init(key: String, bytes: [UInt8], sealed: Bool) {
            self.key = key
            self.bytes = bytes
            self.sealed = sealed
        }
    }

    /// Writes `material` as the new current version of `certificate`, with `record` (its shared part) and `account`,
    /// in one transaction that succeeds only while `lock` is still held; returns the version's name.
    @discardableResult
    public func publish(_ material: CertificateMaterial, of certificate: String, lock: FleetHeldLock, record: RenewalRecord,
                        account: [AccountFile] = [], now: Date) throws -> String {
        let keys = membership.keys
        let versionName = CertificateStore.versionID(now)
        let version = FleetCertificateVersion(version: versionName, privateKeyPEM: material.privateKeyPEM, csrPEM: material.csrPEM,
                                              certificatePEM: material.certificatePEM, chainPEM: material.chainPEM, facts: material.facts,
                                              node: membership.node, issued: now)
        let versionKey = keys.version(versionName, of: certificate)
        var writes: [FleetWrite] = [
            .put(key: versionKey, value: try seal.sealJSON(version, for: versionKey), lease: 0),
            .put(key: keys.current(certificate), value: try FleetJSON.encode(FleetCurrentPointer(
                version: versionName, node: membership.node, at: now, serial: (try? Certificate(pem: material.certificatePEM))?.serialHex)), lease: 0),
            .put(key: keys.record(certificate), value: try FleetJSON.encode(record.fleetShared), lease: 0),
        ]
        for file in account {
            writes.append(.put(key: file.key, value: file.sealed ? try seal.seal(file.bytes, for: file.key) : file.bytes, lease: 0))
        }
        // Older versions beyond the one being replaced go in the same step.
        let previous = try current(of: certificate)?.version
        let existing = try membership.store.range(prefix: keys.versions(of: certificate)).entries.map(\.key)
        for key in existing where key != versionKey && key != previous.map({ keys.version($0, of: certificate) }) {
            writes.append(.delete(key: key))
        }
        guard try membership.store.transaction(if: [.modRevision(lock.key, lock.modRevision)], then: writes, otherwise: []) else {
            throw FleetLockLost(certificate: certificate)
        }
        return versionName
    }

    /// The fleet's current pointer of `certificate`, nil when the fleet has none.
    public func current(of certificate: String) throws -> FleetCurrentPointer? {
        try membership.store.get(membership.keys.current(certificate)).flatMap { FleetJSON.decode(FleetCurrentPointer.self, $0) }
    }

    /// The fleet's current version of `certificate`, opened; nil when the fleet has none.
    public func currentVersion(of certificate: String) throws -> FleetCertificateVersion? {
        guard let pointer = try current(of: certificate) else { return nil }
        let key = membership.keys.version(pointer.version, of: certificate)
        guard let entry = try membership.store.get(key) else { throw FleetVersionMissing(certificate: certificate, version: pointer.version) }
        return try seal.openJSON(FleetCertificateVersion.self, entry.value, from: key)
    }

    /// What `catchUp` did.
    public enum CatchUp: Sendable, Equatable {
        /// The fleet has no certificate of that name yet.
        case noneInFleet
        /// The local store already holds the fleet's current version.
        case upToDate(version: String)
        /// The fleet's version was verified and committed as the local `current`: deploy it now.
        case committed(version: String)
    }

    /// Brings the local store's `certificate` to the fleet's current version: nothing when it already holds it (the
    /// same leaf certificate), else the version is verified against the config's names and committed. Throws when the
    /// fleet's version cannot be opened or verified (the local one stays in service), or is older than the local one.
    public func catchUp(_ certificate: CertificateConfig, store: CertificateStore, now: Date) throws -> CatchUp {
        guard let pointer = try current(of: certificate.name) else { return .noneInFleet }
        let local = try store.linkedVersion(certificate.name)
        let localLeafPEM = try local.flatMap { try store.read($0.certificate) }.map { String(decoding: $0, as: UTF8.self) }
        // The usual pass: this node already has the fleet's leaf (no sealed version read).
        if let serial = pointer.serial, let localLeafPEM, (try? Certificate(pem: localLeafPEM))?.serialHex == serial {
            return .upToDate(version: pointer.version)
        }
        guard let version = try currentVersion(of: certificate.name) else { return .noneInFleet }
        if localLeafPEM == version.certificatePEM { return .upToDate(version: version.version) }
        let key = try PrivateKey(pem: version.privateKeyPEM)
        let chain = try ChainVerifier.verify(chainPEM: version.certificatePEM + version.chainPEM, key: key, domains: certificate.domains, now: now)
        if let localLeafPEM, let localLeaf = try? Certificate(pem: localLeafPEM), localLeaf.notBefore > chain[0].notBefore {
            throw FleetVersionOlder(certificate: certificate.name, version: version.version, localSerial: localLeaf.serialHex)
        }
        let staged = try store.stage(version.material, for: certificate.name, now: now)
        do { try store.commit(staged, for: certificate.name) } catch {
            store.discard(staged)
            throw error
        }
        return .committed(version: version.version)
    }

    /// Notes what this node deployed of `certificate` (`deployed/<cert>/<node>`, for `status`).
    public func noteDeployed(_ certificate: String, version: String, error: String?, now: Date) throws {
        let key = membership.keys.deployed(certificate, node: membership.node)
        try membership.store.put(key, value: try FleetJSON.encode(FleetDeployment(version: version, at: now, error: error)), lease: 0)
    }
}

/// The lock was lost before the new version could be published (the lease expired: a long pause or partition).
public struct FleetLockLost: Error, Sendable, CustomStringConvertible {
    public let certificate: String
    public var description: String {
        "lost the fleet's lock of \(certificate) before publishing (this node's etcd lease expired): the new version is kept here only; the fleet's next pass publishes or re-orders"
    }
}

/// `current/<cert>` names a version that is not there.
public struct FleetVersionMissing: Error, Sendable, CustomStringConvertible {
    public let certificate: String
    public let version: String
    public var description: String { "the fleet's current version \(version) of \(certificate) is missing from etcd" }
}

/// The fleet's version is older than what this node serves.
public struct FleetVersionOlder: Error, Sendable, CustomStringConvertible {
    public let certificate: String
    public let version: String
    public let localSerial: String
    public var description: String {
        "the fleet's current version \(version) of \(certificate) is older than the certificate this node serves (serial \(localSerial)): not installed"
    }
}
