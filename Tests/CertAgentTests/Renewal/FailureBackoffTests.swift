@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// 1 min, 10 min, 100 min, then daily; Retry-After only ever later; persisted across restarts.
final class FailureBackoffTests: XCTestCase {
    private let now = RenewalFixtures.start

    func testFailuresRecordedWhileTheClockWasAheadDoNotHoldRenewalsBackOnceItIsCorrected() {
        var record = RenewalRecord()
        let ahead = now.addingTimeInterval(30 * 86_400)   // the clock had jumped a month ahead
        record.recordFailure("certificate not valid now", retryAfter: ahead.addingTimeInterval(3_600), at: ahead)
        // Corrected: counted from now, not from a month away — the CA's hour still holds, relative to the failure.
        XCTAssertEqual(FailureBackoff.attemptTime(for: record, now: now), now.addingTimeInterval(3_600))
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record, now: now), now.addingTimeInterval(3_600))
        // A failure in the past is unaffected.
        var past = RenewalRecord()
        past.recordFailure("x", at: now.addingTimeInterval(-30))
        XCTAssertEqual(FailureBackoff.attemptTime(for: past, now: now), now.addingTimeInterval(30))
    }

    func testDelaySequence() {
        XCTAssertEqual((0...6).map(FailureBackoff.delay(afterFailures:)), [0, 60, 600, 6_000, 86_400, 86_400, 86_400])
    }

    func testBackoffSurvivesRestarts() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path
        let clock = ManualClock(now)
        let expectedDelays: [TimeInterval] = [60, 600, 6_000, 86_400, 86_400]
        for (index, expected) in expectedDelays.enumerated() {
            // Each attempt is a fresh process: a new store reading the file the last one wrote.
            let store = RenewalRecordStore(store: try CertificateStore(root: path, webroots: []))
            var record = store.load("site").record
            XCTAssertEqual(record.failures, index, "the count is not reset by a restart")
            if index > 0 {
                XCTAssertEqual(FailureBackoff.nextAttempt(for: record), clock.now(), "woken exactly when the backoff ended")
            }
            record.recordFailure("attempt \(index + 1) failed", at: clock.now())
            try store.save(record, for: "site")

            let reloaded = RenewalRecordStore(store: try CertificateStore(root: path, webroots: [])).load("site").record
            XCTAssertEqual(reloaded.lastError, "attempt \(index + 1) failed")
            let next = try XCTUnwrap(FailureBackoff.nextAttempt(for: reloaded))
            XCTAssertEqual(next.timeIntervalSince(clock.now()), expected, accuracy: 0.001, "after failure \(index + 1)")
            let decision = RenewalPolicy().decide(state: .missing, record: reloaded, ariSupported: false,
                                                  now: clock.now().addingTimeInterval(1), random: ScriptedRandomSource([0.5]))
            XCTAssertEqual(decision.action, .renewAt(next, .missing))
            clock.set(next)
        }
    }

    func testRetryAfterLongerThanTheBackoffWins() {
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: now.addingTimeInterval(3 * 3_600), at: now)
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record), now.addingTimeInterval(3 * 3_600))
    }

    func testRetryAfterShorterThanTheBackoffDoesNotShortenIt() {
        var record = RenewalRecord()
        record.recordFailure("one", at: now)
        record.recordFailure("two", at: now.addingTimeInterval(60))
        record.recordFailure("serverInternal", retryAfter: now.addingTimeInterval(700), at: now.addingTimeInterval(660))
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record), now.addingTimeInterval(660 + 6_000))
    }

    func testLaterFailureKeepsAnEarlierLongerRetryAfter() {
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: now.addingTimeInterval(7 * 86_400), at: now)
        record.recordFailure("rateLimited again", at: now.addingTimeInterval(86_400))
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record), now.addingTimeInterval(7 * 86_400))
    }

    func testForcedAttemptIgnoresBackoff() {
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: now.addingTimeInterval(86_400), at: now)
        XCTAssertEqual(FailureBackoff.attemptTime(for: record, now: now.addingTimeInterval(5), forced: true), now.addingTimeInterval(5))
        XCTAssertEqual(FailureBackoff.attemptTime(for: record, now: now.addingTimeInterval(5)), now.addingTimeInterval(86_400))
    }

    func testSuccessResetsEverything() {
        var record = RenewalRecord()
        record.recordFailure("x", retryAfter: now.addingTimeInterval(86_400), at: now)
        record.inFlightSince = now
        record.chosenRenewalTime = now
        record.recordSuccess(at: now.addingTimeInterval(10))
        XCTAssertNil(FailureBackoff.nextAttempt(for: record))
        XCTAssertEqual(record.failures, 0)
        XCTAssertNil(record.inFlightSince)
        XCTAssertNil(record.chosenRenewalTime)
        XCTAssertEqual(record.lastRenewed, now.addingTimeInterval(10))
    }
}
