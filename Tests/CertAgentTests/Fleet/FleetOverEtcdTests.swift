@testable import CertAgent
import CertCrypto
import Synchronization
import Foundation
import Logging
import TestSupport
import XCTest

/// The fleet's key-value protocol on a real etcd (Debian's `etcd-server`, three members with TLS and client
/// certificates, started by the test): the adapter `EtcdFleetStore` keeps the semantics the in-memory store is tested
/// with — the lock, lease expiry, the challenge round trip through a real watch, a published version read back by
/// another node, and a keyspace `etcdctl get --prefix` finds no private key in.
final class FleetOverEtcdTests: XCTestCase {
    var cluster: EtcdCluster!

    override func setUpWithError() throws { cluster = try EtcdCluster(members: 3, tls: true) }

    override func tearDown() { cluster = nil }

    func etcd() throws -> (EtcdCluster, EtcdFleetStore) {
        let cluster = try XCTUnwrap(self.cluster)
        var config = ClusterConfig(node: "unused", endpoints: cluster.clientURLs)
        config.caFile = cluster.caFile
        config.certificateFile = cluster.clientCertificate
        config.keyFile = cluster.clientKey
        return (cluster, try EtcdFleetStore(cluster: config, password: nil))
    }

    func member(_ node: String, _ store: EtcdFleetStore, prefix: String, ttl: Int = 15) -> FleetMembership {
        FleetMembership(store: store, keys: FleetKeys(prefix: prefix), node: node, leaseSeconds: ttl, clock: SystemClock())
    }

    func testLockTransactionsAndLeaseExpiryOnRealEtcd() throws {
        let (_, store) = try etcd()
        let prefix = "/test-lock-\(UUID().uuidString)/"
        let a = member("a", store, prefix: prefix, ttl: 2), b = member("b", store, prefix: prefix)
        let held = try FleetLocking.acquire("shop", membership: a, now: Date())
        XCTAssertThrowsError(try FleetLocking.acquire("shop", membership: b, now: Date())) { error in
            XCTAssertEqual((error as? FleetLockBusy)?.holder.node, "a")
        }
        XCTAssertFalse(try store.compareAndSwap(held.key, expected: held.modRevision + 100, value: []), "a stale revision does not match")
        // a stops keeping its lease alive: etcd deletes its lock and presence when the 2 s lease runs out.
        let deadline = Date().addingTimeInterval(15)
        while try store.get(held.key) != nil, Date() < deadline { usleep(200_000) }
        XCTAssertNil(try store.get(held.key), "the lock outlived its lease")
        XCTAssertEqual(try b.liveNodes().map(\.node), ["b"], "a's presence went with its lease")
        XCTAssertNoThrow(try FleetLocking.acquire("shop", membership: b, now: Date()))
        b.leave()
        XCTAssertEqual(try store.range(prefix: prefix).entries.map(\.key), [], "revoking the lease removed b's lock")
    }

    func testChallengeRoundTripThroughARealWatch() throws {
        let (_, store) = try etcd()
        let prefix = "/test-challenge-\(UUID().uuidString)/"
        let temp = try TemporaryDirectory()
        let webrootA = try temp.make("a"), webrootB = try temp.make("b")
        let b = member("b", store, prefix: prefix)
        try b.join()
        let responder = FleetChallengeResponder(membership: b, certificates: [
            CertificateConfig(name: "shop", domains: ["shop.test"], webroots: ["shop.test": webrootB], keyType: .ec256),
        ], journal: { _ in nil }, clock: SystemClock(), logger: Logger(label: "b"))
        try responder.start()
        let running = ManagedAtomicFlag()
        let thread = Thread { while !running.isSet { try? responder.sync(timeout: 0.5) } }
        thread.start()
        defer { running.set(); responder.stop(); b.leave() }
        let a = member("a", store, prefix: prefix)
        try a.join()
        defer { a.leave() }
        let solver = FleetChallengeSolver(certificate: "shop", local: WebrootSolver(webroots: ["shop.test": webrootA]), membership: a,
                                          clock: SystemClock(), timeout: 20)
        let token = "tok-" + String(repeating: "x", count: 40)
        try solver.present(domain: "shop.test", token: token, keyAuthorization: token + ".k")
        XCTAssertEqual(try String(contentsOfFile: webrootB + "/.well-known/acme-challenge/" + token, encoding: .utf8), token + ".k")
        solver.cleanUp(domain: "shop.test", token: token)
        let deadline = Date().addingTimeInterval(10)
        while FileManager.default.fileExists(atPath: webrootB + "/.well-known/acme-challenge/" + token), Date() < deadline { usleep(100_000) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: webrootB + "/.well-known/acme-challenge/" + token), "b removed its file")
    }

    func testAPublishedVersionReachesAnotherNodeAndEtcdHoldsNoReadableKey() throws {
        let (cluster, store) = try etcd()
        let prefix = "/test-distribution-\(UUID().uuidString)/"
        let temp = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
        let key = try PrivateKey.generate(.ec256)
        let csr = try CertificateSigningRequest.make(key: key, domains: ["shop.test"])
        let material = CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem,
                                           certificatePEM: try ca.sign(csrDER: csr.der, serialHex: "0A", days: 30), chainPEM: ca.certificatePEM)
        let masterKey = try MasterKey.generate()
        let a = FleetDistribution(membership: member("a", store, prefix: prefix), seal: try FleetSeal(masterKey: masterKey))
        let b = FleetDistribution(membership: member("b", store, prefix: prefix), seal: try FleetSeal(masterKey: masterKey))
        let lock = try FleetLocking.acquire("shop", membership: a.membership, now: Date())
        try a.publish(material, of: "shop", lock: lock, record: RenewalRecord(), now: Date())
        FleetLocking.release(lock, membership: a.membership)
        let storeB = try CertificateStore(root: temp.path("b-store"), webroots: [])
        let certificate = CertificateConfig(name: "shop", domains: ["shop.test"], webroots: ["shop.test": "/srv"], keyType: .ec256)
        guard case .committed = try b.catchUp(certificate, store: storeB, now: Date()) else { return XCTFail("b did not commit") }
        XCTAssertEqual(try String(contentsOfFile: try XCTUnwrap(storeB.currentFiles("shop")).privateKey, encoding: .utf8), material.privateKeyPEM)
        let dump = try cluster.etcdctl(["get", "--prefix", prefix])
        XCTAssertEqual(dump.status, 0)
        let text = dump.stdout
        XCTAssertTrue(text.contains(prefix + "certificates/shop/"), text)
        XCTAssertFalse(text.contains("PRIVATE KEY"))
        XCTAssertFalse(text.contains(material.privateKeyPEM.split(separator: "\n")[1]))
        a.membership.leave()
        b.membership.leave()
    }
}

/// A flag set once, read from another thread.
final class ManagedAtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
