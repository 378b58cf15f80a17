@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a crash or kill leaves behind — temporaries of atomic writes, challenge files, the directories made for them —
/// is cleaned up by the next start or write, and nothing that is not CertAgent's.
final class CrashLeftoverTests: XCTestCase {
    /// The id of a process that has exited (so no process has it, barring reuse within the test).
    private func exitedProcessID() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    private func age(_ path: String, seconds: TimeInterval) {
        let then = Date().addingTimeInterval(-seconds)
        try? FileManager.default.setAttributes([.modificationDate: then], ofItemAtPath: path)
    }

    func testTemporaryNamesAreRecognised() {
        XCTAssertEqual(AtomicFile.temporaryTarget(".renewal.json.tmp-Ab12Cd"), "renewal.json")
        XCTAssertEqual(AtomicFile.temporaryTarget(".renewal.json.tmp-4242-Ab12Cd"), "renewal.json")
        XCTAssertEqual(AtomicFile.temporaryTarget(".x.tmp-1.tmp-9-abcdef"), "x.tmp-1")
        for name in ["renewal.json.tmp-Ab12Cd", ".renewal.json.tmp-", ".renewal.json.tmp-Ab12", ".renewal.json.tmp-x-Ab12Cd",
                     ".renewal.json.tmp-12-Ab12Cd-", ".tmp-Ab12Cd", ".renewal.json"] {
            XCTAssertNil(AtomicFile.temporaryTarget(name), name)
        }
    }

    func testAWriteFirstRemovesTheTemporariesItsCrashedWritersLeftAndNoOneElses() throws {
        let temp = try TemporaryDirectory()
        let target = temp.path("renewal.json")
        let dead = try temp.write(".renewal.json.tmp-\(try exitedProcessID())-Ab12Cd", "{\"half")
        let oldStyle = try temp.write(".renewal.json.tmp-Xy34Zw", "{\"half")
        age(oldStyle, seconds: 600)
        let freshOldStyle = try temp.write(".renewal.json.tmp-Qq56Rr", "{\"being written")
        let live = try temp.write(".renewal.json.tmp-1-Ab12Cd", "pid 1 is alive")
        let ours = try temp.write(".renewal.json.tmp-\(getpid())-Ab12Cd", "this process")
        let otherFile = try temp.write(".other.json.tmp-\(try exitedProcessID())-Ab12Cd", "another target's")
        try AtomicFile.write("{}", to: target)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: temp.path))
        XCTAssertFalse(left.contains((dead as NSString).lastPathComponent), "its writer is gone")
        XCTAssertFalse(left.contains((oldStyle as NSString).lastPathComponent), "unattributed and ten minutes old")
        for kept in [freshOldStyle, live, ours, otherFile] {
            XCTAssertTrue(left.contains((kept as NSString).lastPathComponent), "\(kept) may still be written")
        }
        age(live, seconds: 2 * 3600)
        XCTAssertEqual(AtomicFile.removeAbandonedTemporaries(of: target), [live], "after an hour a pid no longer proves a live writer")
    }

    func testOpeningTheStoreRemovesLeftoversInItsOwnDirectoriesOnly() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        try store.commit(try store.stage(CertificateMaterial(privateKeyPEM: "k", csrPEM: "c", certificatePEM: "x", chainPEM: "y"), for: "site"), for: "site")
        let version = try XCTUnwrap(try store.linkedVersion("site")).directory
        let pid = try exitedProcessID()
        let leftovers = [
            store.root + "/.secrets.sealed.tmp-\(pid)-Ab12Cd",
            store.certificateDirectory("site") + "/.renewal.json.tmp-\(pid)-Ab12Cd",
            store.certificateDirectory("site") + "/.challenges.inflight.tmp-\(pid)-Ab12Cd",
            version + "/.privkey.pem.tmp-\(pid)-Ab12Cd",
        ]
        for path in leftovers { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
        try temp.make("store/certificates/site/keep")   // not the store's: never walked into
        let foreign = try temp.write("store/certificates/site/keep/.notes.txt.tmp-\(pid)-Ab12Cd", "theirs")
        let unrelated = try temp.write("store/certificates/site/.unknown.tmp-\(pid)-Ab12Cd", "a temporary of no file of ours")

        XCTAssertEqual(try CertificateStore(root: store.root, webroots: [], create: false).removedLeftovers, [], "check removes nothing")
        for path in leftovers { XCTAssertTrue(FileManager.default.fileExists(atPath: path), path) }

        let reopened = try CertificateStore(root: store.root, webroots: [])
        XCTAssertEqual(Set(reopened.removedLeftovers), Set(leftovers))
        for path in leftovers { XCTAssertFalse(FileManager.default.fileExists(atPath: path), path) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: foreign))
        XCTAssertTrue(FileManager.default.fileExists(atPath: unrelated))
    }

    func testACrashedRunsChallengeFileAndTheDirectoriesItMadeAreRemovedButAPreexistingWellKnownStays() throws {
        let temp = try TemporaryDirectory()
        let fresh = try temp.make("fresh")              // no .well-known yet: the solver makes both directories
        let kept = try temp.make("kept")                // the admin's own .well-known, with content
        try temp.make("kept/.well-known")
        _ = try temp.write("kept/.well-known/security.txt", "Contact: mailto:sec@example.com")
        let emptyKept = try temp.make("empty-kept")    // the admin's own, empty acme-challenge
        try temp.make("empty-kept/.well-known/acme-challenge")
        let journal = temp.path("store/certificates/site/challenges.inflight")
        let solver = WebrootSolver(webroots: ["a.test": fresh, "b.test": kept, "c.test": emptyKept], journal: ChallengeJournal(path: journal))
        try solver.present(domain: "a.test", token: "tokA", keyAuthorization: "tokA.x")
        try solver.present(domain: "b.test", token: "tokB", keyAuthorization: "tokB.x")
        try solver.present(domain: "c.test", token: "tokC", keyAuthorization: "tokC.x")
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(lines.filter { $0.hasPrefix("directory ") }),
                       ["directory \(fresh)/.well-known", "directory \(fresh)/.well-known/acme-challenge", "directory \(kept)/.well-known/acme-challenge"])
        // The process is killed here: no cleanUp. The next start:
        let removed = ChallengeJournal.removeLeftovers(journal: journal, webroots: [fresh, kept, emptyKept])
        XCTAssertEqual(Set(removed), [fresh + "/.well-known/acme-challenge/tokA", kept + "/.well-known/acme-challenge/tokB",
                                      emptyKept + "/.well-known/acme-challenge/tokC", fresh + "/.well-known/acme-challenge/",
                                      fresh + "/.well-known/", kept + "/.well-known/acme-challenge/"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fresh), [], "what CertAgent made is gone")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: kept + "/.well-known"), ["security.txt"])
        XCTAssertTrue(PathSafety.isDirectory(emptyKept + "/.well-known/acme-challenge"), "the admin's empty directory stays")
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal))
    }

    func testADirectoryTheSolverMadeIsLeftWhenSomeoneElsePutSomethingInIt() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let journal = temp.path("challenges.inflight")
        let solver = WebrootSolver(webroots: ["a.test": webroot], journal: ChallengeJournal(path: journal))
        try solver.present(domain: "a.test", token: "tok", keyAuthorization: "tok.x")
        _ = try temp.write("public_html/.well-known/security.txt", "added meanwhile")
        XCTAssertEqual(Set(ChallengeJournal.removeLeftovers(journal: journal, webroots: [webroot])),
                       [webroot + "/.well-known/acme-challenge/tok", webroot + "/.well-known/acme-challenge/"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: webroot + "/.well-known"), ["security.txt"])
    }

    func testAfterACleanRunTheJournalIsGoneAndOnlyCreatedDirectoriesWereRemoved() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let journal = temp.path("challenges.inflight")
        let solver = WebrootSolver(webroots: ["a.test": webroot], journal: ChallengeJournal(path: journal))
        try solver.present(domain: "a.test", token: "tok", keyAuthorization: "tok.x")
        solver.cleanUp(domain: "a.test", token: "tok")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: webroot), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal), "nothing left to recover")
    }
}
