import CertCrypto
import FoundationEssentials

/// `certagent cluster push`: moves a single server into a fleet by uploading its local store — every configured
/// certificate's current version (sealed), its renewal record's shared part, and the accounts (the key sealed) — into
/// an empty prefix, so the fleet's first node does not order anything again. A prefix that holds anything is refused:
/// the other nodes of a fleet catch up from etcd on their own.
public enum FleetPush {
    /// What was uploaded.
    public struct Report: Sendable, Equatable {
        public var certificates: [String] = []
        public var accounts: Int = 0
        /// Configured certificates the store has no version of (nothing uploaded for them).
        public var missing: [String] = []
    }

    /// The prefix already holds keys.
    public struct PrefixNotEmpty: Error, Sendable, CustomStringConvertible {
        public let prefix: String
        public let keys: Int
        public var description: String {
            "the prefix \(prefix) in etcd already holds \(keys) key(s): `cluster push` only fills an empty prefix (the first node of a new fleet); a node joining a running fleet catches up by itself when `certagent run` starts"
        }
    }

    /// The marker written first, in the same transaction as the first keys: a second push racing this one fails.
    static func marker(_ keys: FleetKeys) -> String { keys.pushed }

    /// The most writes in one transaction (etcd's default `--max-txn-ops` is 128).
    static let writesPerTransaction = 100

    public static func push(config: AgentConfig, store: CertificateStore, membership: FleetMembership, seal: FleetSeal, now: Date) throws -> Report {
        let keys = membership.keys
        let existing = try membership.store.range(prefix: keys.prefix).entries.count
        guard existing == 0 else { throw PrefixNotEmpty(prefix: keys.prefix, keys: existing) }
        var report = Report()
        var writes: [FleetWrite] = []
        let records = RenewalRecordStore(store: store)
        for certificate in config.certificates {
            guard let files = try store.linkedVersion(certificate.name) else {
                report.missing.append(certificate.name)
                continue
            }
            func text(_ path: String) throws -> String { String(decoding: try store.read(path) ?? [], as: UTF8.self) }
            let versionName = PathText.lastComponent(files.directory)
            let version = FleetCertificateVersion(version: versionName, privateKeyPEM: try text(files.privateKey), csrPEM: try text(files.csr),
                                                  certificatePEM: try text(files.certificate), chainPEM: try text(files.chain),
                                                  facts: store.issuanceFacts(of: certificate.name), node: membership.node, issued: now)
            let versionKey = keys.version(versionName, of: certificate.name)
            writes.append(.put(key: versionKey, value: try seal.sealJSON(version, for: versionKey), lease: 0))
            writes.append(.put(key: keys.current(certificate.name),
                               value: try FleetJSON.encode(FleetCurrentPointer(version: versionName, node: membership.node, at: now,
                                                                               serial: (try? Certificate(pem: version.certificatePEM))?.serialHex)), lease: 0))
            writes.append(.put(key: keys.record(certificate.name), value: try FleetJSON.encode(records.load(certificate.name).record.fleetShared), lease: 0))
            // The pushing node already serves this version: say so, as a node that installed it from the fleet would.
            writes.append(.put(key: keys.deployed(certificate.name, node: membership.node),
                               value: try FleetJSON.encode(FleetDeployment(version: versionName, at: now, error: nil)), lease: 0))
            report.certificates.append(certificate.name)
        }
        for authority in config.certificateAuthorities {
            if let bytes = try store.read(store.keys.accountRecord(directoryURL: authority.directoryURL)) {
                writes.append(.put(key: keys.accountRecord(directoryURL: authority.directoryURL), value: bytes, lease: 0))
                report.accounts += 1
            }
            if let bytes = try store.read(store.keys.accountKey(directoryURL: authority.directoryURL)) {
                let key = keys.accountKey(directoryURL: authority.directoryURL)
                writes.append(.put(key: key, value: try seal.seal(bytes, for: key), lease: 0))
            }
        }
        var batches = stride(from: 0, to: writes.count, by: writesPerTransaction).map { Array(writes[$0..<min($0 + writesPerTransaction, writes.count)]) }
        if batches.isEmpty { batches = [[]] }
        let pushed = FleetWrite.put(key: marker(keys), value: try FleetJSON.encode(FleetLockRecord(node: membership.node, since: now)), lease: 0)
        guard try membership.store.transaction(if: [.absent(marker(keys))], then: [pushed] + batches[0], otherwise: []) else {
            throw PrefixNotEmpty(prefix: keys.prefix, keys: 1)
        }
        for batch in batches.dropFirst() { try membership.store.transaction(if: [], then: batch, otherwise: []) }
        return report
    }
}
