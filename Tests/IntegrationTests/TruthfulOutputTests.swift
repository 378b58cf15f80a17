import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What the commands print and how they exit, through the binary, read as an admin reads it: a command that did not do
/// what it was asked says why and exits non-zero; usage errors exit 2; `status --json` is for machines.
final class TruthfulOutputTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    private static let rfc3339 = try! NSRegularExpression(pattern: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#)

    private func isRFC3339(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return Self.rfc3339.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    func testAHeldBackCertificateIsNotReportedAsNotDueAndStatusJSONIsForMachines() throws {
        let testbed = try Testbed()
        let served = try testbed.webroot(for: "good.test")
        // A webroot nginx does not serve: the CA gets a 404 for the token.
        let unserved = testbed.directory + "/elsewhere/public_html"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "good", "domains": ["good.test"], "webroot": served],
            ["name": "lost", "domains": ["lost.test"], "webroot": unserved],
        ], storage: storage)

        // Standard output and error into one pipe keep their order (stdout is line-buffered).
        let issued = try runCommand("/bin/sh", ["-c", "\"$0\" issue --config \"$1\" 2>&1; echo \"exit $?\"", ProjectPaths.certagentBinary, config])
        let merged = issued.stdout
        // The two are ordered side by side: each result is printed whole as it finishes, whichever finishes first.
        for sequence in [["Using the ACME server", "✓ good: issued for good.test", "2 certificates in ", "1 of 2 certificates failed", "exit 1"],
                         ["Using the ACME server", "✗ lost: lost.test did not pass the CA's HTTP-01 check", "  no certificate was stored",
                          "2 certificates in ", "1 of 2 certificates failed", "exit 1"]] {
            let order = sequence.map { merged.range(of: $0)?.lowerBound }
            XCTAssertFalse(order.contains(nil), merged)
            XCTAssertEqual(order.compactMap { $0 }, order.compactMap { $0 }.sorted(), "in the order they were printed:\n\(merged)")
        }
        XCTAssertTrue(merged.contains("2 certificates in "), merged)
        XCTAssertTrue(merged.contains(" s, up to 2 at a time: 1 issued, 1 failed\n"), merged)

        // Not due? It has no certificate and is held back by the failure: renew says so and exits 1.
        let renew = try certagent(["renew", "--config", config])
        XCTAssertEqual(renew.status, 1, renew.output)
        XCTAssertTrue(renew.stdout.contains("✓ good: not due; next: renews at "), renew.stdout)
        XCTAssertTrue(renew.stderr.contains("✗ lost: not issued: held back after 1 failure until "), renew.stderr)
        XCTAssertTrue(renew.stderr.contains(" UTC; `certagent renew --force lost` retries now"), renew.stderr)
        XCTAssertTrue(renew.stderr.contains("last error: lost.test did not pass the CA's HTTP-01 check"), renew.stderr)
        XCTAssertFalse(renew.output.contains("lost: not due"), renew.output)
        XCTAssertFalse(renew.output.contains("+0000"), renew.output)

        // status --json: stable enums, RFC 3339 times, the words apart, slashes as they are.
        let status = try certagent(["status", "--json", "--config", config])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertFalse(status.stdout.contains(#"\/"#), status.stdout)
        let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(reports.map { $0["name"] as? String }, ["good", "lost"])
        let good = reports[0], lost = reports[1]
        XCTAssertEqual(good["state"] as? String, "valid")
        XCTAssertEqual(good["nextAction"] as? String, "renewAt")
        XCTAssertEqual(good["nextActionReason"] as? String, "lifetimeThreshold")
        for key in ["notBefore", "notAfter", "nextActionAt"] { XCTAssertTrue(isRFC3339(good[key]), "\(key): \(good[key] ?? "none")") }
        XCTAssertTrue((good["summary"] as? String)?.hasPrefix("valid until ") == true, "\(good)")
        XCTAssertTrue((good["summary"] as? String)?.hasSuffix(" UTC") == true, "\(good)")
        XCTAssertTrue((good["next"] as? String)?.hasPrefix("renews at ") == true, "\(good)")
        XCTAssertEqual(good["fullChain"] as? String, storage + "/certificates/good/current/fullchain.pem")
        XCTAssertEqual(lost["state"] as? String, "missing")
        XCTAssertEqual(lost["summary"] as? String, "no certificate yet")
        XCTAssertEqual(lost["nextAction"] as? String, "retryAt")
        XCTAssertEqual(lost["nextActionReason"] as? String, "missing")
        XCTAssertEqual(lost["failures"] as? Int, 1)
        XCTAssertTrue(isRFC3339(lost["nextActionAt"]), "\(lost)")
        XCTAssertTrue((lost["next"] as? String)?.contains("held back after 1 failure until ") == true, "\(lost)")

        let text = try certagent(["status", "--config", config])
        XCTAssertTrue(text.stdout.contains("(its renewal point: a third of its lifetime left"), text.stdout)
        XCTAssertFalse(text.stdout.contains("(lifetimeThreshold)"), text.stdout)
        XCTAssertFalse(text.stdout.contains("has been reached"), "not reached yet: \(text.stdout)")
        XCTAssertFalse(text.stdout.contains("+0000"), text.stdout)
    }

    func testUsageErrorsAndABareCertagentExitTwo() throws {
        let bare = try certagent([])
        XCTAssertEqual(bare.status, 2, bare.output)
        XCTAssertTrue(bare.output.contains("SUBCOMMANDS:"), "the help: \(bare.output)")
        XCTAssertTrue(bare.output.contains("renew"), bare.output)
        for arguments in [["status", "--no-such-flag"], ["frobnicate"], ["renew", "--config"]] {
            let result = try certagent(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.output)")
            XCTAssertTrue(result.stderr.contains("Error:"), "\(arguments): \(result.stderr)")
        }
        XCTAssertEqual(try certagent(["--help"]).status, 0)
        XCTAssertEqual(try certagent(["status", "--help"]).status, 0)
    }

    func testAMissingConfigSaysHowToGetOne() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("nothing/config.json")
        for command in ["status", "renew", "issue", "check"] {
            let result = try certagent([command, "--config", path])
            XCTAssertEqual(result.status, 2, result.output)
            XCTAssertTrue(result.stderr.contains("no config at \(path): run `certagent init` or pass --config"), result.stderr)
        }
    }

    func testAStoreTheUserMayNotReadIsNamedNotMistakenForNoCertificate() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("site/public_html")
        let store = try temp.make("store")
        try temp.write("store/.certagent-store", "{\"format\": \"certagent-store\", \"version\": 1}\n")
        for directory in [temp.path, temp.path("site"), webroot] { XCTAssertEqual(chmod(directory, 0o755), 0) }
        XCTAssertEqual(chmod(store, 0o700), 0, "root's store, as issue and run leave it")
        let config = try temp.write("config.json", """
            {"directory": "https://127.0.0.1:1/dir", "storage": "\(store)",
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\(webroot)"}]}
            """)
        XCTAssertEqual(chmod(config, 0o644), 0)
        for command in ["status", "check", "renew", "issue"] {
            let result = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ProjectPaths.certagentBinary,
                                                             command, "--config", config])
            XCTAssertEqual(result.status, 1, "\(command): \(result.output)")
            XCTAssertTrue(result.stderr.contains("cannot read \(store) (permission denied): run with sudo"), "\(command): \(result.stderr)")
            XCTAssertFalse(result.output.contains("no certificate yet"), "\(command): \(result.output)")
        }
        // Readable but not writable: the commands that change it say so.
        XCTAssertEqual(chmod(store, 0o755), 0)
        let renew = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ProjectPaths.certagentBinary,
                                                        "renew", "--config", config])
        XCTAssertEqual(renew.status, 1, renew.output)
        XCTAssertTrue(renew.stderr.contains("cannot write to \(store) (permission denied): run with sudo"), renew.stderr)
    }
}
