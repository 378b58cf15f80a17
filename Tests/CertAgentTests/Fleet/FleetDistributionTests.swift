@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import TestSupport
import XCTest

/// The same certificate everywhere: one fenced transaction publishes a sealed version; every node verifies it and
/// commits it to its own store, byte for byte; a late node catches up; etcd never holds a key in readable form.
final class FleetDistributionTests: XCTestCase {
    static let domains = ["shop.test", "www.shop.test"]
    let clock = ManualClock()
    lazy var etcd = InMemoryFleetStore(clock: clock)
    var temp: TemporaryDirectory!
    var ca: ScriptedIssuingCA!
    let masterKey = try! MasterKey(bytes: Array(repeating: 7, count: 32))
    let certificate = CertificateConfig(name: "shop", domains: domains, webroots: Dictionary(uniqueKeysWithValues: domains.map { ($0, "/srv/shop") }),
                                        keyType: .ec256)

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
    }

    func node(_ name: String, masterKey: MasterKey? = nil) throws -> (FleetDistribution, CertificateStore) {
        let membership = FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: name, leaseSeconds: 15, clock: clock)
        let store = try CertificateStore(root: temp.path("\(name)/store"), webroots: [])
        return (FleetDistribution(membership: membership, seal: try FleetSeal(masterKey: masterKey ?? self.masterKey)), store)
    }

    func issue(serial: String, names: [String] = domains) throws -> CertificateMaterial {
        let key = try PrivateKey.generate(.ec256)
        let csr = try CertificateSigningRequest.make(key: key, domains: names)
        let leaf = try ca.sign(csrDER: csr.der, serialHex: serial, days: 30)
        return CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem, certificatePEM: leaf, chainPEM: ca.certificatePEM,
                                   facts: IssuanceFacts(directoryURL: "https://ca.test/directory"))
    }

    /// Publishes `material` from `distribution`'s node under a freshly taken lock.
    func publish(_ material: CertificateMaterial, from distribution: FleetDistribution, record: RenewalRecord = RenewalRecord()) throws {
        let lock = try FleetLocking.acquire("shop", membership: distribution.membership, now: clock.now())
        defer { FleetLocking.release(lock, membership: distribution.membership) }
        try distribution.publish(material, of: "shop", lock: lock, record: record, now: clock.now())
    }

    func currentBytes(_ store: CertificateStore) throws -> [String: Data] {
        let files = try XCTUnwrap(store.currentFiles("shop"))
        var bytes: [String: Data] = [:]
        for path in files.all { bytes[(path as NSString).lastPathComponent] = try Data(contentsOf: URL(fileURLWithPath: path)) }
        return bytes
    }

    func testEveryNodeCommitsThePublishedVersionByteForByte() throws {
        let (a, storeA) = try node("a")
        let (b, storeB) = try node("b")
        let material = try issue(serial: "0A")
        try storeA.commit(try storeA.stage(material, for: "shop"), for: "shop")
        try publish(material, from: a)
        XCTAssertEqual(try a.catchUp(certificate, store: storeA, now: Date()), .upToDate(version: try XCTUnwrap(a.current(of: "shop")).version))
        guard case .committed = try b.catchUp(certificate, store: storeB, now: Date()) else { return XCTFail("b did not commit") }
        XCTAssertEqual(try currentBytes(storeA), try currentBytes(storeB))
        XCTAssertEqual(try currentBytes(storeB)["privkey.pem"], Data(material.privateKeyPEM.utf8))
        guard case .upToDate = try b.catchUp(certificate, store: storeB, now: Date()) else { return XCTFail("b committed twice") }
        // A renewal: b follows again, and etcd keeps the current version and the one before.
        try publish(try issue(serial: "0B"), from: a)
        guard case .committed = try b.catchUp(certificate, store: storeB, now: Date()) else { return XCTFail("b did not follow") }
        XCTAssertEqual(try StoredCertificateState.readLeaf(try XCTUnwrap(storeB.linkedVersion("shop"))).serialHex.uppercased(), "0B")
        try publish(try issue(serial: "0C"), from: a)
        XCTAssertEqual(etcd.everything.filter { $0.key.hasPrefix("/fleet/certificates/shop/") }.count, 2)
    }

    func testAnUpToDatePassReadsOnlyThePointer() throws {
        let (a, storeA) = try node("a")
        let material = try issue(serial: "0A")
        try storeA.commit(try storeA.stage(material, for: "shop"), for: "shop")
        try publish(material, from: a)
        let before = etcd.requestCount
        guard case .upToDate = try a.catchUp(certificate, store: storeA, now: Date()) else { return XCTFail("not up to date") }
        XCTAssertEqual(etcd.requestCount - before, 1, "one read of current/, no sealed version")
    }

    func testACertificateWhosePublicationWasLostIsPublishedAtTheNextPass() throws {
        let (a, storeA) = try node("a")
        try publish(try issue(serial: "0A"), from: a)
        // a ordered 0B and committed it, but lost its lock before publishing (a long pause). (A second later: the CA
        // signs from now, and a version counts as newer by its start of validity.)
        usleep(1_100_000)
        let newer = try issue(serial: "0B")
        try storeA.commit(try storeA.stage(newer, for: "shop"), for: "shop")
        XCTAssertThrowsError(try a.catchUp(certificate, store: storeA, now: Date())) { XCTAssertTrue($0 is FleetVersionOlder, "\($0)") }
        let coordinator = try FleetCoordinator(store: etcd, cluster: ClusterConfig(node: "a", endpoints: ["http://127.0.0.1:2379"]).with(prefix: "/fleet/"),
                                               certificates: [certificate], masterKey: masterKey, journal: { _ in nil }, clock: clock,
                                               logger: Logger(label: "a"))
        XCTAssertNotNil(coordinator.publishNewerLocal("shop", store: storeA, record: RenewalRecord(), directoryURL: "https://ca.test/directory"))
        let (b, storeB) = try node("b")
        guard case .committed = try b.catchUp(certificate, store: storeB, now: Date()) else { return XCTFail("b did not follow") }
        XCTAssertEqual(try StoredCertificateState.readLeaf(try XCTUnwrap(storeB.linkedVersion("shop"))).serialHex.uppercased(), "0B")
    }

    func testALateNodeCatchesUpWithoutOrdering() throws {
        let (a, _) = try node("a")
        try publish(try issue(serial: "0A"), from: a, record: { var record = RenewalRecord(); record.lastRenewed = clock.now(); record.deployedVersion = "a-only"; return record }())
        let (late, storeLate) = try node("late")
        XCTAssertNil(storeLate.currentFiles("shop"))
        guard case .committed = try late.catchUp(certificate, store: storeLate, now: Date()) else { return XCTFail("no catch-up") }
        XCTAssertNotNil(storeLate.currentFiles("shop"))
        // The shared record carries the schedule, not what a node deployed.
        let shared = try XCTUnwrap(FleetRecords.load("shop", membership: late.membership))
        XCTAssertEqual(shared.lastRenewed, clock.now())
        XCTAssertNil(shared.deployedVersion)
    }

    func testEtcdNeverHoldsAPrivateKeyInReadableForm() throws {
        let (a, _) = try node("a")
        let material = try issue(serial: "0A")
        let lock = try FleetLocking.acquire("shop", membership: a.membership, now: clock.now())
        let accountKey = "/fleet/" + "accounts/ca/account-key"
        try a.publish(material, of: "shop", lock: lock, record: RenewalRecord(),
                      account: [.init(key: accountKey, bytes: Array("-----BEGIN ENCRYPTED PRIVATE KEY-----\nsecret\n".utf8), sealed: true)], now: clock.now())
        let keyBody = material.privateKeyPEM.split(separator: "\n").dropFirst().first.map(String.init) ?? "missing"
        for entry in etcd.everything {
            let text = String(decoding: entry.value, as: UTF8.self)
            XCTAssertFalse(text.contains("PRIVATE KEY"), entry.key)
            XCTAssertFalse(text.contains(keyBody), entry.key)
        }
        XCTAssertNotNil(etcd.everything.first { $0.key == accountKey })
    }

    func testANodeWithAnotherMasterKeyOrAnUnverifiableVersionKeepsItsOwn() throws {
        let (a, storeA) = try node("a")
        let first = try issue(serial: "0A")
        try storeA.commit(try storeA.stage(first, for: "shop"), for: "shop")
        let (stranger, storeStranger) = try node("stranger", masterKey: try MasterKey(bytes: Array(repeating: 9, count: 32)))
        try publish(first, from: a)
        XCTAssertThrowsError(try stranger.catchUp(certificate, store: storeStranger, now: Date())) { error in
            XCTAssertTrue(error is FleetSealError, "\(error)")
            XCTAssertTrue("\(error)".contains("same master key"), "\(error)")
        }
        XCTAssertNil(storeStranger.currentFiles("shop"))
        // A version for other names than this node's config is refused; the node keeps serving what it has.
        try publish(try issue(serial: "0B", names: ["evil.test"]), from: a)
        XCTAssertThrowsError(try a.catchUp(certificate, store: storeA, now: Date())) { error in
            XCTAssertTrue(error is ChainVerificationError, "\(error)")
        }
        XCTAssertEqual(try StoredCertificateState.readLeaf(try XCTUnwrap(storeA.linkedVersion("shop"))).serialHex.uppercased(), "0A")
    }

    func testAPublicationAfterTheLockWasLostIsRefused() throws {
        let (a, _) = try node("a")
        let lock = try FleetLocking.acquire("shop", membership: a.membership, now: clock.now())
        clock.advance(by: 16)   // a paused past its lease: the lock is gone, another node may hold it
        let other = FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: "b", leaseSeconds: 15, clock: clock)
        _ = try FleetLocking.acquire("shop", membership: other, now: clock.now())
        XCTAssertThrowsError(try a.publish(try issue(serial: "0A"), of: "shop", lock: lock, record: RenewalRecord(), now: clock.now())) { error in
            XCTAssertTrue(error is FleetLockLost, "\(error)")
        }
        XCTAssertNil(try a.current(of: "shop"))
    }
}

extension ClusterConfig {
    func with(prefix: String) -> ClusterConfig {
        var copy = self
        copy.prefix = prefix
        return copy
    }
}
