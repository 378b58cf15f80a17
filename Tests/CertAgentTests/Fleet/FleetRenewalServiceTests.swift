import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// Fleet mode through `RenewalService.process`, two nodes (own store, own webroot, one master key) over the in-memory
/// etcd and the scripted CA: one order for the fleet, validated from the *other* node's webroot (as a load balancer
/// would send the CA there), the same files on both nodes, and no order while another node holds the lock or etcd is
/// unreachable.
final class FleetRenewalServiceTests: XCTestCase {
    static let domain = "www.example.test"
    static let name = "site"

    final class Node {
        let session: AgentSession
        let service: RenewalService
        let fleet: FleetCoordinator
        let webroot: String
        let sink = ARITestbed.LineSink()

        init(_ name: String, temporary: TemporaryDirectory, etcd: InMemoryFleetStore, server: ScriptedACMEServer, webhook: String? = nil,
             masterKeyFile: String = "shared-master.key") throws {
            webroot = try temporary.make("\(name)/www")
            var config: [String: Any] = [
                "directory": ScriptedACMEServer.directoryURL,
                "storage": temporary.path("\(name)/store"),
                "masterKeyFile": temporary.path(masterKeyFile),
                "acceptTermsOfService": true,
                "certificates": [["name": FleetRenewalServiceTests.name, "domains": [FleetRenewalServiceTests.domain], "webroot": webroot]],
                "cluster": ["node": name, "endpoints": ["http://127.0.0.1:2379"], "acknowledgeTimeoutSeconds": 10],
            ]
            if let webhook { config["notify"] = ["webhook": ["url": webhook]] }
            let configPath = try temporary.write("\(name)/config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
            let sink = self.sink
            let logger = Logger(label: name) { label in
                AgentLogHandler(label: label, level: .info, journald: false) { line in sink.lines.withLock { $0.append(line) } }
            }
            let clock = StoppableClock()
            let loaded = try ConfigLoader.load(path: configPath, environment: [:])
            session = try AgentSession(config: loaded, clock: clock, logger: logger, environment: [:], transport: server)
            let store = session.store
            fleet = try FleetCoordinator(store: etcd, cluster: try XCTUnwrap(loaded.cluster), certificates: loaded.certificates,
                                         masterKey: session.secrets.masterKey, journal: { store.challengeJournal($0) }, clock: clock, logger: logger)
            service = RenewalService(session: session, clock: clock, logger: logger, fleet: fleet)
            fleet.start { _ in }
        }

        var log: String { sink.lines.withLock { $0.joined(separator: "\n") } }

        func currentBytes() throws -> [String: Data] {
            let files = try XCTUnwrap(session.store.currentFiles(FleetRenewalServiceTests.name))
            var bytes: [String: Data] = [:]
            for path in files.all { bytes[(path as NSString).lastPathComponent] = try Data(contentsOf: URL(fileURLWithPath: path)) }
            return bytes
        }
    }

    var temporary: TemporaryDirectory!
    var server: ScriptedACMEServer!
    var etcd: InMemoryFleetStore!
    var nodes: [Node] = []
    var hook: WebhookCaptureServer!

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
        etcd = InMemoryFleetStore(clock: SystemClock())
        // The CA's validation reaches node b's webroot only: a order from node a succeeds only if b served the file.
        let webrootB = temporary.path("b/www")
        server = ScriptedACMEServer(ca: ca, webroots: [Self.domain: webrootB])
        hook = try WebhookCaptureServer()
        nodes = [try Node("a", temporary: temporary, etcd: etcd, server: server),
                 try Node("b", temporary: temporary, etcd: etcd, server: server, webhook: hook.url + "/hook")]
    }

    override func tearDown() {
        for node in nodes { node.fleet.stop() }
        // XCTest keeps each test case alive until the process ends: stop the webhook server's process now.
        hook?.stop()
        hook = nil
    }

    func testOneOrderForTheFleetServedFromTheOtherNodeAndTheSameFilesEverywhere() throws {
        let (a, b) = (nodes[0], nodes[1])
        guard case .renewed = a.service.process(Self.name) else { return XCTFail("a did not issue:\n\(a.log)\n--- b:\n\(b.log)") }
        XCTAssertEqual(server.placedOrders.count, 1)
        XCTAssertTrue(server.challengeFilesChecked.allSatisfy { $0.hasPrefix(b.webroot) }, "\(server.challengeFilesChecked)")
        XCTAssertFalse(server.challengeFilesChecked.isEmpty)
        // b's pass installs the fleet's version and orders nothing.
        guard case .notDue = b.service.process(Self.name) else { return XCTFail("b:\n\(b.log)") }
        XCTAssertEqual(server.placedOrders.count, 1, b.log)
        XCTAssertEqual(try a.currentBytes(), try b.currentBytes())
        XCTAssertTrue(b.log.contains("installed the fleet's version"), b.log)
        // Every challenge file is gone from both webroots once the order ended.
        // (b removes its copy as soon as its watch sees the challenge withdrawn.)
        for node in nodes {
            let empty = eventually(timeout: 10) {
                ((try? FileManager.default.contentsOfDirectory(atPath: node.webroot + "/.well-known/acme-challenge")) ?? []).isEmpty
            }
            XCTAssertTrue(empty, "challenge file left in \(node.webroot)")
        }
        // etcd holds no private key in readable form.
        for entry in etcd.everything { XCTAssertFalse(String(decoding: entry.value, as: UTF8.self).contains("PRIVATE KEY"), entry.key) }
        // A forced renewal on b while a holds the fleet's lock: b waits, naming a.
        let held = try FleetLocking.acquire(Self.name, membership: a.fleet.membership, now: Date())
        guard case .fleetWaiting(let why) = b.service.process(Self.name, forced: true) else { return XCTFail("b:\n\(b.log)") }
        XCTAssertTrue(why.contains("node a"), why)
        a.fleet.release(held)
        XCTAssertEqual(server.placedOrders.count, 1)
    }

    func testUnreachableEtcdKeepsWhatIsServedAndRenewalsWait() throws {
        let (a, b) = (nodes[0], nodes[1])
        guard case .renewed = a.service.process(Self.name) else { return XCTFail("a did not issue:\n\(a.log)") }
        _ = b.service.process(Self.name)
        let before = try b.currentBytes()
        // As the daemon does: the outage and its end are told through b's notify block, once each.
        let notifications = NotificationService(clock: SystemClock(), logger: Logger(label: "notify"),
                                                delivery: NotificationDelivery(logger: Logger(label: "notify"), isStopped: { false }))
        b.fleet.setAvailabilityHandler { [session = b.session] availability in notifications.tellFleet(availability, node: "b", session: session) }
        etcd.setReachable(false)
        guard case .fleetWaiting(let why) = b.service.process(Self.name, forced: true) else { return XCTFail("b:\n\(b.log)") }
        XCTAssertTrue(why.contains("etcd unreachable since"), why)
        XCTAssertTrue(why.contains("keeps serving"), why)
        XCTAssertEqual(server.placedOrders.count, 1)
        XCTAssertEqual(try b.currentBytes(), before)
        XCTAssertFalse(b.fleet.availability.isReachable)
        XCTAssertEqual(b.log.components(separatedBy: "etcd unreachable since").count - 1, 1, "said once:\n\(b.log)")
        etcd.setReachable(true)
        guard case .renewed = b.service.process(Self.name, forced: true) else { return XCTFail("b after etcd came back:\n\(b.log)") }
        XCTAssertTrue(b.log.contains("etcd answers again"), b.log)
        XCTAssertEqual(server.placedOrders.count, 2)
        let told = hook.waitForRequests(2).compactMap { $0.json?["event"] as? String }
        XCTAssertEqual(told, ["fleetUnreachable", "fleetReachable"])
    }
}
