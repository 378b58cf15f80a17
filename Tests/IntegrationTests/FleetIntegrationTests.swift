import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Fleet mode end to end, everything real and on loopback: a 3-member etcd with TLS and client certificates, Pebble,
/// three `certagent run` nodes — each its own store and its own webroot served on its own port — and nginx in front
/// of them on the port Pebble validates (an `upstream` round-robin), so the CA's validation requests land on any node.
/// Asserted: one order per certificate (Pebble's log), `current/` byte-identical on every node, each node's reload
/// ran, no challenge file left, no readable private key in etcd's keyspace, and `status` showing the fleet.
final class FleetIntegrationTests: XCTestCase {
    static let certificates: [(name: String, domains: [String])] = [("shop", ["fleet.test", "www.fleet.test"]), ("blog", ["blog.fleet.test"])]
    static let nodes = ["n1", "n2", "n3"]

    func testThreeNodesBehindALoadBalancerGetEachCertificateWithOneOrder() throws {
        let testbed = try Testbed()
        let etcd = try EtcdCluster(members: 3, tls: true)
        let base = testbed.directory + "/fleet"
        // The same master key on every node (in production: the same systemd credential).
        let masterKey = base + "/master.key"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: masterKey, contents: Data((0..<32).map { _ in UInt8.random(in: 0...255) }), attributes: [.posixPermissions: 0o600]))

        // nginx: one server per node on its own port and webroot, and the load balancer on Pebble's validation port.
        var ports: [Int] = []
        var servers = ""
        for node in Self.nodes {
            let port = try unusedLoopbackPort()
            ports.append(port)
            let webroot = base + "/\(node)/www"
            try FileManager.default.createDirectory(atPath: webroot, withIntermediateDirectories: true)
            servers += "server { listen 127.0.0.1:\(port); root \(webroot); access_log \(base)/\(node)-access.log; }\n"
        }
        let names = Self.certificates.flatMap(\.domains).joined(separator: " ")
        servers += """
            upstream fleet { \(ports.map { "server 127.0.0.1:\($0);" }.joined(separator: " ")) }
            server { listen 127.0.0.1:\(testbed.values["TESTBED_HTTP_PORT"]!); server_name \(names); location / { proxy_pass http://fleet; } }

            """
        try servers.write(toFile: testbed.values["TESTBED_NGINX_SERVERS"]! + "/fleet.conf", atomically: true, encoding: .utf8)
        let prefix = testbed.values["TESTBED_NGINX_PREFIX"]!
        let reload = try runCommand("/usr/sbin/nginx", ["-p", prefix, "-e", testbed.values["TESTBED_NGINX_ERROR_LOG"]!, "-c", prefix + "/nginx.conf", "-s", "reload"])
        XCTAssertEqual(reload.status, 0, reload.output)
        usleep(500_000)

        // Three nodes, the same config but for the node's name, store and webroot.
        var daemons: [BackgroundProcess] = []
        var configs: [String] = []
        for node in Self.nodes {
            let webroot = base + "/\(node)/www"
            let certificates: [[String: Any]] = Self.certificates.map { certificate in
                ["name": certificate.name, "domains": certificate.domains, "webroot": webroot,
                 "install": ["reload": ["/bin/sh", "-c", "echo \"$CERTAGENT_NAME\" >> \(base)/\(node)-reloads.log"]]]
            }
            let config = try testbed.writeConfig(certificates, storage: base + "/\(node)/store", extra: [
                "masterKeyFile": masterKey, "minimumRenewalIntervalSeconds": 1,
                "cluster": ["node": node, "endpoints": etcd.clientURLs, "prefix": "/certagent/test/", "caFile": etcd.caFile!,
                            "certificateFile": etcd.clientCertificate!, "keyFile": etcd.clientKey!, "acknowledgeTimeoutSeconds": 30],
            ])
            configs.append(config)
            daemons.append(try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: base + "/\(node).log"))
        }
        defer {
            for daemon in daemons {
                daemon.send(SIGTERM)
                _ = daemon.waitForExit(timeout: 15)
            }
        }
        func logs() -> String { zip(Self.nodes, daemons).map { "--- \($0.0)\n\($0.1.output)" }.joined(separator: "\n") }
        func current(_ node: String, _ name: String) -> String { base + "/\(node)/store/certificates/\(name)/current" }

        let everywhere = eventually(timeout: 180) {
            Self.nodes.allSatisfy { node in Self.certificates.allSatisfy { FileManager.default.fileExists(atPath: current(node, $0.name) + "/fullchain.pem") } }
        }
        XCTAssertTrue(everywhere, "every node has every certificate:\n\(logs())")
        // The reloads may trail the commit by a moment.
        XCTAssertTrue(eventually(timeout: 30) {
            Self.nodes.allSatisfy { node in
                let reloads = (try? String(contentsOfFile: base + "/\(node)-reloads.log", encoding: .utf8)) ?? ""
                return Self.certificates.allSatisfy { reloads.contains($0.name) }
            }
        }, "every node ran its reload for every certificate:\n\(logs())")

        XCTAssertEqual(try testbed.ordersCreated(), Self.certificates.count, "one order per certificate for the whole fleet:\n\(logs())")
        for certificate in Self.certificates {
            for file in ["privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "csr.pem"] {
                let copies = Set(Self.nodes.map { FileManager.default.contents(atPath: current($0, certificate.name) + "/" + file) ?? Data() })
                XCTAssertEqual(copies.count, 1, "\(certificate.name)/\(file) differs between nodes")
            }
        }
        // The validation requests went through the load balancer to more than one node.
        let served = Self.nodes.filter { ((try? String(contentsOfFile: base + "/\($0)-access.log", encoding: .utf8)) ?? "").contains("/.well-known/acme-challenge/") }
        XCTAssertGreaterThanOrEqual(served.count, 2, "validation reached \(served)")
        for node in Self.nodes {
            let left = filesBelow(base + "/\(node)/www").filter { $0.contains("acme-challenge/") }
            XCTAssertEqual(left, [], "challenge files left on \(node)")
        }
        let dump = try etcd.etcdctl(["get", "--prefix", "/certagent/test/"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertTrue(dump.stdout.contains("/certagent/test/certificates/shop/"), dump.stdout)
        XCTAssertFalse(dump.stdout.contains("PRIVATE KEY"), "a readable key in etcd")

        // `status` on any node shows the fleet: three nodes, every certificate deployed everywhere.
        XCTAssertTrue(eventually(timeout: 30) {
            let status = (try? runCommand(ProjectPaths.certagentBinary, ["status", "--config", configs[0]]).stdout) ?? ""
            return status.contains("nodes alive: n1, n2, n3") && status.contains("n1 ✓, n2 ✓, n3 ✓")
        }, (try? runCommand(ProjectPaths.certagentBinary, ["status", "--config", configs[0]]).output) ?? "")

        // A node started after the fleet issued catches up at start and deploys, without ordering.
        let lateConfig = try testbed.writeConfig(Self.certificates.map { ["name": $0.name, "domains": $0.domains, "webroot": base + "/n4/www"] },
                                                 storage: base + "/n4/store", extra: [
            "masterKeyFile": masterKey,
            "cluster": ["node": "n4", "endpoints": etcd.clientURLs, "prefix": "/certagent/test/", "caFile": etcd.caFile!,
                        "certificateFile": etcd.clientCertificate!, "keyFile": etcd.clientKey!],
        ])
        try FileManager.default.createDirectory(atPath: base + "/n4/www", withIntermediateDirectories: true)
        let late = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", lateConfig], outputPath: base + "/n4.log")
        daemons.append(late)
        XCTAssertTrue(eventually(timeout: 60) { late.output.contains("NOTICE started") }, late.output)
        for certificate in Self.certificates {
            XCTAssertEqual(FileManager.default.contents(atPath: current("n4", certificate.name) + "/fullchain.pem"),
                           FileManager.default.contents(atPath: current("n1", certificate.name) + "/fullchain.pem"), late.output)
        }
        XCTAssertTrue(late.output.contains("installed the fleet's version"), late.output)
        XCTAssertEqual(try testbed.ordersCreated(), Self.certificates.count, "the late node ordered nothing")

        // Two of three etcd members stopped (no quorum): every node keeps running and serving; status says why.
        etcd.stop(1)
        etcd.stop(2)
        let down = try runCommand(ProjectPaths.certagentBinary, ["status", "--config", configs[0]])
        XCTAssertTrue(down.stdout.contains("keeps serving its current certificates"), down.output)
        XCTAssertTrue(daemons.allSatisfy { $0.waitForExit(timeout: 0) == nil }, "a node exited without etcd:\n\(logs())")
        XCTAssertTrue(FileManager.default.fileExists(atPath: current("n2", "shop") + "/fullchain.pem"))
        try etcd.start(1)
        try etcd.start(2)
        try etcd.waitUntilHealthy([0, 1, 2])
        XCTAssertTrue(eventually(timeout: 60) {
            ((try? runCommand(ProjectPaths.certagentBinary, ["status", "--config", configs[0]]).stdout) ?? "").contains("nodes alive: n1, n2, n3, n4")
        }, "the nodes are back in the fleet:\n\(logs())")
    }
}
