import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Configs a careless or hostile hand wrote, through the binary: each is refused with words naming the fix, field and
/// value, a non-zero exit, nothing run and nothing created. No CA is needed: every case stops before the network.
final class HostileConfigTests: XCTestCase {
    private var temp: TemporaryDirectory!
    private var webroot = ""
    private var storage: String { temp.path + "/store" }
    private var masterKey: String { temp.path + "/etc/master.key" }
    private var marker: String { temp.path + "/reload-ran" }

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("site/public_html")
        try temp.make("etc")
        for directory in [temp.path, temp.path("etc"), temp.path("site"), webroot] { XCTAssertEqual(chmod(directory, 0o755), 0) }
    }

    /// A config in `etc/` whose reload command would leave a marker file behind, had it run.
    private func writeConfig(_ extra: String = "", name: String = "config.json") throws -> String {
        let path = try temp.write("etc/" + name, """
            {"email": "admin@example.com", "directory": "https://127.0.0.1:1/dir", "storage": "\(storage)",\(extra)
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\(webroot)",
                               "install": {"reload": ["/usr/bin/touch", "\(marker)"]}}]}
            """)
        XCTAssertEqual(chmod(path, 0o644), 0)
        return path
    }

    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    /// Nothing was created or run: no store, no master key, no reload.
    private func assertNothingCreated(_ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage), "\(context): the store was created", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: masterKey), "\(context): the master key was created", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(context): the reload command ran", file: file, line: line)
    }

    func testAConfigOthersCanWriteIsRefusedByEveryCommandWithTheFixAndRunsNothing() throws {
        let config = try writeConfig()
        let sanity = try certagent(["check", "--config", config])
        XCTAssertEqual(sanity.status, 0, "the safe config is accepted: \(sanity.output)")
        assertNothingCreated("check of a safe config")

        XCTAssertEqual(chmod(config, 0o666), 0)
        for command in ["check", "issue", "renew", "run", "status"] {
            let result = try certagent([command, "--config", config])
            XCTAssertEqual(result.status, 2, "\(command): \(result.output)")
            XCTAssertTrue(result.stderr.contains("the config file \(config) is not safe: its mode 0666 lets its group and all other users write to it"), "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("Fix: chmod go-w \(config)"), "\(command): \(result.stderr)")
            assertNothingCreated(command)
        }

        // Owned by an unprivileged user (who could rewrite the reload command): the chown fix.
        XCTAssertEqual(chmod(config, 0o644), 0)
        XCTAssertEqual(chown(config, 65534, 65534), 0)
        var result = try certagent(["issue", "--config", config])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("it is owned by nobody (uid 65534)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Fix: chown root:root \(config)"), result.stderr)
        assertNothingCreated("issue with a foreign config")

        // A group-writable directory on the way (its group could swap the file): the directory is named.
        XCTAssertEqual(chown(config, 0, 0), 0)
        XCTAssertEqual(chmod(temp.path("etc"), 0o775), 0)
        result = try certagent(["check", "--config", config])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("the directory \(temp.path("etc")) on the config's path is not safe"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Fix: chmod go-w \(temp.path("etc"))"), result.stderr)
        assertNothingCreated("check with a group-writable directory")

        // init into that directory writes the config, then stops before requesting anything, with the fix.
        let initConfig = temp.path("etc/init.json")
        result = try certagent(["init", "--config", initConfig, "--domain", "site.test", "--webroot", webroot,
                                "--storage", storage, "--directory", "https://127.0.0.1:1/dir"])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("Fix: chmod go-w \(temp.path("etc"))"), result.stderr)
        XCTAssertTrue(result.stderr.contains("no certificate was requested"), result.stderr)
        XCTAssertFalse(result.stdout.contains("Using the ACME server"), result.stdout)
        assertNothingCreated("init into a group-writable directory")
    }

    func testABadCAFileFailsCheckAndIssueBeforeAnythingIsCreated() throws {
        let directoryCA = try temp.make("ca-dir")
        let textCA = try temp.write("ca.txt", "this is not a certificate\n")
        for (caFile, problem) in [(directoryCA, "is a directory, not a PEM file of CA certificates"),
                                  (textCA, "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)")] {
            let config = try writeConfig(#" "caFile": "\#(caFile)","#)
            for command in ["check", "issue"] {
                let result = try certagent([command, "--config", config])
                XCTAssertEqual(result.status, 2, "\(command): \(result.output)")
                XCTAssertTrue(result.stderr.contains("caFile = \"\(caFile)\": \(problem)"), "\(command): \(result.stderr)")
                assertNothingCreated("\(command) with caFile \(caFile)")
            }
        }

        // init validates the same way and writes no config.
        let initConfig = temp.path("etc/init.json")
        let initialized = try certagent(["init", "--config", initConfig, "--domain", "site.test", "--webroot", webroot,
                                         "--storage", storage, "--directory", "https://127.0.0.1:1/dir", "--ca-file", directoryCA])
        XCTAssertEqual(initialized.status, 2, initialized.output)
        XCTAssertTrue(initialized.stderr.contains("caFile = \"\(directoryCA)\": is a directory"), initialized.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: initConfig))
        assertNothingCreated("init with a directory as caFile")
    }

    func testAStoreAboveTheWebrootIsRefusedAndTheSiteIsLeftAlone() throws {
        let page = try temp.write("site/public_html/index.html", "<h1>hello</h1>")
        XCTAssertEqual(chmod(page, 0o644), 0)
        let site = temp.path("site")
        let config = try temp.write("etc/config.json", """
            {"directory": "https://127.0.0.1:1/dir", "storage": "\(site)",
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\(webroot)"}]}
            """)
        for command in ["check", "issue"] {
            let result = try certagent([command, "--config", config])
            XCTAssertEqual(result.status, 2, "\(command): \(result.output)")
            XCTAssertTrue(result.stderr.contains("storage = \"\(site)\": holds the webroot \(webroot) of site.test (certificate site)"), result.stderr)
        }
        XCTAssertEqual(fileMode(page), 0o644, "the site's files keep their permissions")
        XCTAssertEqual(fileMode(webroot), 0o755)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: site).sorted(), ["public_html"], "nothing was added beside the site")
        XCTAssertFalse(FileManager.default.fileExists(atPath: masterKey))

        // The master key inside the webroot is refused just the same.
        let keyInWebroot = try writeConfig(#" "masterKeyFile": "\#(webroot)/master.key","#, name: "key.json")
        let result = try certagent(["issue", "--config", keyInWebroot])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("masterKeyFile = \"\(webroot)/master.key\": is inside the webroot \(webroot) of site.test (certificate site)"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: webroot), ["index.html"])
        assertNothingCreated("issue with the master key in the webroot")
    }

    func testStrictJSONErrorsNameLineAndColumnThroughTheBinary() throws {
        let config = try temp.write("etc/config.json", """
            {
              "storage": "\(storage)",
              "storage": "/elsewhere",
              "certificates": [{"domains": ["site.test"], "webroot": "\(webroot)"},]
            }
            """)
        var result = try certagent(["check", "--config", config])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("is not valid JSON: line 3, column 3: the key \"storage\" is given twice in one object, on line 2 and on line 3: keep one"), result.stderr)

        let trailingComma = "{\"certificates\": [{\"domains\": [\"site.test\"], \"webroot\": \"\(webroot)\"},]}"
        _ = try temp.write("etc/config.json", trailingComma)
        result = try certagent(["check", "--config", config])
        XCTAssertEqual(result.status, 2, result.output)
        let column = trailingComma.distance(from: trailingComma.startIndex, to: trailingComma.range(of: ",]")!.lowerBound) + 2
        XCTAssertTrue(result.stderr.contains("line 1, column \(column): expected a value"), result.stderr)
        XCTAssertTrue(result.stderr.contains("found ']' (a comma is not allowed before a closing bracket)"), result.stderr)

        let huge = String(repeating: "a", count: 10 << 20)
        _ = try temp.write("etc/config.json", "{\"email\": \"\(huge)@example.com\"}")
        result = try certagent(["check", "--config", config])
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.stderr.contains("more than the 1 MiB a config may be"), result.stderr)
        XCTAssertLessThan(result.stderr.utf8.count, 1000, "the value is not echoed")
    }

    func testUnusableConfigPathsAreSaidInWords() throws {
        let loop = temp.path("etc/loop.json")
        XCTAssertEqual(symlink(loop, loop), 0)
        let directory = temp.path("etc")
        let fifo = temp.path("etc/fifo.json")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let notUTF8 = try temp.write("etc/latin1.json", bytes: Array("{\"email\": \"caf".utf8) + [0xE9] + Array("@example.com\"}".utf8))
        for (path, words) in [(loop, "the config path is a loop of symbolic links"),
                              (directory, "the config path is a directory, not a config file"),
                              (fifo, "the config path is a FIFO (named pipe), not a config file"),
                              (temp.path("etc/missing.json"), "no config at \(temp.path("etc/missing.json")): run `certagent init` or pass --config"),
                              (notUTF8, "line 1, column 15: is not UTF-8 text: the byte 0xE9"),
                              (try temp.write("etc/empty.json", ""), "the config file is empty")] {
            let result = try certagent(["check", "--config", path])
            XCTAssertEqual(result.status, 2, "\(path): \(result.output)")
            XCTAssertTrue(result.stderr.contains(words), "\(path): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain") || result.stderr.contains("The operation could not be completed"), result.stderr)
        }

        // A config the user may not read (EACCES): run as nobody.
        let config = try writeConfig()
        XCTAssertEqual(chmod(config, 0o600), 0)
        let denied = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ProjectPaths.certagentBinary,
                                                         "check", "--config", config])
        XCTAssertEqual(denied.status, 2, denied.output)
        XCTAssertTrue(denied.stderr.contains("the config file cannot be read: permission denied"), denied.stderr)
    }
}
