@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// A failed HTTP-01 validation in fleet mode names every node and where each wrote the token — the CA's request may have
/// reached any of them through the load balancer — not only the ordering node's file.
final class FleetValidationFailureTests: XCTestCase {
    typealias Node = FleetRenewalServiceTests.Node

    func testTheFailureNamesEachNodeAndItsTokenFile() throws {
        let temporary = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
        let etcd = InMemoryFleetStore(clock: SystemClock())
        // The CA's requests reach a server that serves none of the nodes' webroots (a load balancer gone wrong).
        let server = ScriptedACMEServer(ca: ca, webroots: [FleetRenewalServiceTests.domain: try temporary.make("elsewhere")])
        let nodes = try ["a", "b"].map { try Node($0, temporary: temporary, etcd: etcd, server: server) }
        defer { for node in nodes { node.fleet.stop() } }
        guard case .failed(let error, _) = nodes[0].service.process(FleetRenewalServiceTests.name) else { return XCTFail(nodes[0].log) }
        let fetched = "the CA fetched http://\(FleetRenewalServiceTests.domain)/.well-known/acme-challenge/"
        let token = try XCTUnwrap(error.components(separatedBy: fetched).dropFirst().first?.components(separatedBy: "\n").first, error)
        XCTAssertFalse(token.isEmpty, error)
        XCTAssertTrue(error.contains("the token was written on every node of the fleet"), error)
        XCTAssertTrue(error.contains("node a (this node): \(nodes[0].webroot)/.well-known/acme-challenge/\(token)"), error)
        XCTAssertTrue(error.contains("node b: \(nodes[1].webroot)/.well-known/acme-challenge/\(token)"), error)
        XCTAssertTrue(error.contains("in a fleet, check on every node (a, b)"), error)
    }

    func testASingleServersMessageIsUnchanged() {
        var failure = HTTP01ValidationFailure(domain: "shop.example", webroot: "/var/www/shop", tokenFile: "/var/www/shop/.well-known/acme-challenge/T",
                                              problem: nil)
        XCTAssertTrue(failure.description.contains("the token was written to /var/www/shop/.well-known/acme-challenge/T"))
        XCTAssertFalse(failure.description.contains("node"))
        failure.fleetCopies = [.init(node: "web1", file: "/var/www/shop/.well-known/acme-challenge/T", isThisNode: true),
                               .init(node: "web2", file: nil, isThisNode: false)]
        XCTAssertTrue(failure.description.contains("node web2: its webroot for shop.example"), failure.description)
    }
}
