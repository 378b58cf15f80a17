import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The fleet test bed shared by the fleet's integration tests, everything real and on loopback: Pebble (`Testbed`), a
/// 3-member etcd with TLS and client certificates (`EtcdCluster`), one nginx server per node on its own port serving
/// that node's webroot, and nginx's load balancer (an `upstream` round-robin) on the port Pebble validates, so the CA's
/// validation requests land on any node. Nodes are `certagent run` processes, each with its own store, started and
/// stopped by PID.
final class FleetBed {
    typealias CertificateSpec = (name: String, domains: [String])

    /// Two certificates, three names.
    static let standardCertificates: [CertificateSpec] = [("shop", ["fleet.test", "www.fleet.test"]), ("blog", ["blog.fleet.test"])]
    /// The etcd prefix every node's cluster block names.
    static let prefix = "/certagent/test/"

    let testbed: Testbed
    let etcd: EtcdCluster
    let base: String
    let masterKey: String
    let certificates: [CertificateSpec]
    private(set) var daemons: [String: BackgroundProcess] = [:]
    private(set) var configs: [String: String] = [:]
    private var ports: [String: Int] = [:]

    init(balanced: [String], certificates: [CertificateSpec] = FleetBed.standardCertificates, testbedOptions: [String] = []) throws {
        self.certificates = certificates
        testbed = try Testbed(options: testbedOptions)
        etcd = try EtcdCluster(members: 3, tls: true)
        base = testbed.directory + "/fleet"
        // The same master key on every node (in production: the same systemd credential).
        masterKey = base + "/master.key"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: masterKey, contents: Data((0..<32).map { _ in UInt8.random(in: 0...255) }),
                                             attributes: [.posixPermissions: 0o600]) else { throw CocoaError(.fileWriteUnknown) }
        for node in balanced {
            ports[node] = try unusedLoopbackPort()
            try FileManager.default.createDirectory(atPath: webroot(node), withIntermediateDirectories: true)
        }
        try balance(balanced)
    }

    /// nginx: one server per node on its own port and webroot, and the load balancer on Pebble's validation port
    /// over the servers of `nodes` (a load balancer's health check drops a server that died).
    func balance(_ nodes: [String]) throws {
        for node in nodes where ports[node] == nil {
            ports[node] = try unusedLoopbackPort()
            try FileManager.default.createDirectory(atPath: webroot(node), withIntermediateDirectories: true)
        }
        var servers = ""
        for (node, port) in ports.sorted(by: { $0.key < $1.key }) {
            servers += "server { listen 127.0.0.1:\(port); root \(webroot(node)); access_log \(base)/\(node)-access.log; }\n"
        }
        let names = certificates.flatMap(\.domains).joined(separator: " ")
        servers += """
            upstream fleet { \(nodes.map { "server 127.0.0.1:\(ports[$0]!);" }.joined(separator: " ")) }
            server { listen 127.0.0.1:\(testbed.values["TESTBED_HTTP_PORT"]!); server_name \(names); location / { proxy_pass http://fleet; } }

            """
        try servers.write(toFile: testbed.values["TESTBED_NGINX_SERVERS"]! + "/fleet.conf", atomically: true, encoding: .utf8)
        let prefix = testbed.values["TESTBED_NGINX_PREFIX"]!
        let reload = try runCommand("/usr/sbin/nginx", ["-p", prefix, "-e", testbed.values["TESTBED_NGINX_ERROR_LOG"]!, "-c", prefix + "/nginx.conf", "-s", "reload"])
        guard reload.status == 0 else { throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: reload.output]) }
        usleep(500_000)
    }

    func webroot(_ node: String) -> String { base + "/\(node)/www" }
    func store(_ node: String) -> String { base + "/\(node)/store" }
    func current(_ node: String, _ name: String) -> String { store(node) + "/certificates/\(name)/current" }
    /// Where node `node`'s reload hook keeps a copy of every leaf certificate it deployed (`NAME.<nanoseconds>.pem`).
    func deployedCopies(_ node: String) -> String { base + "/\(node)/deployed" }

    /// Writes node `node`'s config — the same as every other node's but for its name, store and webroot — and returns
    /// its path; `cluster: false` leaves the cluster block out (a single server before it joins a fleet).
    func writeConfig(_ node: String, cluster: Bool = true) throws -> String {
        try FileManager.default.createDirectory(atPath: webroot(node), withIntermediateDirectories: true)
        let copies = deployedCopies(node)
        let hook = "mkdir -p \(copies) && cp \"$CERTAGENT_CERTIFICATE\" \(copies)/\"$CERTAGENT_NAME\".$(date +%s%N).pem && echo \"$CERTAGENT_NAME\" >> \(base)/\(node)-reloads.log"
        let certificates: [[String: Any]] = certificates.map { certificate in
            ["name": certificate.name, "domains": certificate.domains, "webroot": webroot(node),
             "install": ["reload": ["/bin/sh", "-c", hook]]]
        }
        var extra: [String: Any] = ["masterKeyFile": masterKey, "minimumRenewalIntervalSeconds": 1]
        if cluster {
            extra["cluster"] = ["node": node, "endpoints": etcd.clientURLs, "prefix": Self.prefix, "caFile": etcd.caFile!,
                                        "certificateFile": etcd.clientCertificate!, "keyFile": etcd.clientKey!, "acknowledgeTimeoutSeconds": 30]
        }
        return try testbed.writeConfig(certificates, storage: store(node), extra: extra)
    }

    /// Starts node `node` (`certagent run`) with its config, written by `writeConfig` the first time.
    @discardableResult
    func start(_ node: String) throws -> BackgroundProcess {
        let config = try configs[node] ?? writeConfig(node)
        configs[node] = config
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: base + "/\(node).log")
        daemons[node] = daemon
        return daemon
    }

    /// Stops node `node` (SIGTERM to its PID) and returns its exit status.
    @discardableResult
    func stop(_ node: String) -> Int32? {
        guard let daemon = daemons[node] else { return nil }
        daemon.send(SIGTERM)
        return daemon.waitForExit(timeout: 15)
    }

    func status(_ node: String) -> Subprocess.Result? { try? runCommand(ProjectPaths.certagentBinary, ["status", "--config", configs[node]!]) }

    var logs: String { daemons.sorted { $0.key < $1.key }.map { "--- \($0.key)\n\($0.value.output)" }.joined(separator: "\n") }

    func hasEveryCertificate(_ node: String) -> Bool {
        certificates.allSatisfy { FileManager.default.fileExists(atPath: current(node, $0.name) + "/fullchain.pem") }
    }

    /// The serial of node `node`'s current leaf of `name`, nil when it has none.
    func serial(_ node: String, _ name: String) -> String? {
        (try? Certificate(pem: String(contentsOfFile: current(node, name) + "/cert.pem", encoding: .utf8)))?.serialHex
    }

    /// Whether every one of `nodes` holds the same leaf of every certificate, and that leaf is not one of `excluded`.
    func allHoldTheSameNewLeaf(_ nodes: [String], excluded: Set<String> = []) -> Bool {
        certificates.allSatisfy { certificate in
            let serials = Set(nodes.map { serial($0, certificate.name) })
            guard serials.count == 1, let only = serials.first, let serial = only else { return false }
            return !excluded.contains(serial)
        }
    }

    /// The leaves node `node` deployed (its reload hook's copies), per certificate name, in the order deployed.
    func deployedLeaves(_ node: String) -> [String: [Certificate]] {
        let directory = deployedCopies(node)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".pem") }
        var leaves: [String: [(Int, Certificate)]] = [:]
        for file in files {
            let parts = file.split(separator: ".")
            guard parts.count == 3, let when = Int(parts[1]),
                  let leaf = try? Certificate(pem: String(contentsOfFile: directory + "/" + file, encoding: .utf8)) else { continue }
            leaves[String(parts[0]), default: []].append((when, leaf))
        }
        return leaves.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
    }

    func challengeFilesLeft(_ node: String) -> [String] { filesBelow(webroot(node)).filter { $0.contains("acme-challenge/") } }

    /// `POST /order-plz` requests Pebble has handled so far (new orders asked for, created or not).
    func orderRequests() throws -> Int { try testbed.acmeRequests().filter { $0.hasSuffix("/order-plz") }.count }

    deinit {
        for daemon in daemons.values {
            daemon.send(SIGTERM)
            _ = daemon.waitForExit(timeout: 15)
        }
    }
}
