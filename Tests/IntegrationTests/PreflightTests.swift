import Foundation
import TestSupport
import XCTest

/// The pre-flight check through the real binary and the system resolver: each name resolved through a private
/// `/etc/hosts` bound over the real one in a mount namespace of its own (`unshare --mount`, so the machine's file is
/// never touched), probes fetched from the test bed's nginx on Pebble's validation port (`CERTAGENT_HTTP01_PORT`).
final class PreflightTests: XCTestCase {
    override func setUpWithError() throws {
        guard getuid() == 0 else {
            XCTFail("binding a private /etc/hosts in a mount namespace needs root (CI runs the integration tests as root)")
            throw CancellationError()
        }
    }

    /// Runs certagent with `hosts` as its /etc/hosts and the pre-flight check on (the test bed turns it off for others).
    private func certagent(_ arguments: [String], hosts: String, testbed: Testbed) throws -> Subprocess.Result {
        let (command, environment) = try commandLine(arguments, hosts: hosts, testbed: testbed)
        return try runCommand(command[0], Array(command.dropFirst()), environment: environment)
    }

    /// The command (certagent exec'd by `sh` in its own mount namespace: its PID is certagent's) and its environment.
    private func commandLine(_ arguments: [String], hosts: String, testbed: Testbed) throws -> ([String], [String: String]) {
        let hostsFile = testbed.directory + "/hosts-\(UUID().uuidString.prefix(6))"
        try hosts.write(toFile: hostsFile, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment[Testbed.skipPreflightVariable] = nil
        environment["CERTAGENT_HTTP01_PORT"] = try XCTUnwrap(testbed.values["TESTBED_HTTP_PORT"])
        return (["/usr/bin/unshare", "--mount", "sh", "-c", "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"", "sh",
                 hostsFile, ProjectPaths.certagentBinary] + arguments, environment)
    }

    func testTheDaemonChecksBeforeAFirstOrderToo() throws {
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_VA_NOSLEEP": "1"])
        let temp = try TemporaryDirectory()
        let unserved = try temp.make("not-served")
        let served = try testbed.webroot(for: "fine.test")
        let config = try testbed.writeConfig([
            ["name": "unserved", "domains": ["unserved.test"], "webroot": unserved],
            ["name": "fine", "domains": ["fine.test"], "webroot": served],
        ], storage: testbed.directory + "/store")
        let (command, environment) = try commandLine(["run", "--config", config], hosts: "127.0.0.1 localhost unserved.test fine.test\n", testbed: testbed)
        let daemon = try BackgroundProcess(command, outputPath: testbed.directory + "/daemon.log", environment: environment)
        defer {
            if daemon.waitForExit(timeout: 0) == nil {
                daemon.send(SIGTERM)
                _ = daemon.waitForExit(timeout: 20)
            }
        }
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("unserved.test A 127.0.0.1 answered 404") }, daemon.output)
        XCTAssertTrue(eventually(timeout: 60) { FileManager.default.fileExists(atPath: testbed.directory + "/store/certificates/fine/current/cert.pem") },
                      "the served site is issued:\n\(daemon.output)")
        XCTAssertEqual(try testbed.ordersCreated(), 1, "only the served site's order reached Pebble:\n\(daemon.output)")
        XCTAssertTrue(daemon.output.contains("pre-flight check failed, nothing was ordered"), daemon.output)
        XCTAssertEqual(filesBelow(unserved), [])
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 20), 0, daemon.output)
    }

    private func orderRequests(_ testbed: Testbed) throws -> Int { try testbed.acmeRequests().filter { $0.hasSuffix("/order-plz") }.count }

    func testAnUnservedWebrootIsRefusedBeforeAnyOrderAndSkipPreflightLetsItThrough() throws {
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_VA_NOSLEEP": "1"])
        let served = try testbed.webroot(for: "served.test")
        let temp = try TemporaryDirectory()
        let unserved = try temp.make("not-served")   // nginx serves sites/unserved.test/public_html, not this
        let config = try testbed.writeConfig([
            ["name": "served", "domains": ["served.test", "www.served.test"], "webroot": served],
            ["name": "unserved", "domains": ["unserved.test"], "webroot": unserved],
        ], storage: testbed.directory + "/store")
        let hosts = "127.0.0.1 localhost served.test www.served.test unserved.test\n"

        let refused = try certagent(["issue", "--config", config, "unserved"], hosts: hosts, testbed: testbed)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("✗ unserved: pre-flight check failed, nothing was ordered"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("unserved.test A 127.0.0.1 answered 404 — the IPv4 server block does not serve \(unserved)"), refused.stderr)
        XCTAssertEqual(try testbed.ordersCreated(), 0, "no order reached Pebble")
        XCTAssertEqual(try orderRequests(testbed), 0, "not even a refused one")
        XCTAssertEqual(filesBelow(unserved), [], "the probe file and its directories are gone")

        let status = try runCommand(ProjectPaths.certagentBinary, ["status", "--config", config])
        XCTAssertTrue(status.stdout.contains("held back after 1 failure"), "a failure with backoff, like any other: \(status.stdout)")

        // --skip-preflight: the order goes to Pebble, whose validation then fails the same way.
        let skipped = try certagent(["renew", "--force", "--skip-preflight", "--config", config, "unserved"], hosts: hosts, testbed: testbed)
        XCTAssertEqual(skipped.status, 1, skipped.output)
        XCTAssertFalse(skipped.output.contains("pre-flight"), skipped.output)
        XCTAssertEqual(try testbed.ordersCreated(), 1, "the order reached Pebble")

        // A site that serves its webroot passes and is issued.
        let issued = try certagent(["issue", "--config", config, "served"], hosts: hosts, testbed: testbed)
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertTrue(issued.stdout.contains("✓ served: issued for served.test, www.served.test"), issued.stdout)
        XCTAssertEqual(try testbed.ordersCreated(), 2)
        XCTAssertEqual(filesBelow(served), [], "probe and challenge files are gone")
    }

    func testIPv4AndIPv6ServingDifferentRootsAreToldPerAddress() throws {
        let testbed = try Testbed()
        let port = try XCTUnwrap(testbed.values["TESTBED_HTTP_PORT"])
        let webroot = try testbed.webroot(for: "dual.test")   // what nginx serves on 127.0.0.1
        let temp = try TemporaryDirectory()
        let otherRoot = try temp.make("ipv6-root")
        // An IPv6 server block with another root, as a forgotten `listen [::]:80` block would have.
        try """
            server {
              listen [::1]:\(port);
              server_name dual.test;
              root \(otherRoot);
            }

            """.write(toFile: try XCTUnwrap(testbed.values["TESTBED_NGINX_SERVERS"]) + "/dual.conf", atomically: true, encoding: .utf8)
        let prefix = try XCTUnwrap(testbed.values["TESTBED_NGINX_PREFIX"])
        let reload = try runCommand("nginx", ["-p", prefix, "-e", try XCTUnwrap(testbed.values["TESTBED_NGINX_ERROR_LOG"]),
                                              "-c", prefix + "/nginx.conf", "-s", "reload"])
        XCTAssertEqual(reload.status, 0, reload.output)
        try waitUntilListening(address: "::1", port: port)

        let config = try testbed.writeConfig([
            ["name": "dual", "domains": ["dual.test"], "webroot": webroot],
            ["name": "closed", "domains": ["closed.test"], "webroot": webroot],
        ], storage: testbed.directory + "/store")
        // closed.test points at a loopback address nobody listens on.
        let hosts = "127.0.0.1 localhost dual.test\n::1 dual.test\n127.0.0.9 closed.test\n"
        let checked = try certagent(["check", "--online", "--config", config], hosts: hosts, testbed: testbed)
        XCTAssertEqual(checked.status, 1, checked.output)
        XCTAssertTrue(checked.stdout.contains("✓ dual.test A 127.0.0.1 served the probe file from \(webroot)"), checked.stdout)
        XCTAssertTrue(checked.stdout.contains("✗ dual.test AAAA ::1 answered 404 — the IPv6 server block does not serve \(webroot)"), checked.stdout)
        XCTAssertTrue(checked.stdout.contains("✗ closed.test A 127.0.0.9: port \(port) refused the connection"), checked.stdout)
        XCTAssertTrue(checked.stderr.contains("✗ pre-flight check failed for dual, closed"), checked.stderr)
        XCTAssertEqual(filesBelow(webroot), [])
        XCTAssertEqual(filesBelow(otherRoot), [])
        XCTAssertEqual(try testbed.ordersCreated(), 0, "check --online never orders")

        // The IPv6 block fixed (same root): both addresses pass.
        try FileManager.default.removeItem(atPath: otherRoot)
        try FileManager.default.createSymbolicLink(atPath: otherRoot, withDestinationPath: webroot)
        let fixed = try certagent(["check", "--online", "--config", config, "dual"], hosts: hosts, testbed: testbed)
        XCTAssertEqual(fixed.status, 0, fixed.output)
        XCTAssertTrue(fixed.stdout.contains("✓ dual.test AAAA ::1 served the probe file from \(webroot)"), fixed.stdout)
        XCTAssertTrue(fixed.stdout.contains("✓ every name serves its webroot through every address"), fixed.stdout)
    }

    func testCtrlCDuringAProbeRemovesTheProbeFile() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        // A server that accepts connections (the kernel does, from the backlog) and never answers.
        let silent = try BackgroundProcess(["python3", "-c", "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen(8)\n"
                                            + "print(s.getsockname()[1], flush=True)\ntime.sleep(300)"], outputPath: temp.path("silent.log"))
        defer {
            silent.send(SIGKILL)
            _ = silent.waitForExit(timeout: 10)
        }
        XCTAssertTrue(eventually(timeout: 10) { !silent.output.isEmpty }, "the silent server started")
        let port = silent.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let config: [String: Any] = ["email": "admin@example.com", "acceptTermsOfService": true, "directory": "https://127.0.0.1:1/dir",
                                     "storage": temp.path("store"),
                                     "certificates": [["name": "slow", "domains": ["slow.test"], "webroot": webroot]]]
        let configPath = try temp.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
        let hosts = try temp.write("hosts", "127.0.0.1 localhost slow.test\n")
        var environment = ProcessInfo.processInfo.environment
        environment[Testbed.skipPreflightVariable] = nil
        environment["CERTAGENT_HTTP01_PORT"] = port
        let check = try BackgroundProcess(["/usr/bin/unshare", "--mount", "sh", "-c", "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"", "sh",
                                           hosts, ProjectPaths.certagentBinary, "check", "--online", "--config", configPath],
                                          outputPath: temp.path("check.log"), environment: environment)
        defer { if check.waitForExit(timeout: 0) == nil { check.send(SIGKILL); _ = check.waitForExit(timeout: 10) } }
        XCTAssertTrue(eventually(timeout: 20) { filesBelow(webroot).contains { $0.hasPrefix(".well-known/acme-challenge/") && $0.count > 30 } },
                      "the probe file is placed and fetched:\n\(check.output)")
        check.send(SIGINT)
        XCTAssertEqual(check.waitForExit(timeout: 15), 130, "Ctrl-C aborts the request within seconds, not after the 20 s timeout:\n\(check.output)")
        XCTAssertTrue(check.output.contains("✗ interrupted by"), check.output)
        XCTAssertEqual(filesBelow(webroot), [], "the probe file and the directories made for it are gone")
    }

    /// Waits (up to 10 s: nginx reloads asynchronously) until `address`:`port` accepts connections.
    private func waitUntilListening(address: String, port: String) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try runCommand("curl", ["-s", "-o", "/dev/null", "-g", "http://[\(address)]:\(port)/"]).status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("nothing listens on [\(address)]:\(port) after the reload")
    }
}
