import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Fleet mode end to end, everything real and on loopback: a 3-member etcd with TLS and client certificates, Pebble,
/// `certagent run` nodes — each its own store and its own webroot served on its own port — and nginx in front of them
/// on the port Pebble validates (an `upstream` round-robin), so the CA's validation requests land on any node
/// (`FleetBed`).
final class FleetIntegrationTests: XCTestCase {
    static let certificates = FleetBed.standardCertificates

    func testThreeNodesBehindALoadBalancerGetEachCertificateWithOneOrder() throws {
        let nodes = ["n1", "n2", "n3"]
        let bed = try FleetBed(balanced: nodes)
        for node in nodes { try bed.start(node) }

        XCTAssertTrue(eventually(timeout: 180) { nodes.allSatisfy(bed.hasEveryCertificate) }, "every node has every certificate:\n\(bed.logs)")
        // The reloads may trail the commit by a moment.
        XCTAssertTrue(eventually(timeout: 30) {
            nodes.allSatisfy { node in
                let reloads = (try? String(contentsOfFile: bed.base + "/\(node)-reloads.log", encoding: .utf8)) ?? ""
                return Self.certificates.allSatisfy { reloads.contains($0.name) }
            }
        }, "every node ran its reload for every certificate:\n\(bed.logs)")

        XCTAssertEqual(try bed.testbed.ordersCreated(), Self.certificates.count, "one order per certificate for the whole fleet:\n\(bed.logs)")
        for certificate in Self.certificates {
            for file in ["privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "csr.pem"] {
                let copies = Set(nodes.map { FileManager.default.contents(atPath: bed.current($0, certificate.name) + "/" + file) ?? Data() })
                XCTAssertEqual(copies.count, 1, "\(certificate.name)/\(file) differs between nodes")
            }
        }
        // The validation requests went through the load balancer to more than one node.
        let served = nodes.filter { ((try? String(contentsOfFile: bed.base + "/\($0)-access.log", encoding: .utf8)) ?? "").contains("/.well-known/acme-challenge/") }
        XCTAssertGreaterThanOrEqual(served.count, 2, "validation reached \(served)")
        for node in nodes { XCTAssertEqual(bed.challengeFilesLeft(node), [], "challenge files left on \(node)") }
        let dump = try bed.etcd.etcdctl(["get", "--prefix", "/certagent/test/"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertTrue(dump.stdout.contains("/certagent/test/certificates/shop/"), dump.stdout)
        XCTAssertFalse(dump.stdout.contains("PRIVATE KEY"), "a readable key in etcd")

        // `status` on any node shows the fleet: three nodes, every certificate deployed everywhere.
        XCTAssertTrue(eventually(timeout: 30) {
            let status = bed.status("n1")?.stdout ?? ""
            return status.contains("nodes alive: n1, n2, n3") && status.contains("n1 ✓, n2 ✓, n3 ✓")
        }, bed.status("n1")?.output ?? "")
        // `status --check` and `--json` carry the fleet too.
        let check = try runCommand(ProjectPaths.certagentBinary, ["status", "--check", "--config", bed.configs["n1"]!])
        XCTAssertTrue(check.stdout.contains("\nfleet /certagent/test/: 3 nodes alive (n1, n2, n3)"), check.output)
        XCTAssertFalse(check.stdout.contains("fleet: "), "no fleet finding:\n\(check.output)")   // (the sites' names do not resolve here)
        let json = try runCommand(ProjectPaths.certagentBinary, ["status", "--json", "--config", bed.configs["n1"]!])
        let shop = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first { $0["name"] as? String == "shop" })
        let fleet = try XCTUnwrap(shop["fleet"] as? [String: Any], json.stdout)
        XCTAssertEqual((fleet["deployed"] as? [[String: Any]])?.compactMap { $0["current"] as? Bool }, [true, true, true], json.stdout)

        // A node started after the fleet issued catches up at start and deploys, without ordering.
        let late = try bed.start("n4")
        XCTAssertTrue(eventually(timeout: 60) { late.output.contains("NOTICE started") }, late.output)
        for certificate in Self.certificates {
            XCTAssertEqual(FileManager.default.contents(atPath: bed.current("n4", certificate.name) + "/fullchain.pem"),
                           FileManager.default.contents(atPath: bed.current("n1", certificate.name) + "/fullchain.pem"), late.output)
        }
        XCTAssertTrue(late.output.contains("installed the fleet's version"), late.output)
        XCTAssertEqual(try bed.testbed.ordersCreated(), Self.certificates.count, "the late node ordered nothing")

        // Two of three etcd members stopped (no quorum): every node keeps running and serving; status says why.
        bed.etcd.stop(1)
        bed.etcd.stop(2)
        let down = try XCTUnwrap(bed.status("n1"))
        XCTAssertTrue(down.stdout.contains("keeps serving its current certificates"), down.output)
        let downCheck = try runCommand(ProjectPaths.certagentBinary, ["status", "--check", "--config", bed.configs["n1"]!])
        XCTAssertEqual(downCheck.status, 1, downCheck.output)
        XCTAssertTrue(downCheck.stdout.hasPrefix("CERTAGENT WARNING - "), downCheck.output)
        XCTAssertTrue(downCheck.stdout.contains("fleet: etcd is unreachable"), downCheck.output)
        XCTAssertTrue(bed.daemons.values.allSatisfy { $0.waitForExit(timeout: 0) == nil }, "a node exited without etcd:\n\(bed.logs)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: bed.current("n2", "shop") + "/fullchain.pem"))
        try bed.etcd.start(1)
        try bed.etcd.start(2)
        try bed.etcd.waitUntilHealthy([0, 1, 2])
        XCTAssertTrue(eventually(timeout: 60) { (bed.status("n1")?.stdout ?? "").contains("nodes alive: n1, n2, n3, n4") },
                      "the nodes are back in the fleet:\n\(bed.logs)")
    }

    func testTheOrderingNodeKilledMidOrderIsReplacedByAnotherWithinTheLeaseTime() throws {
        // Pebble's 0–5 s validation delay keeps the order open long enough to kill the node placing it.
        let nodes = ["k1", "k2"]
        let bed = try FleetBed(balanced: nodes, testbedOptions: ["--va-sleep"])
        for node in nodes { try bed.start(node) }
        var orderer: String?
        XCTAssertTrue(eventually(timeout: 60) {
            orderer = nodes.first { bed.daemons[$0]!.output.contains("ordering") }
            return orderer != nil
        }, bed.logs)
        let killed = try XCTUnwrap(orderer)
        let survivor = nodes.first { $0 != killed }!
        bed.daemons[killed]!.send(SIGKILL)
        XCTAssertNotNil(bed.daemons[killed]!.waitForExit(timeout: 10))
        let killedAt = Date()
        // The whole server is gone: the load balancer's health check takes it out of the rotation.
        try bed.balance([survivor])
        // The lock goes with the killed node's lease (15 s); the survivor takes over at its next look.
        XCTAssertTrue(eventually(timeout: 90) { bed.hasEveryCertificate(survivor) }, "the survivor completed:\n\(bed.logs)")
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 90)
        XCTAssertTrue(eventually(timeout: 10) { bed.challengeFilesLeft(survivor).isEmpty }, "\(bed.challengeFilesLeft(survivor))")
        // One certificate per name set was issued after all (the killed node's order never reached the fleet).
        for certificate in Self.certificates {
            let leaf = try Certificate(pem: String(contentsOfFile: bed.current(survivor, certificate.name) + "/cert.pem", encoding: .utf8))
            XCTAssertEqual(Set(leaf.dnsNames), Set(certificate.domains))
        }
    }
}

/// Commands that act on one server's store only, on a fleet node (no etcd needed: they refuse or warn before any).
final class FleetLocalCommandTests: XCTestCase {
    func testRotateMasterKeyAndRollbackAreRefusedAndDeleteWarns() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("www")
        let config = try temp.write("config.json", bytes: Array(#"""
            {"storage": "\#(temp.path("store"))", "masterKeyFile": "\#(temp.path("master.key"))", "acceptTermsOfService": true,
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\#(webroot)"},
                              {"name": "blog", "domains": ["blog.test"], "webroot": "\#(webroot)"}],
             "cluster": {"node": "n1", "endpoints": ["http://127.0.0.1:9"]}}
            """#.utf8))
        let before = try Data(contentsOf: URL(fileURLWithPath: config))

        let rotate = try runCommand(ProjectPaths.certagentBinary, ["rotate-master-key", "--config", config])
        XCTAssertEqual(rotate.status, 2, rotate.output)
        XCTAssertTrue(rotate.stderr.contains("refused: this server is node n1 of a fleet"), rotate.output)
        XCTAssertTrue(rotate.stderr.contains("would lock that node out of the fleet"), rotate.output)
        XCTAssertTrue(rotate.stderr.contains("Nothing was changed"), rotate.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("master.key")))

        let rollback = try runCommand(ProjectPaths.certagentBinary, ["rollback", "site", "--config", config])
        XCTAssertEqual(rollback.status, 2, rollback.output)
        XCTAssertTrue(rollback.stderr.contains("rollback refused: this server is node n1 of a fleet"), rollback.output)
        XCTAssertTrue(rollback.stderr.contains("certagent renew --force site"), rollback.output)

        // delete goes on (here it stops at the confirmation: no terminal, no --yes), having warned first.
        let delete = try runCommand(ProjectPaths.certagentBinary, ["delete", "site", "--config", config])
        XCTAssertEqual(delete.status, 2, delete.output)
        XCTAssertTrue(delete.stderr.contains("warning: this server is node n1 of a fleet: only this node's config and files change"), delete.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: config)), before)
    }
}
