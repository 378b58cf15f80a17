@testable import CertAgent
import ACME
import Foundation
import TestSupport
import XCTest

/// renewal.json: atomic, private, and never a reason to crash.
final class RenewalRecordStoreTests: XCTestCase {
    private let now = RenewalFixtures.start

    func testEveryFieldRoundTripsInAPrivateFile() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        let records = RenewalRecordStore(store: store)
        var record = RenewalRecord()
        record.recordFailure("rateLimited: too many certificates", retryAfter: now.addingTimeInterval(3_600.5), at: now)
        record.chosenRenewalTime = now.addingTimeInterval(86_400)
        record.chosenForSerial = "0a1b"
        record.chosenFromWindow = RenewalWindow(start: now, end: now.addingTimeInterval(2 * 86_400))
        record.recordRenewalInfo(RenewalInfo(windowStart: now, windowEnd: now.addingTimeInterval(86_400),
                                             explanationURL: "https://ca.test/why", retryAfter: 21_600),
                                 certificateID: "aki.serial", at: now.addingTimeInterval(0.25))
        record.lastRenewed = now.addingTimeInterval(-86_400)
        record.inFlightSince = now

        try records.save(record, for: "site")
        let path = store.keys.document(.renewal, of: "site")
        XCTAssertEqual(path, store.certificateDirectory("site") + "/renewal.json")
        XCTAssertEqual(fileMode(path), 0o600)
        XCTAssertEqual(fileMode(store.certificateDirectory("site")), 0o700)
        let loaded = records.load("site")
        XCTAssertNil(loaded.problem)
        XCTAssertEqual(loaded.record, record)
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("\"inFlightSince\""), "readable JSON")
    }

    func testOrderInFlightIsReadAsTheWholeRecordSaysIt() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        let records = RenewalRecordStore(store: store)
        XCTAssertFalse(records.hasOrderInFlight("site"), "no record")
        var record = RenewalRecord()
        record.recordFailure("boom", retryAfter: nil, at: now)
        try records.save(record, for: "site")
        XCTAssertFalse(records.hasOrderInFlight("site"))
        record.inFlightSince = now
        try records.save(record, for: "site")
        XCTAssertTrue(records.hasOrderInFlight("site"))
        XCTAssertEqual(records.hasOrderInFlight("site"), records.load("site").record.inFlightSince != nil)
        try "{ not json".write(toFile: store.keys.document(.renewal, of: "site"), atomically: true, encoding: .utf8)
        XCTAssertFalse(records.hasOrderInFlight("site"), "an unreadable record is a fresh one")
    }

    func testMissingFileIsAFreshRecordWithoutComplaint() throws {
        let temp = try TemporaryDirectory()
        let loaded = RenewalRecordStore(store: try CertificateStore(root: temp.path, webroots: [])).load("site")
        XCTAssertEqual(loaded.record, RenewalRecord())
        XCTAssertNil(loaded.problem)
    }

    func testCorruptFileIsAFreshRecordAndAProblemToLog() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path, webroots: [])
        let records = RenewalRecordStore(store: store)
        try temp.make("certificates/site")
        for garbage in ["{\"failures\": 3, \"lastFailure\": \"yesterday\"", "not json at all", "", "{\"failures\": \"many\"}"] {
            try temp.write("certificates/site/renewal.json", garbage)
            let loaded = records.load("site")
            XCTAssertEqual(loaded.record, RenewalRecord(), garbage)
            XCTAssertNotNil(loaded.problem, garbage)
        }
        // And it is replaced cleanly by the next save.
        var record = RenewalRecord()
        record.recordFailure("x", at: now)
        try records.save(record, for: "site")
        XCTAssertEqual(records.load("site").record, record)
    }

    func testUnreadablePathIsAFreshRecordAndAProblemToLog() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path, webroots: [])
        try temp.make("certificates/site/renewal.json")   // a directory where the file should be
        let loaded = RenewalRecordStore(store: store).load("site")
        XCTAssertEqual(loaded.record, RenewalRecord())
        XCTAssertNotNil(loaded.problem)
    }
}
