import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The store's permissions are tightened at every start, and a readable master key file is refused.
final class SecretPermissionTests: XCTestCase {
    /// Sets every directory below (and including) `storage` to 0755 and every file to 0644; returns them.
    private func loosen(_ storage: String) -> (directories: [String], files: [String]) {
        var directories = [storage], files: [String] = []
        for relative in filesBelow(storage) {
            let path = storage + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: directories.append(path)
            case S_IFREG: files.append(path)
            default: continue
            }
        }
        for directory in directories { XCTAssertEqual(chmod(directory, 0o755), 0) }
        for file in files { XCTAssertEqual(chmod(file, 0o644), 0) }
        return (directories, files)
    }

    private func assertTightened(_ loosened: (directories: [String], files: [String]), log: String, by command: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        for directory in loosened.directories {
            XCTAssertTrue(log.contains("tightened \(directory) from 0755 to 0700"), "\(command) did not report \(directory): \(log)", file: file, line: line)
            XCTAssertEqual(fileMode(directory), 0o700, directory, file: file, line: line)
        }
        for path in loosened.files {
            XCTAssertTrue(log.contains("tightened \(path) from 0644 to 0600"), "\(command) did not report \(path): \(log)", file: file, line: line)
            XCTAssertEqual(fileMode(path), 0o600, path, file: file, line: line)
        }
    }

    func testLoosenedStoreIsTightenedAndAReadableMasterKeyRefused() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "perm.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "perm", "domains": ["perm.test"], "webroot": webroot]], storage: storage)
        let keyFile = testbed.directory + "/master.key"
        let first = try certagent(["issue", "--config", config])
        XCTAssertEqual(first.status, 0, first.output)
        let secret = try certagent(["secret", "set", "token", "--config", config], input: distinctiveValue("t-"))
        XCTAssertEqual(secret.status, 0, secret.output)

        // check reports what issue or run would tighten, and changes nothing.
        let loosened = loosen(storage)
        XCTAssertGreaterThan(loosened.files.count, 8, "the account key, the secrets file, the certificate files")
        XCTAssertTrue(loosened.files.contains(storage + "/secrets.sealed"))
        let unchanged = try snapshot(storage)
        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("\(config): OK"), check.stdout)
        for (paths, mode, target) in [(loosened.directories, "0755", "0700"), (loosened.files, "0644", "0600")] {
            for path in paths {
                XCTAssertTrue(check.stderr.contains("would tighten \(path) from \(mode) to \(target): certagent issue or run fixes it"),
                              "check did not report \(path): \(check.stderr)")
            }
        }
        XCTAssertFalse(check.stderr.contains("tightened"), check.stderr)
        XCTAssertEqual(try snapshot(storage), unchanged, "check changed nothing")

        // issue (the daemon's start-up path) fixes them.
        let issue = try certagent(["issue", "--config", config])
        XCTAssertEqual(issue.status, 0, issue.output)
        XCTAssertTrue(issue.stdout.contains("perm: already has a certificate"), issue.stdout)
        assertTightened(loosened, log: issue.stderr, by: "issue")
        let quiet = try certagent(["check", "--config", config])
        XCTAssertFalse(quiet.stderr.contains("tighten"), "nothing left to fix: \(quiet.stderr)")

        // A master key file others can read is refused before anything is written.
        XCTAssertEqual(chmod(keyFile, 0o644), 0)
        let before = try snapshot(storage)
        for command in [["issue"], ["secret", "list"], ["check"]] {
            let refused = try certagent(command + ["--config", config])
            XCTAssertNotEqual(refused.status, 0, refused.output)
            XCTAssertTrue(refused.stderr.contains("refusing the master key file \(keyFile)"), refused.stderr)
            XCTAssertTrue(refused.stderr.contains("chmod 600 \(keyFile)"), refused.stderr)
        }
        XCTAssertEqual(try snapshot(storage), before, "nothing was written to the store")
        XCTAssertEqual(fileMode(keyFile), 0o644, "the key file is not silently changed")
        XCTAssertEqual(chmod(keyFile, 0o600), 0)
        XCTAssertEqual(try certagent(["check", "--config", config]).status, 0)
    }
}
