import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent cluster push` end to end (`FleetBed`: Pebble, a 3-member etcd with TLS, nginx's load balancer): a single
/// server issues its certificates alone, pushes its store into the fleet's empty prefix, and three nodes — that server
/// among them — start with a cluster block and deploy what it pushed without ordering anything.
final class ClusterPushIntegrationTests: XCTestCase {
    func testASingleServersStorePushedIntoAnEmptyPrefixIsTakenUpByThreeNodesWithoutAnOrder() throws {
        let nodes = ["p1", "p2", "p3"]
        let bed = try FleetBed(balanced: ["p1"])
        let binary = ProjectPaths.certagentBinary

        // The single server, no cluster block yet: `certagent issue` gets every certificate alone.
        let single = try bed.writeConfig("p1", cluster: false)
        let issued = try runCommand(binary, ["issue", "--config", single])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertEqual(try bed.testbed.ordersCreated(), bed.certificates.count)
        var originals: [(name: String, file: String, bytes: Data)] = []
        for certificate in bed.certificates {
            for file in ["fullchain.pem", "privkey.pem"] {
                originals.append((certificate.name, file, try XCTUnwrap(FileManager.default.contents(atPath: bed.current("p1", certificate.name) + "/" + file))))
            }
        }

        // The same server, its config now with the fleet's cluster block, pushes its store.
        let clustered = try bed.writeConfig("p1")
        let push = try runCommand(binary, ["cluster", "push", "--config", clustered])
        XCTAssertEqual(push.status, 0, push.output)
        XCTAssertTrue(push.stdout.contains("pushed \(bed.certificates.count) certificate(s)"), push.output)
        let ordersAtPush = try bed.orderRequests()
        let pushed = try bed.etcd.etcdctl(["get", "--prefix", FleetBed.prefix])
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        for certificate in bed.certificates { XCTAssertTrue(pushed.stdout.contains(FleetBed.prefix + "certificates/\(certificate.name)/"), pushed.stdout) }
        XCTAssertFalse(pushed.stdout.contains("PRIVATE KEY"), "a readable key in etcd")

        // A second push, into the prefix that now holds the fleet, is refused and writes nothing.
        let revision = { () throws -> Int in
            let result = try bed.etcd.etcdctl(["get", "--prefix", FleetBed.prefix, "--keys-only", "--write-out=json"])
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return try XCTUnwrap((json["header"] as? [String: Any])?["revision"] as? Int)
        }
        let revisionBefore = try revision()
        let again = try runCommand(binary, ["cluster", "push", "--config", clustered])
        XCTAssertNotEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stderr.contains("already holds"), again.output)
        XCTAssertEqual(try revision(), revisionBefore, "the refused push wrote to etcd")

        // Three nodes start with the cluster block — the pushed server and two with empty stores — behind the load
        // balancer: each deploys the pushed certificates, byte for byte, and none orders.
        try bed.balance(nodes)
        for node in nodes { try bed.start(node) }
        XCTAssertTrue(eventually(timeout: 90) {
            nodes.allSatisfy { node in originals.allSatisfy { FileManager.default.contents(atPath: bed.current(node, $0.name) + "/" + $0.file) == $0.bytes } }
        }, "every node deployed the pushed certificates:\n\(bed.logs)")
        // `status` on any node shows the fleet; every node noted its deployment (the pushing node at the push: it
        // serves the pushed version already).
        XCTAssertTrue(eventually(timeout: 60) {
            let status = bed.status("p2")?.stdout ?? ""
            return status.contains("nodes alive: p1, p2, p3") && status.components(separatedBy: "p1 ✓, p2 ✓, p3 ✓").count == bed.certificates.count + 1
        }, bed.status("p2")?.output ?? "")
        for node in ["p2", "p3"] {
            let reloads = (try? String(contentsOfFile: bed.base + "/\(node)-reloads.log", encoding: .utf8)) ?? ""
            for certificate in bed.certificates { XCTAssertTrue(reloads.contains(certificate.name), "\(node) did not reload for \(certificate.name):\n\(bed.logs)") }
        }
        XCTAssertEqual(try bed.orderRequests(), ordersAtPush, "Pebble's log shows an order placed after the push:\n\(bed.logs)")
        XCTAssertEqual(try bed.testbed.ordersCreated(), bed.certificates.count)
    }
}
