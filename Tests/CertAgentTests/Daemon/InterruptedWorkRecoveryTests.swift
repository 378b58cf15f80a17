import CertAgent
import Foundation
import Logging
import TestSupport
import XCTest

/// Start-up cleanup after a crash, and its respect for a certificate another process is issuing right now.
final class InterruptedWorkRecoveryTests: XCTestCase {
    func testLeftoverChallengeFilesAreRemovedUnlessTheCertificateIsBeingIssuedElsewhere() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let challenges = try temp.make("public_html/.well-known/acme-challenge")
        let configPath = try temp.write("config.json", """
            {"directory": "https://ca.test/dir", "storage": "\(temp.path)/store",
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\(webroot)"}]}
            """)
        let logger = Logger(label: "test")
        let session = try AgentSession(config: try ConfigLoader.load(path: configPath), logger: logger)
        // A previous run published a token and was killed: the journal still lists it. A file it never published stays.
        let leftover = challenges + "/token_left-by-a-crash"
        let foreign = challenges + "/the-site-s-own-file"
        for file in [leftover, foreign] { XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8))) }
        try FileManager.default.createDirectory(atPath: session.store.certificateDirectory("site"), withIntermediateDirectories: true)
        try (leftover + "\n/etc/passwd\n").write(toFile: session.store.challengeJournal("site"), atomically: true, encoding: .utf8)
        var record = RenewalRecord()
        record.inFlightSince = Date()
        try RenewalRecordStore(store: session.store).save(record, for: "site")
        let service = RenewalService(session: session, clock: StoppableClock(), logger: logger)

        // Another process is issuing "site" right now: its files are live, so nothing is touched.
        var held: FileLock? = try session.store.lockForIssuance("site")
        service.recoverInterruptedWork()
        XCTAssertTrue(FileManager.default.fileExists(atPath: leftover))
        XCTAssertNotNil(RenewalRecordStore(store: session.store).load("site").record.inFlightSince)

        XCTAssertNotNil(held)
        held = nil
        service.recoverInterruptedWork()
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "the crashed run's token is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: foreign), "a file CertAgent never published stays")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/passwd"), "paths outside the challenge directory are never touched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: session.store.challengeJournal("site")))
        XCTAssertNil(RenewalRecordStore(store: session.store).load("site").record.inFlightSince, "the abandoned order is forgotten")
    }
}
