import CertAgent
import Foundation
import TestSupport
import XCTest

/// The `cluster` block: every value validated with its field; absent, nothing changes.
final class ClusterConfigTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("srv/www")
    }

    private func config(cluster: String?) -> String {
        let block = cluster.map { #", "cluster": \#($0)"# } ?? ""
        return #"{"storage": "\#(temp.path)/store", "certificates": [{"name": "a", "domains": ["a.example"], "webroot": "\#(webroot!)"}]\#(block)}"#
    }

    private func load(_ json: String) throws -> AgentConfig {
        try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json")
    }

    private func problems(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        refusedConfig(file: file, line: line) { try load(json) }?.problems.map(\.description) ?? []
    }

    func testNoBlockMeansNoFleet() throws {
        XCTAssertNil(try load(config(cluster: nil)).cluster)
    }

    func testACompleteTLSBlock() throws {
        let ca = try writeCA()
        let certificate = temp.path + "/client.pem", key = temp.path + "/client-key.pem"
        try Data("x".utf8).write(to: URL(fileURLWithPath: certificate))
        try Data("x".utf8).write(to: URL(fileURLWithPath: key))
        let loaded = try load(config(cluster: #"""
            {"node": "web-1", "endpoints": ["https://10.0.0.1:2379", "https://10.0.0.2:2379/"], "prefix": "/certagent/shop",
             "caFile": "\#(ca)", "certificateFile": "\#(certificate)", "keyFile": "\#(key)", "leaseSeconds": 20}
            """#))
        let cluster = try XCTUnwrap(loaded.cluster)
        XCTAssertEqual(cluster.node, "web-1")
        XCTAssertEqual(cluster.endpoints, ["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
        XCTAssertEqual(cluster.prefix, "/certagent/shop/")
        XCTAssertEqual(cluster.caFile, ca)
        XCTAssertEqual(cluster.certificateFile, certificate)
        XCTAssertEqual(cluster.keyFile, key)
        XCTAssertEqual(cluster.leaseSeconds, 20)
        XCTAssertEqual(cluster.acknowledgeTimeoutSeconds, ClusterConfig.defaultAcknowledgeTimeoutSeconds)
        XCTAssertEqual(loaded.referencedSecrets, [])
    }

    func testUserAndPasswordSecretAreASecretReference() throws {
        let loaded = try load(config(cluster: #"{"node": "n1", "endpoints": "http://127.0.0.1:2379", "user": "certagent", "passwordSecret": "etcd-password"}"#))
        XCTAssertEqual(loaded.cluster?.prefix, ClusterConfig.defaultPrefix)
        XCTAssertEqual(loaded.cluster?.user, "certagent")
        XCTAssertEqual(loaded.referencedSecrets, ["etcd-password"])
    }

    func testEveryBadValueIsNamedWithItsField() throws {
        let found = problems(config(cluster: #"""
            {"node": "web 1", "endpoints": ["ftp://a:1", "http://10.0.0.1:2379", "https://a.example", "https://a.example:2379/v3/kv"],
             "prefix": "certagent", "user": "u", "keyFile": "\#(temp.path)/missing.pem", "leaseSeconds": 2, "colour": "blue"}
            """#))
        let expected = [
            "cluster.node", "cluster.endpoints[0]", "cluster.endpoints[1]", "cluster.endpoints[2]", "cluster.endpoints[3]",
            "cluster.prefix", "cluster.keyFile", "cluster.passwordSecret", "cluster.leaseSeconds", "cluster.colour",
        ]
        for field in expected {
            XCTAssertTrue(found.contains { $0.hasPrefix(field + ":") || $0.hasPrefix(field + " ") }, "no problem reported for \(field) in \(found)")
        }
        XCTAssertTrue(found.contains { $0.contains("http://") && $0.contains("10.0.0.1") && $0.contains("only to this machine") }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("missing.pem") && $0.contains("does not exist") }, "\(found)")
    }

    func testNodeAndEndpointsAreRequired() {
        let found = problems(config(cluster: "{}"))
        XCTAssertTrue(found.contains { $0.hasPrefix("cluster.node") && $0.contains("is required") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("cluster.endpoints") && $0.contains("is required") }, "\(found)")
    }

    func testTLSFilesWithPlainHTTPEndpointsAreRefused() throws {
        let ca = try writeCA()
        let found = problems(config(cluster: #"{"node": "n1", "endpoints": ["http://127.0.0.1:2379"], "caFile": "\#(ca)"}"#))
        XCTAssertTrue(found.contains { $0.hasPrefix("cluster.endpoints") && $0.contains("give https://") }, "\(found)")
    }

    private func writeCA() throws -> String {
        let path = temp.path + "/etcd-ca.pem"
        let openssl = try Subprocess.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                          "-keyout", temp.path + "/ca-key.pem", "-out", path, "-days", "1", "-subj", "/CN=etcd test CA"])
        XCTAssertEqual(openssl.status, 0)
        return path
    }
}
