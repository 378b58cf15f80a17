import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The shipped unit run by a real systemd (PID 1 of a `systemd-nspawn` container booted on a Debian bookworm root,
/// CertAgent's package installed in it): what `systemd-analyze verify` cannot show. The service reaches READY under
/// the full hardening (`ProtectSystem=strict`, `MemoryDenyWriteExecute`, the system-call filter, the capability set)
/// and still writes the webroot, its state directory and the install directory and runs `systemctl reload nginx`: a
/// real HTTP-01 issuance, Pebble on this machine's loopback validating against nginx inside the container;
/// `systemctl reload certagent` re-reads the config; the watchdog keeps it alive and restarts a hung one; `systemctl
/// stop` is clean; its warnings reach the journal at priority 4. Needs root (mounts, nspawn): CI runs it as root.
final class SystemdBootTests: XCTestCase {
    private var testbed: Testbed!
    private var container: SystemdContainer!
    private var tlsPort = ""
    private var testStarted = Date()

    /// The unit's own `ReadWritePaths=` cover these (`-/var/www -/etc/nginx/certs`): nothing is widened for the test.
    private let sites = ["site1", "site2"]
    private func webroot(_ site: String) -> String { "/var/www/\(site).test" }
    private func installDirectory(_ site: String) -> String { "/etc/nginx/certs/\(site)" }
    private func storeFile(_ site: String, _ file: String) -> String { "/var/lib/certagent/certificates/\(site)/current/\(file)" }

    override func setUpWithError() throws {
        guard getuid() == 0 else {
            XCTFail("booting a container (overlayfs mount, systemd-nspawn) needs root: CI runs the integration tests as root")
            throw CancellationError()
        }
        testStarted = Date()
    }

    override func tearDown() {
        container?.shutDown()
        container = nil
        testbed = nil
        print("SystemdBootTests: \(name) took \(Self.seconds(Date().timeIntervalSince(testStarted))) in all")
    }

    // MARK: The tests

    func testTheHardenedServiceIssuesThroughHTTP01ReloadsWarnsAndStopsCleanly() throws {
        try bootWithCertAgent(dropIn: "")
        let container = try XCTUnwrap(container)

        // READY: a Type=notify start returns once the daemon said READY=1, and STATUS= says what it holds.
        let startedAt = Date()
        try container.systemctl("enable", "--now", "certagent")
        print("SystemdBootTests: systemctl enable --now certagent returned (READY) after \(Self.seconds(Date().timeIntervalSince(startedAt)))")
        XCTAssertEqual(try container.systemctl("is-active", "certagent", allowFailure: true), "active")
        XCTAssertEqual(try container.property("Type", of: "certagent"), "notify")
        XCTAssertTrue(try container.property("StatusText", of: "certagent").contains("certificates healthy"))
        let mainPID = try container.property("MainPID", of: "certagent")

        // The hardening is really in force in the running process (so what follows proves it does not get in the way).
        let status = try container.read("/proc/\(mainPID)/status")
        XCTAssertTrue(status.contains("NoNewPrivs:\t1"), status)
        XCTAssertTrue(status.contains("Seccomp:\t2"), "the system-call filter (and MemoryDenyWriteExecute) is a seccomp filter: \(status)")
        // CAP_CHOWN (0), CAP_DAC_OVERRIDE (1), CAP_FOWNER (3), CAP_KILL (5): 0x2b, nothing else.
        XCTAssertTrue(status.contains("CapBnd:\t000000000000002b"), status)
        let mounts = try container.read("/proc/\(mainPID)/mountinfo").split(separator: "\n")
        XCTAssertTrue(mounts.contains { $0.split(separator: " ")[4] == "/" && $0.split(separator: " ")[5].hasPrefix("ro") },
                      "ProtectSystem=strict: the service sees / read-only")

        // The first certificate, ordered by the daemon under that sandbox: challenge file in the webroot, Pebble
        // validating it through nginx in the container, account and certificate in the state directory, the files
        // installed for nginx and `systemctl reload nginx` run, so nginx serves it.
        try waitUntilIssuedAndServed("site1")
        XCTAssertEqual(try container.run(["stat", "-c", "%a", "/var/lib/certagent"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "700")
        XCTAssertEqual(try container.run(["stat", "-c", "%a", installDirectory("site1") + "/privkey.pem"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "600")
        XCTAssertTrue(try container.journal("-u", "nginx", "-o", "cat").contains("Reloaded nginx.service"), "the reload command reloaded nginx")
        XCTAssertEqual(try container.run(["find", webroot("site1"), "-type", "f"]).stdout, "", "no challenge file left in the webroot")

        // `systemctl reload certagent` re-reads the config: the certificate added there is issued, by the same process.
        // The changed maxConcurrentRenewals is the warning this test looks for in the journal.
        try writeConfig(sites: sites, extra: #", "maxConcurrentRenewals": 2"#)
        try container.systemctl("reload", "certagent")
        XCTAssertTrue(eventually(timeout: 30) { ((try? container.journal("-u", "certagent", "-o", "cat")) ?? "").contains("config reloaded") },
                      container.log("certagent"))
        try waitUntilIssuedAndServed("site2", servedOverTLS: false)
        XCTAssertEqual(try container.property("MainPID", of: "certagent"), mainPID, "a reload, not a restart")
        XCTAssertEqual(try container.property("NRestarts", of: "certagent"), "0")

        // A config with a mistake: the reload says so (an error, priority 3) and the running config stays.
        try container.write("/etc/certagent/config.json", try container.read("/etc/certagent/config.json")
            .replacingOccurrences(of: #""webroot""#, with: #""webrot""#), mode: "0600")
        try container.systemctl("reload", "certagent")
        let keeping = "keeping the running one"
        XCTAssertTrue(eventually(timeout: 30) { container.log("certagent").contains(keeping) }, container.log("certagent"))
        XCTAssertEqual(try container.systemctl("is-active", "certagent", allowFailure: true), "active")
        XCTAssertEqual(try container.property("MainPID", of: "certagent"), mainPID)
        XCTAssertEqual(try journalPriorities().first { $0.key.hasSuffix(keeping) }?.value, "3")

        // Its warnings reach the journal at priority 4 (warning); notices and information stay below.
        let reloadWarning = "maxConcurrentRenewals and minimumRenewalIntervalSeconds take effect at the next restart"
        let warnings = try container.journal("-u", "certagent", "-p", "warning", "-o", "cat")
        XCTAssertTrue(warnings.contains(reloadWarning), warnings)
        let warningLines = warnings.split(separator: "\n")
        XCTAssertFalse(warningLines.contains { $0.hasPrefix("started ") || $0.hasPrefix("[site2] issued ") }, "a notice is not a warning: \(warnings)")
        XCTAssertFalse(warningLines.contains { $0.hasPrefix("[site2] ordering ") }, "an information is not a warning: \(warnings)")
        let priorities = try journalPriorities()
        XCTAssertEqual(priorities[reloadWarning], "4")
        XCTAssertEqual(priorities.first { $0.key.hasPrefix("started") }?.value, "5")
        XCTAssertEqual(priorities.first { $0.key.hasPrefix("config reloaded") }?.value, "5")
        XCTAssertEqual(priorities.first { $0.key.hasPrefix("[site2] issued ") }?.value, "5")
        XCTAssertEqual(priorities.first { $0.key.hasPrefix("[site2] ordering ") }?.value, "6")

        // `systemctl stop`: SIGTERM, a clean exit with status 0, no core, no kill.
        try container.systemctl("stop", "certagent")
        XCTAssertEqual(try container.systemctl("is-active", "certagent", allowFailure: true), "inactive")
        XCTAssertEqual(try container.property("Result", of: "certagent"), "success")
        XCTAssertEqual(try container.property("ExecMainCode", of: "certagent"), "1", "CLD_EXITED: it exited, was not killed")
        XCTAssertEqual(try container.property("ExecMainStatus", of: "certagent"), "0")
        XCTAssertEqual(try journalPriorities()["stopped"], "5", "the daemon's own last line")
        let log = try container.journal("-u", "certagent", "-o", "cat")
        for sign in ["core-dump", "dumped core", "SIGKILL", "Killing process", "timed out"] {
            XCTAssertFalse(log.contains(sign), "\(sign) in: \(log)")
        }
    }

    func testTheWatchdogKeepsTheServiceAliveAndRestartsAHungOne() throws {
        // The shipped WatchdogSec=5min is shortened for the test; nothing else changes.
        let watchdogSeconds = 4
        try bootWithCertAgent(dropIn: "WatchdogSec=\(watchdogSeconds)s\nRestartSec=1s\n")
        let container = try XCTUnwrap(container)
        try container.systemctl("start", "certagent")
        XCTAssertEqual(try container.property("WatchdogUSec", of: "certagent"), "\(watchdogSeconds)s")
        let firstPID = try container.property("MainPID", of: "certagent")

        // Alive: three watchdog periods pass and systemd has not stepped in (the pings come from their own thread).
        Thread.sleep(forTimeInterval: TimeInterval(3 * watchdogSeconds))
        XCTAssertEqual(try container.systemctl("is-active", "certagent", allowFailure: true), "active")
        XCTAssertEqual(try container.property("MainPID", of: "certagent"), firstPID)
        XCTAssertEqual(try container.property("NRestarts", of: "certagent"), "0")
        XCTAssertFalse(try container.journal("-u", "certagent", "-o", "cat").contains("Watchdog timeout"))

        // Hung (SIGSTOP: no more pings): the watchdog kills it and Restart=on-failure starts a new one.
        let stoppedAt = Date()
        try container.systemctl("kill", "--signal=SIGSTOP", "certagent")
        XCTAssertTrue(eventually(timeout: TimeInterval(watchdogSeconds + 30)) {
            (try? container.property("NRestarts", of: "certagent")) == "1"
                && (try? container.systemctl("is-active", "certagent", allowFailure: true)) == "active"
        }, container.log("certagent"))
        print("SystemdBootTests: a SIGSTOPped daemon was replaced by a running one after \(Self.seconds(Date().timeIntervalSince(stoppedAt)))")
        XCTAssertNotEqual(try container.property("MainPID", of: "certagent"), firstPID)
        let log = try container.journal("-u", "certagent", "-o", "cat")
        XCTAssertTrue(log.contains("Watchdog timeout") && log.contains("Failed with result 'watchdog'"), log)
        try container.systemctl("stop", "certagent")
    }

    // MARK: The container

    /// Pebble (and dnsmasq) on this machine's loopback; a container booted on the cached Debian root with nginx
    /// serving each site's webroot on Pebble's validation port (and site1 over TLS from its install directory);
    /// CertAgent's package installed; its config, master key and `dropIn` (under `[Service]`) written.
    private func bootWithCertAgent(dropIn: String) throws {
        var clock = Date()
        func lap(_ what: String) {
            print("SystemdBootTests: \(what) took \(Self.seconds(Date().timeIntervalSince(clock)))")
            clock = Date()
        }
        testbed = try Testbed(options: ["--no-nginx"])
        let httpPort = try XCTUnwrap(testbed.values["TESTBED_HTTP_PORT"])
        tlsPort = try XCTUnwrap(testbed.values["TESTBED_TLS_PORT"])
        lap("the test bed (Pebble, dnsmasq)")
        let root = try DebianRootCopy.cachedRoot()
        lap("the Debian root (scripts/debian-root, cached after its first build)")
        container = try SystemdContainer(root: root)

        // Before boot, so nginx starts with it: only the test's ports, never port 80 of this machine (the container
        // shares its network), and a placeholder certificate for site1's TLS server until CertAgent installs one.
        try container.run(["rm", "-f", "/etc/nginx/sites-enabled/default"])
        let servers = """
        server {
          listen 127.0.0.1:\(httpPort) default_server;
          server_name ~^(?<site>.+)$;
          root /var/www/$site;
        }
        server {
          listen 127.0.0.1:\(tlsPort) ssl;
          server_name site1.test;
          ssl_certificate \(installDirectory("site1"))/fullchain.pem;
          ssl_certificate_key \(installDirectory("site1"))/privkey.pem;
        }

        """
        try container.write("/etc/nginx/sites-enabled/certagent-test", servers)
        let placeholder = testbed.directory + "/placeholder"
        let made = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                       "-days", "1", "-subj", "/CN=placeholder", "-keyout", placeholder + ".key", "-out", placeholder + ".pem"])
        XCTAssertEqual(made.status, 0, made.output)
        try container.write(installDirectory("site1") + "/fullchain.pem", Array(Data(contentsOf: URL(fileURLWithPath: placeholder + ".pem"))))
        try container.write(installDirectory("site1") + "/privkey.pem", Array(Data(contentsOf: URL(fileURLWithPath: placeholder + ".key"))), mode: "0600")
        for site in sites {
            try container.run(["mkdir", "-p", webroot(site), installDirectory(site)])
        }
        // The pre-flight check resolves through the system, as on a real host: the names point at loopback.
        XCTAssertEqual(try container.run(["/bin/sh", "-c", "echo '127.0.0.1 site1.test site2.test' >> /etc/hosts"]).status, 0)

        lap("preparing the overlay")
        let booted = try container.boot()
        print("SystemdBootTests: booting systemd to is-system-running took \(Self.seconds(booted))")
        clock = Date()
        XCTAssertEqual(try container.systemctl("is-active", "nginx", allowFailure: true), "active", container.log("nginx"))

        let installed = try CertAgentPackage.install(into: container)
        lap("installing \(installed) with dpkg -i (the first test also builds it: scripts/build-deb)")
        XCTAssertEqual(try container.run(["certagent", "--version"]).status, 0)
        XCTAssertEqual(try container.property("FragmentPath", of: "certagent").isEmpty, false, "the package's unit is known to systemd")

        try container.write("/etc/certagent/testbed-ca.pem", Array(Data(contentsOf: URL(fileURLWithPath: testbed.caFile))))
        try writeConfig(sites: ["site1"], extra: "")
        // The key `LoadCredential=` hands the service (what `certagent issue` would have created on a real host).
        XCTAssertEqual(try container.run(["/bin/sh", "-c", "test -e /etc/certagent/master.key || (umask 077 && head -c 32 /dev/urandom > /etc/certagent/master.key)"]).status, 0)
        // Pebble validates HTTP-01 on the test bed's port, not 80: the pre-flight check probes the same one.
        try container.write("/etc/systemd/system/certagent.service.d/test.conf", "[Service]\nEnvironment=CERTAGENT_HTTP01_PORT=\(httpPort)\n" + dropIn)
        try container.systemctl("daemon-reload")
    }

    /// The config: one certificate per site, each installed for nginx with `systemctl reload nginx` as its reload
    /// command; the site checks connect to the container's TLS server (only site1 has a server block there).
    private func writeConfig(sites: [String], extra: String) throws {
        let certificates = sites.map { site in
            """
              { "name": "\(site)", "domains": ["\(site).test"], "webroot": "\(webroot(site))", "address": "127.0.0.1:\(tlsPort)",
                "install": { "directory": "\(installDirectory(site))", "reload": ["/usr/bin/systemctl", "reload", "nginx"] } }
            """
        }
        try container.write("/etc/certagent/config.json", """
        { "email": "admin@example.com", "acceptTermsOfService": true, "directory": "\(testbed.directoryURL)",
          "caFile": "/etc/certagent/testbed-ca.pem"\(extra),
          "certificates": [
        \(certificates.joined(separator: ",\n"))
          ] }

        """, mode: "0600")
    }

    /// Waits until the daemon logged `site`'s issuance and installed it; with `servedOverTLS`, until nginx (reloaded by
    /// the daemon's reload command) serves exactly the certificate in the store.
    private func waitUntilIssuedAndServed(_ site: String, servedOverTLS: Bool = true) throws {
        let container = try XCTUnwrap(container)
        let issued = eventually(timeout: 90) {
            ((try? container.journal("-u", "certagent", "-o", "cat")) ?? "").contains("[\(site)] deployed")
        }
        // What follows builds on it: stop here, with the daemon's log.
        guard issued else { throw SystemdContainer.Failure("\(site) was not issued and deployed: \(container.log("certagent"))") }
        let stored = try fingerprint(of: container.read(storeFile(site, "cert.pem")))
        XCTAssertFalse(stored.isEmpty)
        XCTAssertEqual(try fingerprint(of: container.read(installDirectory(site) + "/cert.pem")), stored, "installed for nginx")
        XCTAssertTrue(try container.read(storeFile(site, "fullchain.pem")).contains("BEGIN CERTIFICATE"))
        guard servedOverTLS else { return }
        var served = ""
        let serving = eventually(timeout: 30) {
            served = (try? servedFingerprint(serverName: "\(site).test")) ?? ""
            return served == stored
        }
        XCTAssertTrue(serving, "nginx serves \(served), the store holds \(stored)")
    }

    private func fingerprint(of pem: String) throws -> String {
        let result = try Subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], stdin: Array(pem.utf8))
        return result.status == 0 ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    private func servedFingerprint(serverName: String) throws -> String {
        let result = try Subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:\(tlsPort)", "-servername", serverName], stdin: [])
        return try fingerprint(of: result.stdout)
    }

    /// Each CertAgent journal message (up to its first metadata field) with its syslog priority, from `-o json`.
    private func journalPriorities() throws -> [String: String] {
        var priorities: [String: String] = [:]
        for line in try container.journal("-u", "certagent", "-o", "json", "--output-fields=MESSAGE,PRIORITY,_COMM").split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["_COMM"] as? String == "certagent",
                  let message = object["MESSAGE"] as? String, let priority = object["PRIORITY"] as? String else { continue }
            priorities[message] = priority
        }
        return priorities
    }

    private static func seconds(_ interval: TimeInterval) -> String { String(format: "%.1f s", interval) }
}

/// CertAgent installed into the container as an admin installs it: the package `scripts/build-deb` makes (built once
/// per test process, shared with `DebianPackageTests`), with `dpkg -i` in the booted system.
enum CertAgentPackage {
    /// Installs it and returns the package's file name.
    static func install(into container: SystemdContainer) throws -> String {
        let deb = try DebianPackage.path()
        try container.write("/root/certagent.deb", Array(Data(contentsOf: URL(fileURLWithPath: deb))))
        let result = try container.run(["dpkg", "-i", "/root/certagent.deb"])
        guard result.status == 0 else { throw SystemdContainer.Failure("dpkg -i \(deb) failed: \(result.output)") }
        return URL(fileURLWithPath: deb).lastPathComponent
    }
}
