import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent renew --dry-run` against a real Pebble (as the config's `dryRunDirectory`): a test certificate through
/// the real issuance path, while the real store, the config and the deployed files stay byte-identical and no reload runs.
final class DryRunTests: XCTestCase {
    /// Every file, directory and link below each of `paths` (and each path itself): its path, mode, and the SHA-256 of
    /// its content (a link: its target).
    private func fingerprint(_ paths: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for root in paths {
            for path in [root] + filesBelow(root).map({ root + "/" + $0 }) {
                var info = stat()
                guard lstat(path, &info) == 0 else { result[path] = "vanished"; continue }
                let mode = String(info.st_mode, radix: 8)
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
                    result[path] = "\(mode) \(Digest.sha256(bytes).hex)"
                case S_IFLNK:
                    result[path] = "\(mode) -> \((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")"
                default:
                    result[path] = mode
                }
            }
        }
        return result
    }

    private struct Setup {
        let testbed: Testbed
        let config: String
        let storage: String
        let installed: String
        let reloads: String
        let temporary: String
        let good: String
    }

    /// A store holding a real certificate "good" (issued and deployed), a reload command that logs each run, and a
    /// second certificate "lost" whose webroot nginx does not serve.
    private func makeSetup(options: [String] = []) throws -> Setup {
        let testbed = try Testbed(options: options)
        let good = try testbed.webroot(for: "dry.test")
        let unserved = testbed.directory + "/elsewhere/public_html"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let installed = testbed.directory + "/installed"
        try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        let temporary = testbed.directory + "/tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let reloads = testbed.directory + "/reloads.log"
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "good", "domains": ["dry.test", "www.dry.test"], "webroot": good,
             "install": ["directory": installed, "reload": ["/bin/sh", "-c", "echo ran >> \(reloads)"]]],
            ["name": "lost", "domains": ["lost.test"], "webroot": unserved],
        ], storage: storage, extra: ["dryRunDirectory": testbed.directoryURL])
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config, "good"])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertEqual(try String(contentsOfFile: reloads, encoding: .utf8), "ran\n", "the real issue deployed and reloaded once")
        return Setup(testbed: testbed, config: config, storage: storage, installed: installed, reloads: reloads, temporary: temporary, good: good)
    }

    private func dryRun(_ setup: Setup, _ names: [String]) throws -> Subprocess.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = setup.temporary
        return try runCommand(ProjectPaths.certagentBinary, ["renew", "--dry-run", "--config", setup.config] + names, environment: environment)
    }

    func testDryRunGetsACertificateAndLeavesStoreConfigAndDeploymentByteIdentical() throws {
        let setup = try makeSetup()
        let watched = [setup.storage, setup.config, setup.installed, setup.reloads]
        let before = fingerprint(watched)
        let ordersBefore = try setup.testbed.ordersCreated()

        let result = try dryRun(setup, ["good"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("dry run at \(setup.testbed.directoryURL)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ good: dry run got a test certificate for dry.test, www.dry.test"), result.stdout)
        XCTAssertTrue(result.stdout.contains("checked       account, order, http-01 validation of each name"), result.stdout)
        XCTAssertTrue(result.stdout.contains("not deployed"), result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ dry run: 1 of 1 passed; the real store is unchanged"), result.stdout)
        XCTAssertEqual(try setup.testbed.ordersCreated() - ordersBefore, 1, "the test order reached the CA")

        XCTAssertEqual(fingerprint(watched), before, "store, config, deployed files and the reload log are byte-identical")
        XCTAssertEqual(try String(contentsOfFile: setup.reloads, encoding: .utf8), "ran\n", "the reload command did not run")
        XCTAssertEqual(filesBelow(setup.temporary), [], "the throwaway store is removed")
        XCTAssertEqual(filesBelow(setup.good), [], "no challenge file left")
    }

    func testDryRunWithAnUnservedWebrootFailsWithStatus1AndTouchesNothing() throws {
        let setup = try makeSetup()
        let watched = [setup.storage, setup.config, setup.installed, setup.reloads]
        let before = fingerprint(watched)

        let result = try dryRun(setup, ["lost"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("✗ lost: dry run failed: lost.test did not pass the CA's HTTP-01 check"), result.stderr)
        XCTAssertTrue(result.stderr.contains("✗ dry run: 1 of 1 failed; the real store is unchanged"), result.stderr)
        XCTAssertFalse(result.stdout.contains("got a test certificate"), result.stdout)
        XCTAssertEqual(fingerprint(watched), before, "no failure is recorded in the real renewal records, nothing else changes")
        XCTAssertEqual(filesBelow(setup.temporary), [], "the throwaway store is removed")
        // The real `lost` never got a record: its status shows no failure.
        let status = try runCommand(ProjectPaths.certagentBinary, ["status", "--config", setup.config, "--json"])
        XCTAssertFalse(status.stdout.contains("did not pass"), status.stdout)
    }

    func testCtrlCDuringADryRunExits130AndRemovesChallengeFilesAndTheThrowawayStore() throws {
        // Pebble's validation delay keeps the order pending while the token files are published.
        let setup = try makeSetup(options: ["--va-sleep"])
        let before = fingerprint([setup.storage, setup.config, setup.installed, setup.reloads])
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = setup.temporary
        let run = try BackgroundProcess([ProjectPaths.certagentBinary, "renew", "--dry-run", "--config", setup.config, "good"],
                                        outputPath: setup.testbed.directory + "/dry-run.log", environment: environment)
        XCTAssertTrue(eventually(timeout: 60) { !filesBelow(setup.good + "/.well-known/acme-challenge").isEmpty }, run.output)
        run.send(SIGINT)
        XCTAssertEqual(run.waitForExit(timeout: 10), 130, run.output)
        XCTAssertTrue(run.output.contains("✗ interrupted by SIGINT (Ctrl-C): good not finished"), run.output)
        XCTAssertEqual(filesBelow(setup.good), [], "no token file left")
        XCTAssertEqual(filesBelow(setup.temporary), [], "the throwaway store is removed")
        XCTAssertEqual(fingerprint([setup.storage, setup.config, setup.installed, setup.reloads]), before)
    }

    func testNoStagingDirectoryKnownNamesTheFieldAndOrdersNothing() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "plain.test")
        let config = try testbed.writeConfig([["name": "plain", "domains": ["plain.test"], "webroot": webroot]], storage: testbed.directory + "/store")
        let result = try runCommand(ProjectPaths.certagentBinary, ["renew", "--dry-run", "--config", config])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("dryRunDirectory: not set, and no staging directory is known for the CA at \(testbed.directoryURL)"), result.stderr)
        XCTAssertEqual(try testbed.ordersCreated(), 0)
    }

    func testWithExternalAccountBindingTheSecretIsReadOnlyAndSaidSo() throws {
        let testbed = try Testbed(eab: true)
        let kid = try XCTUnwrap(testbed.eabKeyID), hmacKey = try XCTUnwrap(testbed.eabKey)
        let webroot = try testbed.webroot(for: "eabdry.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "eabdry", "domains": ["eabdry.test"], "webroot": webroot]], storage: storage,
                                             extra: ["eab": ["kid": kid, "hmacKeySecret": "eab-hmac"], "dryRunDirectory": testbed.directoryURL])
        let set = try runCommand(ProjectPaths.certagentBinary, ["secret", "set", "eab-hmac", "--config", config], input: hmacKey + "\n")
        XCTAssertEqual(set.status, 0, set.output)
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let masterKey = testbed.directory + "/master.key"
        XCTAssertTrue(FileManager.default.fileExists(atPath: masterKey))
        let watched = [storage, config, masterKey]
        let before = fingerprint(watched)

        let result = try runCommand(ProjectPaths.certagentBinary, ["renew", "--dry-run", "--config", config])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("the CA requires external account binding: the EAB secret eab-hmac was read (read-only) from \(storage)/secrets.sealed"),
                      result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ eabdry: dry run got a test certificate for eabdry.test"), result.stdout)
        XCTAssertFalse(result.output.contains(hmacKey), "the HMAC key was printed")
        XCTAssertEqual(fingerprint(watched), before, "the real store, secrets, master key and config are byte-identical")
    }
}
