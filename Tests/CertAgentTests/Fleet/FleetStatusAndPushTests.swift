@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// What `status` shows of the fleet, and `cluster push` (a single server's store into an empty prefix only).
final class FleetStatusAndPushTests: XCTestCase {
    let clock = ManualClock()
    lazy var etcd = InMemoryFleetStore(clock: clock)
    let masterKey = try! MasterKey(bytes: Array(repeating: 3, count: 32))

    func node(_ name: String) -> FleetMembership {
        FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: name, leaseSeconds: 15, clock: clock)
    }

    func testStatusShowsNodesVersionsPerNodeAndLocks() throws {
        let a = node("a"), b = node("b")
        try a.join()
        try b.join()
        try etcd.put("/fleet/current/shop", value: try FleetJSON.encode(FleetCurrentPointer(version: "v2", node: "a", at: clock.now())), lease: 0)
        let distributionA = FleetDistribution(membership: a, seal: try FleetSeal(masterKey: masterKey))
        let distributionB = FleetDistribution(membership: b, seal: try FleetSeal(masterKey: masterKey))
        try distributionA.noteDeployed("shop", version: "v2", error: nil, now: clock.now())
        try distributionB.noteDeployed("shop", version: "v1", error: nil, now: clock.now())
        _ = try FleetLocking.acquire("blog", membership: b, now: clock.now())
        let text = FleetStatus.read(membership: a).text(certificates: ["shop", "blog"])
        XCTAssertTrue(text.contains("nodes alive: a, b"), text)
        XCTAssertTrue(text.contains("shop: version v2 ordered by a"), text)
        XCTAssertTrue(text.contains("a ✓, b older (v1)"), text)
        XCTAssertTrue(text.contains("blog: no version in the fleet yet"), text)
        XCTAssertTrue(text.contains("lock: blog held by b"), text)
        etcd.setReachable(false)
        let down = FleetStatus.read(membership: a).text(certificates: ["shop"])
        XCTAssertTrue(down.contains("etcd is unreachable") && down.contains("keeps serving"), down)
    }

    func testStatusJSONAndCheckCarryTheFleet() throws {
        let a = node("a"), b = node("b"), c = node("c")
        for member in [a, b, c] { try member.join() }
        let released = clock.now()
        try etcd.put("/fleet/current/shop", value: try FleetJSON.encode(FleetCurrentPointer(version: "v2", node: "a", at: released)), lease: 0)
        let seal = try FleetSeal(masterKey: masterKey)
        try FleetDistribution(membership: a, seal: seal).noteDeployed("shop", version: "v2", error: nil, now: released)
        try FleetDistribution(membership: b, seal: seal).noteDeployed("shop", version: "v2", error: "reload: nginx -s reload exited with 1", now: released)
        let blogLock = try FleetLocking.acquire("blog", membership: c, now: released)

        // --json: the certificate's fleet member.
        let status = FleetStatus.read(membership: a)
        let shop = status.certificate("shop")
        XCTAssertEqual(shop.nodesAlive?.map(\.node), ["a", "b", "c"])
        XCTAssertEqual(shop.version, "v2")
        XCTAssertEqual(shop.orderedBy, "a")
        XCTAssertEqual(shop.deployed?.map(\.node), ["a", "b", "c"])
        XCTAssertEqual(shop.deployed?.map(\.current), [true, false, false])
        XCTAssertEqual(shop.deployed?[1].error, "reload: nginx -s reload exited with 1")
        XCTAssertNil(shop.deployed?[2].version)
        XCTAssertEqual(status.certificate("blog").lock?.node, "c")
        let json = try StatusJSON.encode([shop])
        XCTAssertTrue(json.contains("\"nodesAlive\"") && json.contains("\"orderedBy\" : \"a\""), json)

        // --check right after the release: b's failed deployment warns; c has the grace period to follow.
        let input = StatusCheck.Input(name: "shop", state: .valid, notBefore: released.addingTimeInterval(-86_400),
                                      notAfter: released.addingTimeInterval(60 * 86_400), failures: 0, deployFailing: false, site: [])
        let soon = StatusCheck.report([input], now: released.addingTimeInterval(60), fleet: status)
        XCTAssertEqual(soon.level, .warning, soon.summary)
        XCTAssertTrue(soon.summary.contains("shop: node b could not deploy v2: reload"), soon.summary)
        XCTAssertFalse(soon.summary.contains("node c"), soon.summary)
        XCTAssertTrue(soon.details.last?.hasPrefix("fleet /fleet/: 3 nodes alive (a, b, c); locks: blog by c") == true, "\(soon.details)")
        // An hour later c still lacks it, and c's lock has been held too long.
        let later = StatusCheck.report([input], now: released.addingTimeInterval(2 * 3600), fleet: status)
        XCTAssertTrue(later.summary.contains("shop: node c has deployed nothing, not the fleet's v2"), later.summary)
        XCTAssertTrue(later.summary.contains("blog: node c has held the fleet's ordering lock since"), later.summary)
        // All deployed: OK, and the summary names the fleet.
        try FleetDistribution(membership: b, seal: seal).noteDeployed("shop", version: "v2", error: nil, now: released)
        try FleetDistribution(membership: c, seal: seal).noteDeployed("shop", version: "v2", error: nil, now: released)
        FleetLocking.release(blogLock, membership: c)
        let healthy = StatusCheck.report([input], now: released.addingTimeInterval(2 * 3600), fleet: FleetStatus.read(membership: a))
        XCTAssertEqual(healthy.level, .ok, healthy.summary)
        XCTAssertEqual(healthy.summary, "CERTAGENT OK - 1 certificate valid, sites serve current, fleet: 3 nodes alive")
        // This node's daemon gone from the fleet: WARNING.
        a.leave()
        let gone = StatusCheck.report([input], now: released.addingTimeInterval(2 * 3600), fleet: FleetStatus.read(membership: a))
        XCTAssertEqual(gone.level, .warning)
        XCTAssertTrue(gone.summary.contains("this node (a) is not among the nodes alive"), gone.summary)
        // etcd unreachable: WARNING with the reason; --json says why instead of the fleet's state.
        etcd.setReachable(false)
        let down = FleetStatus.read(membership: b)
        let unreachable = StatusCheck.report([input], now: released, fleet: down)
        XCTAssertEqual(unreachable.level, .warning)
        XCTAssertTrue(unreachable.summary.contains("fleet: etcd is unreachable"), unreachable.summary)
        XCTAssertTrue(unreachable.summary.contains("renewals wait"), unreachable.summary)
        XCTAssertNotNil(down.certificate("shop").unreachable)
        XCTAssertNil(down.certificate("shop").nodesAlive)
        // A certificate at risk with etcd down is CRITICAL by its own rule.
        var atRisk = input
        atRisk.notAfter = released.addingTimeInterval(86_400)
        XCTAssertEqual(StatusCheck.report([atRisk], now: released, fleet: down).level, .critical)
    }

    func testPushUploadsTheStoreIntoAnEmptyPrefixOnly() throws {
        let temp = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let key = try PrivateKey.generate(.ec256)
        let csr = try CertificateSigningRequest.make(key: key, domains: ["shop.test"])
        let material = CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem,
                                           certificatePEM: try ca.sign(csrDER: csr.der, serialHex: "0A", days: 30), chainPEM: ca.certificatePEM)
        try store.commit(try store.stage(material, for: "shop"), for: "shop")
        var record = RenewalRecord()
        record.failures = 2
        record.deployedVersion = "local-only"
        try RenewalRecordStore(store: store).save(record, for: "shop")
        let config = AgentConfig(sourcePath: "/etc/certagent/config.json", emails: [], acceptTermsOfService: true, directoryURL: "https://ca.test/dir",
                                 storagePath: store.root, certificates: [
                                     CertificateConfig(name: "shop", domains: ["shop.test"], webroots: ["shop.test": "/srv"], keyType: .ec256),
                                     CertificateConfig(name: "blog", domains: ["blog.test"], webroots: ["blog.test": "/srv"], keyType: .ec256),
                                 ], masterKeyFile: "/etc/certagent/master.key")
        let a = node("a")
        let seal = try FleetSeal(masterKey: masterKey)
        let report = try FleetPush.push(config: config, store: store, membership: a, seal: seal, now: clock.now())
        XCTAssertEqual(report.certificates, ["shop"])
        XCTAssertEqual(report.missing, ["blog"])
        XCTAssertEqual(try FleetRecords.load("shop", membership: a)?.failures, 2)
        XCTAssertNil(try FleetRecords.load("shop", membership: a)?.deployedVersion)
        // The pushing node serves the pushed version already: it is noted as deployed there, as `status` shows it.
        let deployed = try XCTUnwrap(etcd.everything.first { $0.key == a.keys.deployed("shop", node: "a") })
        XCTAssertEqual(try StoreJSON.decode(FleetDeployment.self, from: deployed.value).version,
                       PathText.lastComponent(try XCTUnwrap(store.linkedVersion("shop")).directory))
        // A second node catches up from what was pushed: the same certificate, nothing ordered.
        let temp2 = try TemporaryDirectory()
        let storeB = try CertificateStore(root: temp2.path("store"), webroots: [])
        let b = FleetDistribution(membership: node("b"), seal: seal)
        guard case .committed = try b.catchUp(config.certificates[0], store: storeB, now: Date()) else { return XCTFail("no catch-up") }
        XCTAssertEqual(try String(contentsOfFile: try XCTUnwrap(storeB.currentFiles("shop")).certificate, encoding: .utf8), material.certificatePEM)
        // The prefix now holds keys: a second push is refused, naming the prefix.
        XCTAssertThrowsError(try FleetPush.push(config: config, store: store, membership: a, seal: seal, now: clock.now())) { error in
            XCTAssertTrue("\(error)".contains("/fleet/ in etcd already holds"), "\(error)")
        }
        for entry in etcd.everything { XCTAssertFalse(String(decoding: entry.value, as: UTF8.self).contains("PRIVATE KEY"), entry.key) }
    }
}
