import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `certagent init` through the real binary against Pebble and the test bed's nginx: a second init adds, a failed init
/// leaves nothing, the reload it writes makes nginx serve each renewed certificate, and an ordinary user gets the user
/// unit's steps.
final class InitCommandTests: XCTestCase {
    private func certagent(_ arguments: [String], environment: [String: String]? = nil) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments, environment: environment)
    }

    private func caFlags(_ testbed: Testbed) -> [String] {
        ["--directory", testbed.directoryURL, "--ca-file", testbed.caFile]
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    func testASecondInitAddsAndAFailedInitLeavesNothing() throws {
        let testbed = try Testbed()
        let config = testbed.directory + "/etc/config.json"
        let store = testbed.directory + "/store"
        let first = try certagent(["init", "--config", config, "--domain", "one.test", "--webroot", try testbed.webroot(for: "one.test"),
                                   "--storage", store, "--email", "admin@example.com", "--accept-terms-of-service", "--no-reload"] + caFlags(testbed))
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertEqual(mode(config), 0o600, "a new config is the user's alone")

        // The admin hand-edits it (their layout, an extra field, mode 0640): a second init adds and keeps all of that.
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacing("\"keyType\": \"ec256\",", with: "\"keyType\": \"ec256\",\n  \"maxConcurrentRenewals\": 3,")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(config, 0o640), 0)
        let second = try certagent(["init", "--config", config, "--domain", "two.test", "--domain", "www.two.test",
                                    "--webroot", try testbed.webroot(for: "two.test"), "--key-type", "rsa2048", "--no-reload"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.stdout.contains("Added the certificate two.test to \(config)"), second.stdout)
        XCTAssertTrue(second.stdout.contains("✓ two.test: issued for two.test, www.two.test"), second.stdout)
        let added = try String(contentsOfFile: config, encoding: .utf8)
        let firstEntryEnd = try XCTUnwrap(text.range(of: "public_html\"\n    }")).upperBound
        XCTAssertTrue(added.hasPrefix(String(text[..<firstEntryEnd])), "everything up to the end of the first entry is byte for byte as it was:\n\(added)")
        XCTAssertTrue(added.contains("\"name\": \"two.test\",\n      \"domains\": [\"two.test\", \"www.two.test\"],"), added)
        XCTAssertTrue(added.contains("\"keyType\": \"rsa2048\""), "the key type differs from the config's, so the entry carries it")
        XCTAssertEqual(mode(config), 0o640, "the mode stays as the admin set it")
        let status = try certagent(["status", "--config", config])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(status.stdout.contains("one.test") && status.stdout.contains("two.test"), status.stdout)

        // Names and domains already there are errors; --force lists the change and needs --yes without a terminal.
        let duplicate = try certagent(["init", "--config", config, "--domain", "www.two.test", "--webroot", try testbed.webroot(for: "two.test"), "--no-reload"])
        XCTAssertEqual(duplicate.status, 2, duplicate.output)
        XCTAssertTrue(duplicate.stderr.contains("www.two.test is already in the certificate two.test (two.test, www.two.test)"), duplicate.stderr)
        XCTAssertTrue(duplicate.stderr.contains("run init --name two.test --force"), duplicate.stderr)
        let unconfirmed = try certagent(["init", "--config", config, "--domain", "one.test", "--domain", "www.one.test", "--webroot",
                                         try testbed.webroot(for: "one.test"), "--force", "--no-reload"])
        XCTAssertEqual(unconfirmed.status, 2, unconfirmed.output)
        XCTAssertTrue(unconfirmed.stdout.contains("domains: one.test → one.test, www.one.test"), unconfirmed.stdout)
        XCTAssertTrue(unconfirmed.stderr.contains("pass --yes"), unconfirmed.stderr)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), added)
        let changedSetting = try certagent(["init", "--config", config, "--domain", "three.test", "--webroot", try testbed.webroot(for: "three.test"),
                                            "--email", "other@example.com", "--no-reload"])
        XCTAssertEqual(changedSetting.status, 2, changedSetting.output)
        XCTAssertTrue(changedSetting.stderr.contains("--email other@example.com: the config's email is admin@example.com"), changedSetting.stderr)

        // Adding a site whose webroot nginx does not serve: validation fails, the config is as it was, the hint names --webroot.
        let unserved = testbed.directory + "/unserved"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let failed = try certagent(["init", "--config", config, "--domain", "three.test", "--webroot", unserved, "--no-reload"])
        XCTAssertEqual(failed.status, 1, failed.output)
        XCTAssertTrue(failed.stderr.contains("Nothing was kept (\(config) is as it was)"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("check that --webroot \(unserved) is the directory your web server serves for three.test"), failed.stderr)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), added)
        XCTAssertEqual(mode(config), 0o640)
        // The same command with the fix just works.
        let fixed = try certagent(["init", "--config", config, "--domain", "three.test", "--webroot", try testbed.webroot(for: "three.test"), "--no-reload"])
        XCTAssertEqual(fixed.status, 0, fixed.output)
        XCTAssertEqual(ConfigNames.of(config), ["one.test", "two.test", "three.test"])

        // A new config whose terms are not accepted, or whose store cannot be made: no config left, the flag named.
        let fresh = testbed.directory + "/etc/fresh.json"
        let terms = try certagent(["init", "--config", fresh, "--domain", "four.test", "--webroot", try testbed.webroot(for: "four.test"),
                                   "--storage", testbed.directory + "/store4", "--no-reload"] + caFlags(testbed))
        XCTAssertEqual(terms.status, 1, terms.output)
        XCTAssertTrue(terms.stderr.contains("Nothing was kept (\(fresh) was removed): read the CA's terms, then run the same init again with --accept-terms-of-service"), terms.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh))
        let blocker = testbed.directory + "/a-file"
        try "".write(toFile: blocker, atomically: true, encoding: .utf8)
        let noStore = try certagent(["init", "--config", fresh, "--domain", "four.test", "--webroot", try testbed.webroot(for: "four.test"),
                                     "--storage", blocker + "/store", "--accept-terms-of-service", "--no-reload"] + caFlags(testbed))
        XCTAssertNotEqual(noStore.status, 0, noStore.output)
        XCTAssertTrue(noStore.stderr.contains("--storage"), noStore.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh))
        let retried = try certagent(["init", "--config", fresh, "--domain", "four.test", "--webroot", try testbed.webroot(for: "four.test"),
                                     "--storage", testbed.directory + "/store4", "--accept-terms-of-service", "--no-reload"] + caFlags(testbed))
        XCTAssertEqual(retried.status, 0, retried.output)
    }

    func testTheReloadInitWritesMakesNginxServeTheRenewedCertificate() throws {
        let testbed = try Testbed()
        let config = testbed.directory + "/etc/config.json"
        let nginxPrefix = try XCTUnwrap(testbed.values["TESTBED_NGINX_PREFIX"])
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "nginx"
        let reload = [nginx, "-p", nginxPrefix, "-e", try XCTUnwrap(testbed.values["TESTBED_NGINX_ERROR_LOG"]), "-c", nginxPrefix + "/nginx.conf", "-s", "reload"]
        let initialized = try certagent(["init", "--config", config, "--domain", "tls.test", "--webroot", try testbed.webroot(for: "tls.test"),
                                         "--storage", testbed.directory + "/store", "--accept-terms-of-service", "--reload", reload.joined(separator: " ")]
                                        + caFlags(testbed))
        XCTAssertEqual(initialized.status, 0, initialized.output)
        XCTAssertTrue(initialized.stdout.contains("After each renewal CertAgent runs: \(reload.joined(separator: " "))"), initialized.stdout)
        XCTAssertTrue(try String(contentsOfFile: config, encoding: .utf8).contains("\"reload\": [" + reload.map { "\"\($0)\"" }.joined(separator: ", ") + "]"))

        // The admin pastes the two lines init printed into a TLS server block, and reloads nginx once.
        let directives = initialized.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("ssl_certificate") }
        XCTAssertEqual(directives.count, 2, initialized.stdout)
        let port = try XCTUnwrap(testbed.values["TESTBED_TLS_PORT"])
        try """
            server {
              listen 127.0.0.1:\(port) ssl;
              server_name tls.test;
              \(directives.joined(separator: "\n  "))
            }

            """.write(toFile: try XCTUnwrap(testbed.values["TESTBED_NGINX_SERVERS"]) + "/tls.conf", atomically: true, encoding: .utf8)
        let manual = try runCommand(reload[0], Array(reload.dropFirst()))
        XCTAssertEqual(manual.status, 0, manual.output)
        let current = testbed.directory + "/store/certificates/tls.test/current/cert.pem"
        let issued = try Certificate(pem: String(contentsOfFile: current, encoding: .utf8)).serialHex
        XCTAssertTrue(eventually(timeout: 20) { self.servedSerial(port: port) == issued }, "nginx serves the issued certificate")

        // renew --force: a new certificate, and nginx serves it without anyone touching nginx.
        let renewed = try certagent(["renew", "--force", "--config", config, "tls.test"])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        let next = try Certificate(pem: String(contentsOfFile: current, encoding: .utf8)).serialHex
        XCTAssertNotEqual(next, issued)
        XCTAssertTrue(eventually(timeout: 20) { self.servedSerial(port: port) == next }, "nginx serves the renewed certificate: \(servedSerial(port: port) ?? "nothing")")
    }

    /// The serial (hex, as `Certificate.serialHex` writes it) of the certificate nginx serves for tls.test on `port`.
    private func servedSerial(port: String) -> String? {
        guard let served = try? Subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "tls.test"], stdin: []),
              let start = served.stdout.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = served.stdout.range(of: "-----END CERTIFICATE-----", range: start.upperBound ..< served.stdout.endIndex) else { return nil }
        return try? Certificate(pem: String(served.stdout[start.lowerBound ..< end.upperBound]) + "\n").serialHex
    }

    func testAReloadOnlyInstallRunsForEachNewCertificateButNotAtDaemonStartOrSIGHUP() throws {
        let testbed = try Testbed()
        let marker = testbed.directory + "/reloads.txt"
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([[
            "name": "hook", "domains": ["hook.test"], "webroot": try testbed.webroot(for: "hook.test"),
            "install": ["reload": ["/bin/sh", "-c", "echo reloaded >> '\(marker)'"]],
        ]], storage: storage)
        func reloads() -> Int { ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").count }
        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertEqual(reloads(), 1, "the first certificate is deployed once")

        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--verbose", "--config", config], outputPath: testbed.directory + "/daemon.log")
        // "started" and "config reloaded" are logged after the deployment step of start and SIGHUP.
        func reloadsLogged() -> Int { daemon.output.components(separatedBy: "config reloaded").count - 1 }
        XCTAssertTrue(eventually(timeout: 20) { daemon.output.contains("started") }, daemon.output)
        XCTAssertEqual(reloads(), 1, "a daemon start does not reload for a certificate already deployed: \(daemon.output)")
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 20) { reloadsLogged() == 1 }, daemon.output)
        XCTAssertEqual(reloads(), 1, "nor does SIGHUP: \(daemon.output)")

        // A new certificate (renew --force while the daemon runs) is deployed, once.
        let renewed = try certagent(["renew", "--force", "--config", config, "hook"])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        XCTAssertEqual(reloads(), 2)
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 20) { reloadsLogged() == 2 }, daemon.output)
        XCTAssertEqual(reloads(), 2, "the daemon sees the new version was deployed already: \(daemon.output)")

        // A changed reload command runs once for the current certificate, at the SIGHUP that brings it.
        let changed = try testbed.writeConfig([[
            "name": "hook", "domains": ["hook.test"], "webroot": try testbed.webroot(for: "hook.test"),
            "install": ["reload": ["/bin/sh", "-c", "echo reloaded by the new command >> '\(marker)'"]],
        ]], storage: storage)
        XCTAssertEqual(rename(changed, config), 0)
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 20) { reloadsLogged() == 3 }, daemon.output)
        XCTAssertEqual(reloads(), 3, daemon.output)
        XCTAssertTrue(try String(contentsOfFile: marker, encoding: .utf8).hasSuffix("reloaded by the new command\n"))
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 20) { reloadsLogged() == 4 }, daemon.output)
        XCTAssertEqual(reloads(), 3, daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
    }

    func testInitAsAnOrdinaryUserPrintsTheUserUnitSteps() throws {
        let testbed = try Testbed()
        let nobody: uid_t = 65534
        let home = testbed.directory + "/home-nobody"
        let site = testbed.sites + "/user.test"
        let webroot = try testbed.webroot(for: "user.test")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        for path in [home, site, webroot] { XCTAssertEqual(chown(path, nobody, nobody), 0) }
        let result = try runCommand("/usr/bin/setpriv", ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", ProjectPaths.certagentBinary,
                                                         "init", "--domain", "user.test", "--webroot", webroot, "--accept-terms-of-service",
                                                         // The test bed's own nginx runs: which reload to propose is not this test's subject.
                                                         "--no-reload"] + caFlags(testbed),
                                    // The test bed's names exist only in its dnsmasq: no pre-flight (see Testbed).
                                    environment: ["HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "CERTAGENT_SKIP_PREFLIGHT": "1"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("Wrote \(home)/.config/certagent/config.json"), result.stdout)
        XCTAssertTrue(result.stdout.contains("full chain    \(site)/certagent/certificates/user.test/current/fullchain.pem"), "the store is beside public_html: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("as nobody (no root needed: a systemd user service)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("install -m 0644 systemd/certagent-user.service ~/.config/systemd/user/certagent.service"), result.stdout)
        XCTAssertTrue(result.stdout.contains("systemctl --user daemon-reload && systemctl --user enable --now certagent"), result.stdout)
        XCTAssertTrue(result.stdout.contains("loginctl enable-linger nobody"), result.stdout)
        XCTAssertFalse(result.stdout.contains("sudo"), result.stdout)
        XCTAssertFalse(result.stdout.contains("(the unit reads"), "the config is where the user unit reads it: \(result.stdout)")
    }
}

/// The certificate names in a config file, in order.
enum ConfigNames {
    static func of(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let certificates = object["certificates"] as? [[String: Any]] else { return [] }
        return certificates.compactMap { $0["name"] as? String }
    }
}
