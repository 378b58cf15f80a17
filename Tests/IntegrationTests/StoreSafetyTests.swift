import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The store on disk through the real binary: never someone else's directory, `check` changes nothing, no link out of
/// the store is followed, and what a crash left is gone after the next start.
final class StoreSafetyTests: XCTestCase {
    /// A config for one certificate with the given storage, against a CA nobody answers at (check and the store's
    /// refusals never need one).
    private func offlineConfig(_ temp: TemporaryDirectory, storage: String) throws -> String {
        let webroot = try temp.make("www")
        let config: [String: Any] = [
            "email": "admin@example.com", "acceptTermsOfService": true, "directory": "https://127.0.0.1:9/directory",
            "storage": storage, "masterKeyFile": temp.path("etc/master.key"),
            "certificates": [["name": "site", "domains": ["site.test"], "webroot": webroot]],
        ]
        try temp.make("etc")
        let path = temp.path("etc/config.json")
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testADirectoryThatIsNotTheStoresIsRefusedByCheckAndIssueAndLeftAsItWas() throws {
        let temp = try TemporaryDirectory()
        let site = try temp.make("home/site")
        XCTAssertEqual(chmod(site, 0o755), 0)
        let index = try temp.write("home/site/index.html", "<h1>my site</h1>")
        XCTAssertEqual(chmod(index, 0o644), 0)
        let config = try offlineConfig(temp, storage: site)
        let before = try snapshot(site)

        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 2, check.output)
        XCTAssertTrue(check.stderr.contains("storage: refusing to use \(site) as the store: it holds things CertAgent did not create (index.html)"), check.stderr)
        XCTAssertTrue(check.stderr.contains("set \"storage\" to a new or empty directory"), check.stderr)
        XCTAssertFalse(check.stdout.contains("OK"), check.stdout)

        let issue = try certagent(["issue", "--config", config])
        XCTAssertNotEqual(issue.status, 0, issue.output)
        XCTAssertTrue(issue.stderr.contains("refusing to use \(site) as the store"), issue.stderr)

        XCTAssertEqual(fileMode(index), 0o644, "the site still works")
        XCTAssertEqual(fileMode(site), 0o755)
        XCTAssertEqual(try snapshot(site), before, "no marker, no lock file, nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("etc/master.key")), "nothing was created anywhere")
    }

    func testCheckOnAStoreReportsWhatIssueWouldFixAndChangesNothing() throws {
        let temp = try TemporaryDirectory()
        let storage = temp.path("store")
        let config = try offlineConfig(temp, storage: storage)
        // A store made by CertAgent (secret set needs no CA).
        let set = try certagent(["secret", "set", "token", "--config", config], input: distinctiveValue("t-"))
        XCTAssertEqual(set.status, 0, set.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/.certagent-store"))
        let sealed = storage + "/secrets.sealed"
        XCTAssertEqual(chmod(sealed, 0o644), 0)
        let notes = try temp.write("store/notes.txt", "the admin's")
        XCTAssertEqual(chmod(notes, 0o644), 0)
        XCTAssertEqual(unlink(storage + "/.lock"), 0)
        let before = try snapshot(storage)

        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("\(config): OK"), check.stdout)
        XCTAssertTrue(check.stderr.contains("warning: would tighten \(sealed) from 0644 to 0600: certagent issue or run fixes it"), check.stderr)
        XCTAssertTrue(check.stderr.contains("warning: \(notes) (a regular file) is not part of CertAgent's store: left as it is"), check.stderr)
        XCTAssertEqual(fileMode(sealed), 0o644)
        XCTAssertEqual(try snapshot(storage), before, "not even the lock file was created")

        // A command that opens the store for work fixes the store's own file, and only that.
        let list = try certagent(["secret", "list", "--config", config])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertTrue(list.stderr.contains("tightened \(sealed) from 0644 to 0600"), list.stderr)
        XCTAssertEqual(fileMode(sealed), 0o600)
        XCTAssertEqual(fileMode(notes), 0o644, "not the store's: never changed")
    }

    func testALinkedKeyIsNeverUsedAndCrashLeftoversAreGoneAfterTheNextIssue() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "link.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "link", "domains": ["link.test"], "webroot": webroot]], storage: storage)
        let first = try certagent(["issue", "--config", config])
        XCTAssertEqual(first.status, 0, first.output)

        // The current version's key becomes a link to that very key, moved out of the store and world-readable.
        let certificateDirectory = storage + "/certificates/link"
        let version = certificateDirectory + "/" + (try FileManager.default.destinationOfSymbolicLink(atPath: certificateDirectory + "/current"))
        let stolen = testbed.directory + "/stolen-key.pem"
        XCTAssertEqual(rename(version + "/privkey.pem", stolen), 0)
        XCTAssertEqual(chmod(stolen, 0o644), 0)
        XCTAssertEqual(symlink(stolen, version + "/privkey.pem"), 0)
        let stolenKey = try String(contentsOfFile: stolen, encoding: .utf8)

        // What a kill -9 in the middle of a run leaves: temporaries of the record, a published token, the directories made for it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let deadWriter = certificateDirectory + "/.renewal.json.tmp-\(process.processIdentifier)-Ab12Cd"
        let oldWriter = certificateDirectory + "/.renewal.json.tmp-Xy34Zw"
        for path in [deadWriter, oldWriter] { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("{\"fail".utf8))) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-600)], ofItemAtPath: oldWriter)
        let challengeDirectory = webroot + "/.well-known/acme-challenge"
        try FileManager.default.createDirectory(atPath: challengeDirectory, withIntermediateDirectories: true)
        let token = challengeDirectory + "/leftoverToken123"
        XCTAssertTrue(FileManager.default.createFile(atPath: token, contents: Data("leftoverToken123.x".utf8)))
        let journal = certificateDirectory + "/challenges.inflight"
        try "directory \(webroot)/.well-known\ndirectory \(challengeDirectory)\n\(token)\n".write(toFile: journal, atomically: true, encoding: .utf8)
        let leftovers = [deadWriter, oldWriter, token, journal]

        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 2, check.output)
        XCTAssertTrue(check.stderr.contains("\(version)/privkey.pem is a symbolic link to \(stolen)"), check.stderr)
        for path in leftovers { XCTAssertTrue(FileManager.default.fileExists(atPath: path), "check removes nothing: \(path)") }

        let issue = try certagent(["issue", "--config", config])
        XCTAssertEqual(issue.status, 0, issue.output)
        XCTAssertTrue(issue.stdout.contains("… link: unreadable: \(version)/privkey.pem is a symbolic link to \(stolen)"), issue.stdout)
        XCTAssertTrue(issue.stdout.contains("getting a new one"), issue.stdout)
        XCTAssertTrue(issue.stderr.contains("removed a challenge file left by an interrupted run"), issue.stderr)
        for path in leftovers { XCTAssertFalse(FileManager.default.fileExists(atPath: path), "left over: \(path)") }
        XCTAssertEqual(filesBelow(webroot), [], "the token and the directories made for it are gone")
        XCTAssertEqual(try String(contentsOfFile: stolen, encoding: .utf8), stolenKey)
        let newKey = certificateDirectory + "/current/privkey.pem"
        var info = stat()
        XCTAssertEqual(lstat(PathSafety.canonical(newKey), &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFREG)
        XCTAssertNotEqual(try String(contentsOfFile: newKey, encoding: .utf8), stolenKey, "a new key, not the linked one")
    }
}
