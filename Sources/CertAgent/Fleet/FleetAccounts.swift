import CertCrypto
import FoundationEssentials
import Logging

/// One ACME account per CA for the whole fleet (an account is its key, RFC 8555 §7.3): N accounts would spread the
/// fleet's orders, rate limits and ARI `replaces` over N identities. Before a node connects to a CA (`connect`):
/// - the fleet has the account (`accounts/<ca>/account-key`, sealed, with `account.json`): the node adopts it into its
///   local store — only once it opens with this node's master key and reads as an account key; otherwise it refuses,
///   says why, and registers nothing — and connects with it: the CA finds the account, nothing is registered;
/// - the fleet has none: the node takes the account lock (`accounts/<ca>/lock`, created only if absent, bound to its
///   lease), connects — registering, or using the account its store already has — and publishes the account (key
///   sealed) fenced by the lock. The other nodes wait for it meanwhile, and take the lock over when its holder dies;
/// - etcd does not answer: a node that already has an account uses it; one without registers nothing (that would be
///   a second account) and waits (`FleetAccountUnavailable`).
public struct FleetAccounts: Sendable {
    public let membership: FleetMembership
    public let seal: FleetSeal
    private let clock: any AgentClock
    /// How long a node waits for another one holding the account lock: a dead holder's lease is gone by then.
    private let waitLimit: TimeInterval
    /// How often the account is looked for again while another node holds the lock.
    static let pollInterval: TimeInterval = 0.2

    public init(membership: FleetMembership, seal: FleetSeal, clock: any AgentClock) {
        self.membership = membership
        self.seal = seal
        self.clock = clock
        waitLimit = TimeInterval(3 * membership.leaseSeconds)
    }

    /// What was done with the fleet's account before connecting.
    public enum Outcome: Sendable, Equatable {
        /// The local store already held the fleet's account.
        case alreadyShared
        /// The fleet's account was written into the local store (replacing the local account key, when there was one).
        case adopted(replacedLocalKey: Bool)
        /// The fleet had none: this node's account (registered or found) was published for the fleet.
        case published
    }

    /// Makes the local store hold the fleet's account at `directoryURL`, then runs `connect` (which registers only when
    /// this node is the one publishing the fleet's account). Throws `FleetAccountUnusable` when the fleet's account
    /// does not open here, `FleetAccountBusy` when another node held the lock too long, and `FleetStoreError` from etcd.
    public func connect<T>(directoryURL: String, store: CertificateStore, masterKey: MasterKey, logger: Logger,
                           _ connect: () throws -> T) throws -> (T, Outcome) {
        let keys = membership.keys
        let lockKey = keys.accountLock(directoryURL: directoryURL)
        let deadline = clock.now().addingTimeInterval(waitLimit)
        var saidWaiting = false
        while true {
            if let adopted = try adoptIfShared(directoryURL: directoryURL, store: store, masterKey: masterKey, logger: logger) {
                return (try connect(), adopted)
            }
            let lease = try membership.currentLease()
            let record = FleetLockRecord(node: membership.node, since: clock.now())
            if try membership.store.createIfAbsent(lockKey, value: try FleetJSON.encode(record), lease: lease),
               let held = try membership.store.get(lockKey), held.lease == lease {
                defer { _ = try? membership.store.compareAndDelete(lockKey, expected: held.modRevision) }
                // Another node may have published between the read above and the lock.
                if let adopted = try adoptIfShared(directoryURL: directoryURL, store: store, masterKey: masterKey, logger: logger) {
                    return (try connect(), adopted)
                }
                let connected = try connect()
                let published = try publish(directoryURL: directoryURL, store: store, lockRevision: held.modRevision)
                if published {
                    logger.notice("published this node's ACME account for the fleet", metadata: ["directory": "\(directoryURL)"])
                } else {
                    logger.warning("could not publish this node's ACME account for the fleet (its lease expired meanwhile): the next connection tries again",
                                   metadata: ["directory": "\(directoryURL)"])
                }
                return (connected, .published)
            }
            let holder = try membership.store.get(lockKey).flatMap { FleetJSON.decode(FleetLockRecord.self, $0) }
            guard clock.now() < deadline else { throw FleetAccountBusy(directoryURL: directoryURL, holder: holder?.node ?? "(unknown)") }
            if !saidWaiting, let holder {
                logger.info("node \(holder.node) is registering the fleet's ACME account: waiting for it", metadata: ["directory": "\(directoryURL)"])
                saidWaiting = true
            }
            try clock.sleep(seconds: Self.pollInterval)
        }
    }

    /// Writes the fleet's account into the local store when the fleet has one (nil: it has none). The sealed key must
    /// open with this node's master key and decrypt as an account key, else nothing is written.
    func adoptIfShared(directoryURL: String, store: CertificateStore, masterKey: MasterKey, logger: Logger) throws -> Outcome? {
        let keys = membership.keys
        let etcdKey = keys.accountKey(directoryURL: directoryURL)
        guard let entry = try membership.store.get(etcdKey) else { return nil }
        var keyFileBytes: [UInt8]
        do { keyFileBytes = try seal.open(entry.value, from: etcdKey) } catch {
            throw FleetAccountUnusable(etcdKey: etcdKey, reason: "\(error)")
        }
        defer { SecureMemory.cleanse(&keyFileBytes) }
        let fleetKey: PrivateKey
        do { fleetKey = try AccountKeyFile.decrypt(String(decoding: keyFileBytes, as: UTF8.self), path: etcdKey, masterKey: masterKey) } catch {
            throw FleetAccountUnusable(etcdKey: etcdKey, reason: "it opens, but is not an account key this node's master key decrypts (\(error))")
        }
        let fleetRecord = try membership.store.get(keys.accountRecord(directoryURL: directoryURL))
            .flatMap { try? StoreJSON.decode(AccountRecord.self, from: $0.value) }
        let keyFile = store.keys.accountKey(directoryURL: directoryURL)
        let localKey = FileManager.default.fileExists(atPath: keyFile) ? try? AccountKeyFile.read(keyFile, masterKey: masterKey) : nil
        let fleetThumbprint = try fleetKey.jwkThumbprint()
        if let localKey, (try? localKey.jwkThumbprint()) == fleetThumbprint {
            if store.accountRecord(directoryURL: directoryURL) == nil, let fleetRecord { try store.saveAccountRecord(fleetRecord, directoryURL: directoryURL) }
            return .alreadyShared
        }
        let replaced = FileManager.default.fileExists(atPath: keyFile)
        if replaced {
            let previous = store.accountRecord(directoryURL: directoryURL)?.url ?? "unknown URL"
            logger.warning("this node's own ACME account (\(previous)) is replaced by the fleet's: the fleet orders from one account; the old one stays at the CA unused",
                           metadata: ["directory": "\(directoryURL)"])
        }
        try AtomicFile.makeDirectory(store.keys.account(directoryURL: directoryURL))
        try AtomicFile.write(keyFileBytes, to: keyFile, mode: 0o600)
        if let fleetRecord { try store.saveAccountRecord(fleetRecord, directoryURL: directoryURL) }
        logger.notice("adopted the fleet's ACME account", metadata: ["directory": "\(directoryURL)", "account": "\(fleetRecord?.url ?? "not recorded")"])
        return .adopted(replacedLocalKey: replaced)
    }

    /// Publishes the local store's account at `directoryURL` (record plain, key file sealed) while the account lock of
    /// revision `lockRevision` is held and the fleet has no account yet; returns whether it did.
    func publish(directoryURL: String, store: CertificateStore, lockRevision: Int64) throws -> Bool {
        let files = try Self.files(directoryURL: directoryURL, store: store, keys: membership.keys)
        guard !files.isEmpty else { return false }
        let keys = membership.keys
        let writes = try files.map { file in
            FleetWrite.put(key: file.key, value: file.sealed ? try seal.seal(file.bytes, for: file.key) : file.bytes, lease: 0)
        }
        return try membership.store.transaction(if: [.modRevision(keys.accountLock(directoryURL: directoryURL), lockRevision),
                                                     .absent(keys.accountKey(directoryURL: directoryURL))],
                                                then: writes, otherwise: [])
    }

    /// The local store's account files at `directoryURL` as the fleet keeps them: the record plain, the key to seal.
    static func files(directoryURL: String, store: CertificateStore, keys: FleetKeys) throws -> [FleetDistribution.AccountFile] {
        var files: [FleetDistribution.AccountFile] = []
        if let bytes = try store.read(store.keys.accountRecord(directoryURL: directoryURL)) {
            files.append(.init(key: keys.accountRecord(directoryURL: directoryURL), bytes: bytes, sealed: false))
        }
        if let bytes = try store.read(store.keys.accountKey(directoryURL: directoryURL)) {
            files.append(.init(key: keys.accountKey(directoryURL: directoryURL), bytes: bytes, sealed: true))
        }
        return files
    }
}

/// The fleet's account cannot be used on this node.
public struct FleetAccountUnusable: Error, Sendable, CustomStringConvertible {
    public let etcdKey: String
    public let reason: String
    public var description: String {
        "cannot adopt the fleet's ACME account (\(etcdKey)): \(reason). This node registers no account of its own (the fleet orders from one) and orders nothing until it has the fleet's master key"
    }
}

/// Another node held the account lock for longer than a registration takes.
public struct FleetAccountBusy: Error, Sendable, CustomStringConvertible {
    public let directoryURL: String
    public let holder: String
    public var description: String {
        "node \(holder) is still registering the fleet's ACME account at \(directoryURL): this node registers none of its own and tries again at its next pass"
    }
}

/// etcd does not answer and this node has no account yet.
public struct FleetAccountUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String {
        "this node has no ACME account yet and cannot read the fleet's (\(reason)): it registers none of its own (the fleet orders from one account) and waits until etcd answers"
    }
}
