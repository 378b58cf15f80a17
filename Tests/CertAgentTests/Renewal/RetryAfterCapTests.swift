@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The CA's word has limits: a `Retry-After` (or a suggested window) never puts a renewal past the certificate's latest
/// safe renewal time, and never more than a day off when there is no usable certificate. Time is the manual clock.
final class RetryAfterCapTests: XCTestCase {
    private let day = RenewalFixtures.day
    /// What the CA sent in the report: `Retry-After: 999999999` (31.7 years, 2058).
    private let absurd: TimeInterval = 999_999_999

    func testMissingCertificateWaitsAtMostADayWhateverTheCAAsks() {
        let clock = ManualClock()
        let failedAt = clock.now()
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: failedAt.addingTimeInterval(absurd), at: failedAt)
        XCTAssertEqual(record.retryAfter, failedAt.addingTimeInterval(absurd), "the record keeps what the CA asked")

        clock.advance(by: 60)
        let held = RenewalPolicy().decide(state: .missing, record: record, ariSupported: true, now: clock.now(),
                                          random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(held.action, .renewAt(failedAt.addingTimeInterval(day), .missing), "one day, not 2058")
        XCTAssertEqual(held.wakeAt, failedAt.addingTimeInterval(day))
        XCTAssertTrue(held.heldBackByFailures)

        clock.set(failedAt.addingTimeInterval(day))
        let due = RenewalPolicy().decide(state: .missing, record: record, ariSupported: true, now: clock.now(),
                                         random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(due.action, .renewNow(.missing))
    }

    func testAShorterWaitIsHonouredAsAsked() {
        let clock = ManualClock()
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: clock.now().addingTimeInterval(3 * 3_600), at: clock.now())
        let decision = RenewalPolicy().decide(state: .missing, record: record, ariSupported: false, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewAt(clock.now().addingTimeInterval(3 * 3_600), .missing))
    }

    func testCertificateInUseWaitsNoLaterThanItsLatestSafeRenewalTime() {
        let clock = ManualClock()
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now(), ariCertificateID: nil)
        clock.advance(by: 61 * day)   // past the lifetime threshold: renewing
        var record = RenewalPolicy().decide(serving: certificate, record: RenewalRecord(), ariSupported: false, now: clock.now(),
                                            random: ScriptedRandomSource([0.5])).record
        record.recordFailure("rateLimited", retryAfter: clock.now().addingTimeInterval(absurd), at: clock.now())
        clock.advance(by: 600)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: false, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]))
        let latest = certificate.notAfter.addingTimeInterval(-day)   // a tenth of 90 days is more than a day: one day
        XCTAssertEqual(LifetimeRenewalRule().latestRenewal(notBefore: certificate.notBefore, notAfter: certificate.notAfter), latest)
        XCTAssertEqual(decision.action, .renewAt(latest, .lifetimeThreshold))
        XCTAssertTrue(decision.heldBackByFailures)
        XCTAssertLessThan(decision.wakeAt, certificate.notAfter)
    }

    func testPastTheLatestSafeRenewalTimeOnlyTheBackoffCounts() {
        let clock = ManualClock()
        let certificate = RenewalFixtures.served(lifetime: 6 * day, notBefore: clock.now(), ariCertificateID: nil)
        clock.set(certificate.notAfter.addingTimeInterval(-3_600))   // an hour left: at risk
        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: clock.now().addingTimeInterval(7 * day), at: clock.now())
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: false, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewAt(clock.now().addingTimeInterval(FailureBackoff.delay(afterFailures: 1)), .lifetimeThreshold))
    }

    func testCapIsNamedAndAppliedByFailureBackoff() {
        let failedAt = RenewalFixtures.start
        let certificate = RenewalFixtures.served(lifetime: 45 * day, notBefore: failedAt)
        let cap = RetryAfterCap.serving(certificate, rule: LifetimeRenewalRule(), failedAt: failedAt)
        XCTAssertEqual(cap.latest, certificate.notAfter.addingTimeInterval(-day))
        XCTAssertTrue(cap.reason.contains("latest safe renewal time"), cap.reason)
        XCTAssertEqual(cap.used(forRequested: failedAt.addingTimeInterval(absurd)), cap.latest)
        XCTAssertEqual(cap.used(forRequested: failedAt.addingTimeInterval(60)), failedAt.addingTimeInterval(60))

        let none = RetryAfterCap.withoutCertificate(failedAt: failedAt)
        XCTAssertEqual(none.latest, failedAt.addingTimeInterval(day))
        XCTAssertEqual(none.reason, "one day, as there is no usable certificate")

        var record = RenewalRecord()
        record.recordFailure("rateLimited", retryAfter: failedAt.addingTimeInterval(absurd), at: failedAt)
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record, now: failedAt, retryAfterCap: none), failedAt.addingTimeInterval(day))
        XCTAssertEqual(FailureBackoff.nextAttempt(for: record, now: failedAt), failedAt.addingTimeInterval(absurd), "uncapped without a cap")
    }

    func testSuggestedWindowBeyondTheLatestSafeRenewalTimeIsNotWaitedFor() {
        let clock = ManualClock()
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now())
        var record = RenewalRecord()
        // The CA suggests renewing in 2058.
        let far = RenewalWindow(start: clock.now().addingTimeInterval(absurd), end: clock.now().addingTimeInterval(absurd + day))
        record.ariCertificateID = certificate.ariCertificateID
        record.ariWindow = far
        record.ariFetched = clock.now()
        record.nextARICheck = clock.now().addingTimeInterval(day)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: true, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]))
        let latest = certificate.notAfter.addingTimeInterval(-day)
        XCTAssertEqual(decision.action, .renewAt(latest, .lifetimeThreshold))
        XCTAssertEqual(decision.record.chosenRenewalTime, latest, "the record (and so `status`) holds the time used")
        XCTAssertEqual(decision.wakeAt, clock.now().addingTimeInterval(day), "renewal information is still checked daily")

        // A time stored uncapped (by an earlier version) is capped as well.
        var stored = decision.record
        stored.chosenRenewalTime = far.start
        let again = RenewalPolicy().decide(serving: certificate, record: stored, ariSupported: true, now: clock.now(),
                                           random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(again.action, .renewAt(latest, .lifetimeThreshold))
    }

    func testWindowInsideTheLifetimeIsUnaffected() {
        let clock = ManualClock()
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now())
        var record = RenewalRecord()
        let window = RenewalWindow(start: clock.now().addingTimeInterval(60 * day), end: clock.now().addingTimeInterval(62 * day))
        record.ariCertificateID = certificate.ariCertificateID
        record.ariWindow = window
        record.ariFetched = clock.now()
        record.nextARICheck = clock.now().addingTimeInterval(day)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: true, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewAt(clock.now().addingTimeInterval(61 * day), .inWindow))
    }

    func testRenewalInformationRetryAfterIsClampedToADay() {
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: absurd), day)
        XCTAssertEqual(RenewalInfoPolling.intervalAfterError(retryAfter: absurd), day)
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: 1), 60)
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: .infinity), RenewalInfoPolling.defaultInterval)
    }
}
