import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The fleet's one ACME account (`FleetAccounts`), three nodes over the in-memory etcd and the scripted CA: however the
/// nodes connect — all at once, or one that already had an account first — the CA ends with one account and every
/// node's store holds its key; a node with another master key refuses the fleet's account, says why, and registers
/// nothing.
final class FleetAccountTests: XCTestCase {
    typealias Node = FleetRenewalServiceTests.Node

    var temporary: TemporaryDirectory!
    var server: ScriptedACMEServer!
    var etcd: InMemoryFleetStore!
    var nodes: [Node] = []

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
        etcd = InMemoryFleetStore(clock: SystemClock())
        server = ScriptedACMEServer(ca: ca, webroots: [FleetRenewalServiceTests.domain: temporary.path("b/www")])
        nodes = try ["a", "b", "c"].map { try Node($0, temporary: temporary, etcd: etcd, server: server) }
    }

    override func tearDown() {
        for node in nodes { node.fleet.stop() }
    }

    func thumbprint(of node: Node) throws -> String {
        let file = node.session.store.keys.accountKey(directoryURL: ScriptedACMEServer.directoryURL)
        return try AccountKeyFile.read(file, masterKey: node.session.secrets.masterKey).jwkThumbprint()
    }

    var logs: String { nodes.map { "--- \($0.session.config.cluster?.node ?? "?"):\n\($0.log)" }.joined(separator: "\n") }

    func testThreeNodesConnectingAtOnceEndWithOneAccountAtTheCA() throws {
        let services = nodes.map(\.service)
        DispatchQueue.concurrentPerform(iterations: services.count) { services[$0].connectIfPossible() }
        XCTAssertEqual(server.accountURLs.count, 1, logs)
        let thumbprints = try Set(nodes.map(thumbprint(of:)))
        XCTAssertEqual(thumbprints.count, 1, logs)
        XCTAssertEqual(server.account(ofKey: try XCTUnwrap(thumbprints.first)), server.accountURLs.first)
        XCTAssertEqual(logs.components(separatedBy: "published this node's ACME account for the fleet").count - 1, 1, logs)
        XCTAssertEqual(logs.components(separatedBy: "adopted the fleet's ACME account").count - 1, 2, logs)
        // Each node's account record names the one account; etcd holds its key sealed only.
        for node in nodes {
            XCTAssertEqual(node.session.store.accountRecord(directoryURL: ScriptedACMEServer.directoryURL)?.url, server.accountURLs.first)
        }
        for entry in etcd.everything { XCTAssertFalse(String(decoding: entry.value, as: UTF8.self).contains("PRIVATE KEY"), entry.key) }
        XCTAssertFalse(etcd.everything.contains { $0.key.hasSuffix("/lock") }, "the account lock is given back")
        // Orders from any node go out under that account, and none registers another.
        guard case .renewed = nodes[0].service.process(FleetRenewalServiceTests.name) else { return XCTFail(logs) }
        // c's pass installs the fleet's version and orders nothing; then c renews it.
        guard case .notDue = nodes[2].service.process(FleetRenewalServiceTests.name) else { return XCTFail(logs) }
        guard case .renewed = nodes[2].service.process(FleetRenewalServiceTests.name, forced: true) else { return XCTFail(logs) }
        XCTAssertEqual(server.placedOrders.count, 2)
        for node in [nodes[0], nodes[2]] {
            XCTAssertEqual(node.session.store.issuanceFacts(of: FleetRenewalServiceTests.name)?.accountURL, server.accountURLs.first, logs)
        }
        XCTAssertEqual(server.accountURLs.count, 1, logs)
    }

    func testANodeThatAlreadyHadAnAccountSharesItAndTheOthersAdoptIt() throws {
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        // c was a single server with its own account before it joined the fleet.
        _ = try c.session.connect(logger: .init(label: "before"))
        let before = server.accountURLs
        XCTAssertEqual(before.count, 1)
        c.service.connectIfPossible()
        a.service.connectIfPossible()
        b.service.connectIfPossible()
        XCTAssertEqual(server.accountURLs, before, logs)
        XCTAssertEqual(try Set(nodes.map(thumbprint(of:))).count, 1, logs)
        XCTAssertTrue(c.log.contains("published this node's ACME account for the fleet"), c.log)
    }

    func testANodeWithAnotherMasterKeyRefusesTheFleetsAccountAndRegistersNone() throws {
        nodes[0].service.connectIfPossible()
        XCTAssertEqual(server.accountURLs.count, 1, logs)
        let stranger = try Node("d", temporary: temporary, etcd: etcd, server: server, masterKeyFile: "other-master.key")
        nodes.append(stranger)
        guard case .failed(let error, _) = stranger.service.process(FleetRenewalServiceTests.name) else { return XCTFail(stranger.log) }
        XCTAssertTrue(error.contains("cannot adopt the fleet's ACME account"), error)
        XCTAssertTrue(error.contains("does not open with this node's master key"), error)
        XCTAssertTrue(error.contains("registers no account of its own"), error)
        XCTAssertEqual(server.accountURLs.count, 1, stranger.log)
        XCTAssertTrue(server.placedOrders.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stranger.session.store.keys.accountKey(directoryURL: ScriptedACMEServer.directoryURL)))
        // Not the CA's fault: no fallback CA is tried for it.
        XCTAssertFalse(CertificateAuthorityFallback.blamesCertificateAuthority(FleetAccountUnusable(etcdKey: "k", reason: "r")))
        XCTAssertFalse(CertificateAuthorityFallback.blamesCertificateAuthority(FleetAccountUnavailable(reason: "r")))
    }

    func testWithEtcdUnreachableANodeWithoutAnAccountRegistersNone() throws {
        etcd.setReachable(false)
        let a = nodes[0]
        // A pass waits at the certificate's fleet lock already; the account is asked for directly too.
        guard case .fleetWaiting = a.service.process(FleetRenewalServiceTests.name) else { return XCTFail(a.log) }
        XCTAssertThrowsError(try a.fleet.withFleetAccount(directoryURL: ScriptedACMEServer.directoryURL, store: a.session.store,
                                                          masterKey: a.session.secrets.masterKey) { try a.session.connect(logger: .init(label: "t")) }) { error in
            XCTAssertTrue("\(error)".contains("has no ACME account yet and cannot read the fleet's"), "\(error)")
        }
        XCTAssertTrue(server.accountURLs.isEmpty)
    }
}
