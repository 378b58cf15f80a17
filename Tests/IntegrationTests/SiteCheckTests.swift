import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What the site really serves, through the real binary against a real nginx on loopback ports (started here with a
/// generated config, stopped by its PID): one vhost serving the current certificate, one (by SNI) an older one, one
/// address where nothing listens — `status` shows each, `status --check` exits by the monitoring-plugin convention.
final class SiteCheckTests: XCTestCase {
    private var temp: TemporaryDirectory!
    private var nginx: BackgroundProcess?
    private var storage: String { temp.path("store") }

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
    }

    override func tearDown() {
        if let nginx {
            nginx.send(SIGTERM)
            if nginx.waitForExit(timeout: 10) == nil { nginx.send(SIGKILL); _ = nginx.waitForExit(timeout: 5) }
        }
        nginx = nil
    }

    // MARK: Helpers

    @discardableResult
    private func openssl(_ arguments: [String]) throws -> String {
        let result = try Subprocess.run(["/usr/bin/openssl"] + arguments)
        guard result.status == 0 else { throw SetupError("openssl \(arguments.joined(separator: " ")): \(result.output)") }
        return result.stdout
    }

    private struct SetupError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A self-signed certificate and key for `names` (files in the temp dir), with `serial` and `days` of validity.
    private func makeCertificate(_ tag: String, names: [String], serial: String, days: Int) throws -> CertificateMaterial {
        let key = temp.path("\(tag).key"), cert = temp.path("\(tag).pem"), csr = temp.path("\(tag).csr")
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                     "-subj", "/CN=\(names[0])", "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
                     "-set_serial", "0x" + serial, "-days", String(days)])
        try openssl(["req", "-new", "-key", key, "-subj", "/CN=\(names[0])", "-out", csr])
        let certificatePEM = try String(contentsOfFile: cert, encoding: .utf8)
        return CertificateMaterial(privateKeyPEM: try String(contentsOfFile: key, encoding: .utf8),
                                   csrPEM: try String(contentsOfFile: csr, encoding: .utf8),
                                   certificatePEM: certificatePEM, chainPEM: certificatePEM)
    }

    /// A free 127.0.0.1 TCP port (bound, read, closed).
    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SetupError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// nginx on `port`: shop.test and www.shop.test get `current`, old.shop.test (by SNI) gets `older`.
    private func startNginx(port: Int, current: String, older: (cert: String, key: String)) throws {
        let prefix = try temp.make("nginx")
        try temp.make("nginx/tmp")
        let user = getuid() == 0 ? "user root root;" : ""
        let conf = try temp.write("nginx/nginx.conf", """
            \(user)
            daemon off;
            worker_processes 1;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/error.log warn;
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path \(prefix)/tmp/body;
              proxy_temp_path \(prefix)/tmp/proxy;
              fastcgi_temp_path \(prefix)/tmp/fastcgi;
              uwsgi_temp_path \(prefix)/tmp/uwsgi;
              scgi_temp_path \(prefix)/tmp/scgi;
              server {
                listen 127.0.0.1:\(port) ssl default_server;
                server_name shop.test www.shop.test;
                ssl_certificate \(current)/fullchain.pem;
                ssl_certificate_key \(current)/privkey.pem;
                return 200 "current\\n";
              }
              server {
                listen 127.0.0.1:\(port) ssl;
                server_name old.shop.test;
                ssl_certificate \(older.cert);
                ssl_certificate_key \(older.key);
                return 200 "older\\n";
              }
            }

            """)
        nginx = try BackgroundProcess(["/usr/sbin/nginx", "-p", prefix, "-e", prefix + "/error.log", "-c", conf],
                                      outputPath: temp.path("nginx.out"))
        guard eventually(timeout: 20, { accepts(port) }) else {
            throw SetupError("nginx did not start: \(nginx?.output ?? "") \((try? temp.read("nginx/error.log")) ?? "")")
        }
    }

    private func writeConfig(_ file: String, certificates: [[String: Any]]) throws -> String {
        let config: [String: Any] = [
            "email": "admin@example.com", "acceptTermsOfService": true, "directory": "https://127.0.0.1:9/directory",
            "storage": storage, "masterKeyFile": temp.path("etc/master.key"), "certificates": certificates,
        ]
        try temp.make("etc")
        let path = temp.path("etc/\(file)")
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: The test

    func testStatusShowsWhatEachNameServesAndCheckExitsByThePluginConvention() throws {
        let webroot = try temp.make("www")
        let sitePort = try freePort()
        let deadPort = try freePort()   // nothing listens there
        let shopNames = ["shop.test", "www.shop.test", "old.shop.test"]
        let shop: [String: Any] = ["name": "shop", "domains": shopNames, "webroot": webroot, "address": "127.0.0.1:\(sitePort)"]
        let down: [String: Any] = ["name": "down", "domains": ["down.test"], "webroot": webroot, "address": "127.0.0.1:\(deadPort)"]
        let config = try writeConfig("config.json", certificates: [shop, down])

        // A store made by CertAgent (no CA needed), holding the certificates the test chose.
        let set = try certagent(["secret", "set", "token", "--config", config], input: distinctiveValue("t-"))
        XCTAssertEqual(set.status, 0, set.output)
        let store = try CertificateStore(root: storage, webroots: [])
        let current = try store.commit(try store.stage(try makeCertificate("current", names: shopNames, serial: "0B", days: 90), for: "shop"), for: "shop")
        _ = try store.commit(try store.stage(try makeCertificate("down", names: ["down.test"], serial: "0D", days: 90), for: "down"), for: "down")
        _ = try makeCertificate("older", names: shopNames, serial: "0A", days: 20)
        try startNginx(port: sitePort, current: current.directory, older: (temp.path("older.pem"), temp.path("older.key")))

        // Before any check: every name unchecked.
        let before = try certagent(["status", "--json", "--config", config])
        XCTAssertEqual(before.status, 0, before.output)
        XCTAssertEqual(try siteStates(before.stdout)["shop"], ["shop.test": "unchecked", "www.shop.test": "unchecked", "old.shop.test": "unchecked"])

        // A fresh check, shown per name.
        let checked = try certagent(["status", "--site", "--config", config])
        XCTAssertEqual(checked.status, 0, checked.output)
        let lines = checked.stdout.split(separator: "\n").map { String($0) }
        func line(_ name: String) -> String? { lines.first { $0.hasPrefix("    site          \(name): ") } }
        XCTAssertTrue(line("shop.test")?.contains("serves the current certificate ✓ (checked ") ?? false, checked.stdout)
        XCTAssertTrue(line("www.shop.test")?.contains("serves the current certificate ✓ (checked ") ?? false, checked.stdout)
        XCTAssertTrue(line("old.shop.test")?.contains("serves an older certificate (serial 0a, expires ") ?? false, checked.stdout)
        XCTAssertTrue(line("down.test")?.contains("unreachable (connection refused) (checked ") ?? false, checked.stdout)

        // Kept in the store: the next plain status (and --json) shows the same without connecting.
        XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/certificates/shop/site.json"))
        let json = try certagent(["status", "--json", "--config", config])
        XCTAssertEqual(json.status, 0, json.output)
        let states = try siteStates(json.stdout)
        XCTAssertEqual(states["shop"], ["shop.test": "current", "www.shop.test": "current", "old.shop.test": "other"])
        XCTAssertEqual(states["down"], ["down.test": "unreachable"])
        XCTAssertTrue(json.stdout.contains(#""reason" : "refused""#), json.stdout)
        XCTAssertTrue(json.stdout.contains(#""serial" : "0a""#), json.stdout)

        // --check: WARNING (a name serves another certificate, a site is unreachable).
        let warning = try certagent(["status", "--check", "--config", config])
        XCTAssertEqual(warning.status, 1, warning.output)
        XCTAssertEqual(warning.stdout.split(separator: "\n").first.map(String.init),
                       "CERTAGENT WARNING - shop site serves another certificate (old.shop.test); down site unreachable (down.test: connection refused)")

        // CRITICAL: a configured certificate with none issued.
        let criticalConfig = try writeConfig("critical.json", certificates: [shop, down, ["name": "new", "domains": ["new.test"], "webroot": webroot]])
        let critical = try certagent(["status", "--check", "--config", criticalConfig])
        XCTAssertEqual(critical.status, 2, critical.output)
        XCTAssertEqual(critical.stdout.split(separator: "\n").first.map(String.init),
                       "CERTAGENT CRITICAL - new has no certificate yet; shop site serves another certificate (old.shop.test); down site unreachable (down.test: connection refused)")

        // OK: only the names served the current certificate, checked afresh (a reduced config: its check replaces the stored result).
        let okConfig = try writeConfig("ok.json", certificates: [["name": "shop", "domains": ["shop.test", "www.shop.test"], "webroot": webroot,
                                                                    "address": "127.0.0.1:\(sitePort)"]])
        let ok = try certagent(["status", "--check", "--site", "--config", okConfig])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertEqual(ok.stdout.split(separator: "\n").first.map(String.init), "CERTAGENT OK - 1 certificate valid, sites serve current")

        // UNKNOWN: the config cannot be used (a bad address), with the reason on stderr.
        let badConfig = try writeConfig("bad.json", certificates: [["name": "shop", "domains": ["shop.test"], "webroot": webroot, "address": "::1:443"]])
        let unknown = try certagent(["status", "--check", "--config", badConfig])
        XCTAssertEqual(unknown.status, 3, unknown.output)
        XCTAssertEqual(unknown.stdout.split(separator: "\n").first.map(String.init), "CERTAGENT UNKNOWN - cannot read the config or the store: see the messages above")
        XCTAssertTrue(unknown.stderr.contains("certificates[0].address"), unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("an IPv6 address must be written in brackets"), unknown.stderr)
    }

    /// A 127.0.0.1 port that accepts TCP connections (the kernel completes them) and never answers: a TLS handshake
    /// there waits until its timeout. Returns the listening descriptor (close it to stop).
    private func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        } && listen(fd, 16) == 0
        guard ready else { close(fd); throw SetupError("cannot listen") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func testTheDaemonChecksAtStartAndAStopAbortsACheckInFlight() throws {
        let webroot = try temp.make("www")
        let sitePort = try freePort()
        let silent = try silentListener()
        defer { close(silent.fd) }
        let shopNames = ["shop.test", "www.shop.test", "old.shop.test"]
        let config = try writeConfig("config.json", certificates: [
            ["name": "shop", "domains": shopNames, "webroot": webroot, "address": "127.0.0.1:\(sitePort)"],
            ["name": "slow", "domains": ["slow.test"], "webroot": webroot, "address": "127.0.0.1:\(silent.port)"],
        ])
        let set = try certagent(["secret", "set", "token", "--config", config], input: distinctiveValue("t-"))
        XCTAssertEqual(set.status, 0, set.output)
        let store = try CertificateStore(root: storage, webroots: [])
        let current = try store.commit(try store.stage(try makeCertificate("current", names: shopNames, serial: "0B", days: 90), for: "shop"), for: "shop")
        _ = try store.commit(try store.stage(try makeCertificate("slow", names: ["slow.test"], serial: "0C", days: 90), for: "slow"), for: "slow")
        _ = try makeCertificate("older", names: shopNames, serial: "0A", days: 20)
        try startNginx(port: sitePort, current: current.directory, older: (temp.path("older.pem"), temp.path("older.key")))

        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: temp.path("daemon.log"))
        defer { if daemon.waitForExit(timeout: 0) == nil { daemon.send(SIGKILL); _ = daemon.waitForExit(timeout: 5) } }
        // Never checked: checked at start, beside the (offline) renewal planning, and the result kept in the store.
        let sites = SiteCheckStore(store: store)
        XCTAssertTrue(eventually(timeout: 60) { sites.load("shop").names.count == 3 }, daemon.output)
        let shop = sites.load("shop")
        XCTAssertEqual(shop.names.map(\.served), [.current, .current, .other])
        XCTAssertEqual(shop.currentSerial, "0b")
        XCTAssertTrue(eventually(timeout: 10) { daemon.output.contains("site check: shop.test: serves the current certificate ✓; www.shop.test: serves the current certificate ✓; old.shop.test: serves another certificate (serial 0a") }, daemon.output)

        // The check of "slow" now waits on a server that never answers (10 s timeout): SIGTERM ends it at once.
        Thread.sleep(forTimeInterval: 1)
        let stopAt = Date()
        daemon.send(SIGTERM)
        let status = daemon.waitForExit(timeout: 30)
        XCTAssertEqual(status, 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(stopAt), 6, "stopped without waiting for the probe's timeout:\n\(daemon.output)")
        XCTAssertTrue(daemon.output.contains("stopped"), daemon.output)
        XCTAssertTrue(sites.load("slow").names.isEmpty, "a cancelled check stores nothing")
        XCTAssertFalse(daemon.output.contains("slow.test: unreachable"), daemon.output)
    }

    /// `status --json`: certificate name → (site name → served).
    private func siteStates(_ json: String) throws -> [String: [String: String]] {
        let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        var states: [String: [String: String]] = [:]
        for report in reports {
            let name = try XCTUnwrap(report["name"] as? String)
            let site = try XCTUnwrap(report["site"] as? [[String: Any]])
            states[name] = Dictionary(uniqueKeysWithValues: site.map { ($0["name"] as? String ?? "?", $0["served"] as? String ?? "?") })
        }
        return states
    }
}
