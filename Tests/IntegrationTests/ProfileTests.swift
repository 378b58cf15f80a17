import Foundation
import TestSupport
import XCTest

/// A configured profile against the real Pebble, whose directory has no `meta.profiles`: a clear error before any
/// order, from `issue` and from `check --online` (the offline `check` cannot know and passes).
final class ProfileTests: XCTestCase {
    func testConfiguredProfileAtACAWithoutProfilesFailsBeforeAnyOrder() throws {
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_VA_NOSLEEP": "1"])
        let webroot = try testbed.webroot(for: "profiled.test")
        let config = try testbed.writeConfig([["name": "profiled", "domains": ["profiled.test"], "webroot": webroot, "profile": "shortlived"]],
                                             storage: testbed.directory + "/store")

        let checked = try runCommand(ProjectPaths.certagentBinary, ["check", "--config", config])
        XCTAssertEqual(checked.status, 0, "the offline check cannot know what the CA offers:\n\(checked.output)")
        XCTAssertTrue(checked.stdout.contains("  profiled: profiled.test [ec256, profile shortlived] — no certificate yet"), checked.stdout)

        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertNotEqual(issued.status, 0, issued.output)
        XCTAssertTrue(issued.output.contains(#"profile = "shortlived" is configured, but the CA at \#(testbed.directoryURL) offers no profiles"#),
                      issued.output)
        XCTAssertEqual(try testbed.ordersCreated(), 0, "no order reached Pebble")
        XCTAssertFalse(try testbed.acmeRequests().contains { $0.hasSuffix("/order-plz") }, "no order was even attempted")
        XCTAssertEqual(filesBelow(webroot), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: testbed.directory + "/store/certificates/profiled/current"))

        // Without the profile the same config issues.
        let plain = try testbed.writeConfig([["name": "profiled", "domains": ["profiled.test"], "webroot": webroot]],
                                            storage: testbed.directory + "/store")
        let fixed = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", plain])
        XCTAssertEqual(fixed.status, 0, fixed.output)
        XCTAssertEqual(try testbed.ordersCreated(), 1)
    }

    func testCheckOnlineSaysPebbleOffersNoProfiles() throws {
        guard getuid() == 0 else {
            return XCTFail("binding a private /etc/hosts in a mount namespace needs root (CI runs the integration tests as root)")
        }
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_VA_NOSLEEP": "1"])
        let webroot = try testbed.webroot(for: "fine.test")
        let config = try testbed.writeConfig([
            ["name": "profiled", "domains": ["fine.test"], "webroot": webroot, "profile": "tlsserver"],
        ], storage: testbed.directory + "/store")
        // The HTTP-01 pre-flight resolves through the system: a private /etc/hosts in a mount namespace of its own.
        let hostsFile = testbed.directory + "/hosts"
        try "127.0.0.1 localhost fine.test\n".write(toFile: hostsFile, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment[Testbed.skipPreflightVariable] = nil
        environment["CERTAGENT_HTTP01_PORT"] = try XCTUnwrap(testbed.values["TESTBED_HTTP_PORT"])
        let result = try runCommand("/usr/bin/unshare", ["--mount", "sh", "-c", "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"", "sh",
                                                         hostsFile, ProjectPaths.certagentBinary, "check", "--online", "--config", config],
                                    environment: environment)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stdout.contains("Profiles: the CA at \(testbed.directoryURL) offers no profiles (its directory has no meta.profiles)"), result.stdout)
        XCTAssertTrue(result.stdout.contains(#"✗ profiled: profile = "tlsserver" is configured, but the CA at \#(testbed.directoryURL) offers no profiles"#),
                      result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ fine.test A 127.0.0.1 served the probe file"), "the HTTP-01 pre-flight still runs:\n\(result.stdout)")
        XCTAssertTrue(result.stderr.contains("✗ the CA would refuse the orders of profiled (see above): fix \"profile\" in \(config)"), result.stderr)
        XCTAssertEqual(try testbed.ordersCreated(), 0, "check --online never orders")
    }
}
