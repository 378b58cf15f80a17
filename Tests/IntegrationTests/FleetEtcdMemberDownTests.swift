import CertCrypto
import Foundation
import TestSupport
import XCTest

/// A fleet (`FleetBed`: 3 nodes behind nginx's load balancer, a 3-member etcd with TLS, Pebble) loses one etcd member
/// while it issues and renews: the other two still form a quorum, so issuance and renewal go on — one order per
/// certificate version, the same leaf on every node.
final class FleetEtcdMemberDownTests: XCTestCase {
    func testIssuanceAndRenewalGoOnWithOneEtcdMemberStopped() throws {
        // 60-second certificates: they renew at about half (ARI: two thirds) of their life, so time itself drives a
        // renewal within the test.
        let lifetime: TimeInterval = 60
        let nodes = ["e1", "e2", "e3"]
        let bed = try FleetBed(balanced: nodes, testbedOptions: ["--validity", String(Int(lifetime))])
        for node in nodes { try bed.start(node) }

        // Member m1 — the first endpoint of every node's cluster block — stops (SIGTERM to its PID) while the fleet is
        // at work on its first certificates.
        XCTAssertTrue(eventually(timeout: 90) { nodes.contains { bed.daemons[$0]!.output.contains("ordering") } }, bed.logs)
        bed.etcd.stop(0)
        XCTAssertFalse(bed.etcd.isRunning(0))

        XCTAssertTrue(eventually(timeout: 120) { nodes.allSatisfy(bed.hasEveryCertificate) && bed.allHoldTheSameNewLeaf(nodes) },
                      "every node has the same certificates with one etcd member down:\n\(bed.logs)")
        let first = Set(bed.certificates.compactMap { bed.serial("e1", $0.name) })
        XCTAssertEqual(first.count, bed.certificates.count)

        // Time passes: every certificate renews, still on two members, and every node deploys the renewed leaf.
        XCTAssertTrue(eventually(timeout: 180) { bed.allHoldTheSameNewLeaf(nodes, excluded: first) },
                      "every certificate renewed and deployed everywhere with one etcd member down:\n\(bed.logs)")
        XCTAssertFalse(bed.etcd.isRunning(0), "the member stayed down throughout")
        for node in nodes { XCTAssertEqual(bed.stop(node), 0, bed.logs) }

        // One order per certificate version: every order Pebble created became a version, and every node deployed the
        // same versions (each node's reload hook kept a copy of every leaf it deployed).
        let deployed = nodes.map { bed.deployedLeaves($0).mapValues { Set($0.map(\.serialHex)) } }
        for (node, leaves) in zip(nodes, deployed) { XCTAssertEqual(leaves, deployed[0], "\(node) deployed other versions than e1") }
        let versions = deployed[0].values.map(\.count).reduce(0, +)
        XCTAssertGreaterThanOrEqual(versions, 2 * bed.certificates.count, "\(deployed[0])")
        XCTAssertEqual(try bed.testbed.ordersCreated(), versions, "an order that did not become the fleet's version:\n\(bed.logs)")
        // And no renewal was ordered twice: a certificate's consecutive versions are a renewal interval apart, not the
        // seconds two nodes racing for one renewal would leave between them.
        for (name, leaves) in bed.deployedLeaves("e1") {
            let starts = leaves.map(\.notBefore).sorted()
            for (earlier, later) in zip(starts, starts.dropFirst()) {
                XCTAssertGreaterThanOrEqual(later.timeIntervalSince(earlier), lifetime / 4, "\(name): two versions \(later.timeIntervalSince(earlier)) s apart")
            }
        }
        for node in nodes { XCTAssertEqual(bed.challengeFilesLeft(node), [], "challenge files left on \(node)") }
    }
}
