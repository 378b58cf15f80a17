import ACME
@testable import CertAgent
import Foundation
import Synchronization
import TestSupport
import XCTest

/// A stop (SIGTERM, Ctrl-C) that cuts `RenewalService.process` short: reported as `.interrupted` — never as "not due",
/// never as a failure against the certificate — with every challenge file removed.
final class RenewalServiceStopTests: XCTestCase {
    func testStopWhileCheckingRenewalInfoIsAnInterruptionNotADecisionNorAFailure() throws {
        let bed = try ARITestbed(stoppingAt: { $0.method == .get && $0.url.hasPrefix(ScriptedACMEServer.renewalInfoBase + "/") })
        _ = try bed.issueFirstCertificate()
        let before = bed.record()

        let outcome = bed.service.process(ARITestbed.name)

        guard case .interrupted = outcome else { return XCTFail("a cut-short decision is not 'not due': \(outcome)\n\(bed.log)") }
        let after = bed.record()
        XCTAssertEqual(after.nextARICheck, before.nextARICheck, "no renewal-information failure recorded")
        XCTAssertNil(after.ariFetched)
        XCTAssertEqual(after.failures, 0)
        XCTAssertEqual(bed.server.placedOrders.count, 1, "no renewal order after the stop")
        XCTAssertFalse(bed.log.contains("could not fetch renewal information"), bed.log)
    }

    func testStopWhileTheChallengeIsPendingRemovesTheChallengeFileAndCountsNoFailure() throws {
        // What the webroot held when the challenge POST was aborted.
        let watched = Mutex<(webroot: String?, seen: [String]?)>((nil, nil))
        let bed = try ARITestbed(stoppingAt: { request in
            guard request.method == .post, request.url.contains("/chall/") else { return false }
            watched.withLock { $0.seen = $0.webroot.map(filesBelow) }
            return true
        })
        watched.withLock { $0.webroot = bed.webroot }
        let challengeDirectory = bed.webroot + "/.well-known/acme-challenge"

        let outcome = bed.service.process(ARITestbed.name)

        guard case .interrupted = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertEqual(bed.server.placedOrders.count, 1, "the order was placed before the stop")
        XCTAssertFalse(FileManager.default.fileExists(atPath: challengeDirectory), "the challenge file and its directories are gone")
        let seen = try XCTUnwrap(watched.withLock { $0.seen }, "the challenge POST was aborted")
        XCTAssertEqual(seen.count, 3, "the challenge file was published when the stop came: \(seen)")
        XCTAssertNil(bed.storedLeaf())
        let record = bed.record()
        XCTAssertEqual(record.failures, 0, "a stop is not a failure of the CA")
        XCTAssertNil(record.lastFailure)
        XCTAssertNil(record.inFlightSince, "the order is abandoned, not left in flight")
        XCTAssertTrue(bed.log.contains("renewal interrupted by shutdown"), bed.log)
        XCTAssertFalse(bed.log.contains("issuance failed"), "a stop is not logged as an error\n\(bed.log)")
    }

    func testAStoppedServiceStartsNoWork() throws {
        let bed = try ARITestbed()
        let requests = bed.server.requests.count
        (bed.session.clock as? StoppableClock)?.stop()

        let outcome = bed.service.process(ARITestbed.name)

        guard case .interrupted = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(bed.server.requests.count, requests, "nothing sent")
        XCTAssertEqual(bed.server.placedOrders.count, 0)
    }
}

/// Every entry below `directory`, recursively.
private func filesBelow(_ directory: String) -> [String] {
    (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
}
