@testable import CertAgent
import ACME
import Foundation
import TestSupport
import XCTest

/// RFC 9773: renew at a random moment in the suggested window; re-check as `Retry-After` says, clamped.
final class RenewalPolicyARITests: XCTestCase {
    private let day = RenewalFixtures.day
    private let now = RenewalFixtures.start
    private let certificate = RenewalFixtures.served(lifetime: 90 * RenewalFixtures.day,
                                                     notBefore: RenewalFixtures.start.addingTimeInterval(-30 * RenewalFixtures.day))

    private func record(window: RenewalWindow, retryAfter: TimeInterval? = 6 * 3_600, fetched: Date? = nil) -> RenewalRecord {
        var record = RenewalRecord()
        record.recordRenewalInfo(RenewalInfo(windowStart: window.start, windowEnd: window.end, retryAfter: retryAfter),
                                 certificateID: certificate.ariCertificateID!, at: fetched ?? now)
        return record
    }

    func testFutureWindowRenewsAtTheRandomMomentInsideItAndChecksAgainFirst() {
        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        let decision = RenewalPolicy().decide(serving: certificate, record: record(window: window), ariSupported: true,
                                              now: now, random: ScriptedRandomSource([0.25]))
        let expected = now.addingTimeInterval(20.5 * day)
        XCTAssertEqual(decision.action, .renewAt(expected, .inWindow))
        XCTAssertEqual(decision.wakeAt, now.addingTimeInterval(6 * 3_600), "the next renewal-information check comes first")
        XCTAssertEqual(decision.record.chosenRenewalTime, expected, "the drawn time is handed back to be stored")
        XCTAssertEqual(decision.record.chosenFromWindow, window)
        XCTAssertFalse(decision.heldBackByFailures)
    }

    func testRandomMomentsStayInsideTheWindow() {
        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        let random = SeededRandomSource(seed: 42)
        var times: [Date] = []
        for _ in 0..<500 {
            times.append(SuggestedWindowRule.renewalTime(in: window, now: now, random: random))
        }
        XCTAssertTrue(times.allSatisfy { $0 >= window.start && $0 <= window.end })
        XCTAssertLessThan(times.min()!, window.start.addingTimeInterval(0.1 * 2 * day), "spread over the window")
        XCTAssertGreaterThan(times.max()!, window.end.addingTimeInterval(-0.1 * 2 * day), "spread over the window")
    }

    func testWindowAlreadyStartedRenewsNow() {
        let window = RenewalWindow(start: now.addingTimeInterval(-3_600), end: now.addingTimeInterval(2 * day))
        let decision = RenewalPolicy().decide(serving: certificate, record: record(window: window), ariSupported: true,
                                              now: now, random: ScriptedRandomSource([0.99]))
        XCTAssertEqual(decision.action, .renewNow(.inWindow))
        XCTAssertEqual(decision.wakeAt, now)
    }

    func testWindowAlreadyPassedRenewsNow() {
        let window = RenewalWindow(start: now.addingTimeInterval(-3 * day), end: now.addingTimeInterval(-day))
        let decision = RenewalPolicy().decide(serving: certificate, record: record(window: window), ariSupported: true,
                                              now: now, random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewNow(.inWindow))
    }

    func testChosenMomentIsReachedLater() {
        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        let policy = RenewalPolicy()
        let first = policy.decide(serving: certificate, record: record(window: window, retryAfter: 86_400 * 3), ariSupported: true,
                                  now: now, random: ScriptedRandomSource([0.5]))
        guard case .renewAt(let time, _) = first.action else { return XCTFail("\(first)") }
        var later = first.record
        later.nextARICheck = time.addingTimeInterval(day)   // pretend checks kept confirming the window
        let second = policy.decide(serving: certificate, record: later, ariSupported: true, now: time, random: ScriptedRandomSource([0.0]))
        XCTAssertEqual(second.action, .renewNow(.inWindow))
    }

    func testNoWindowYetChecksRenewalInformationNowWithTheLifetimeRuleAsSafetyNet() {
        let decision = RenewalPolicy().decide(serving: certificate, record: RenewalRecord(), ariSupported: true,
                                              now: now, random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .checkRenewalInfo(at: now))
        XCTAssertEqual(decision.wakeAt, now)
        XCTAssertNil(decision.record.chosenFromWindow, "the fallback time comes from the lifetime rule")
        XCTAssertNotNil(decision.record.chosenRenewalTime)

        // The CA never answers and the certificate reaches two thirds of its lifetime: renew anyway.
        var failing = decision.record
        let late = certificate.notBefore.addingTimeInterval(63 * day)
        failing.recordRenewalInfoFailure(certificateID: certificate.ariCertificateID!, at: late.addingTimeInterval(-60))
        let fallback = RenewalPolicy().decide(serving: certificate, record: failing, ariSupported: true, now: late,
                                              random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(fallback.action, .renewNow(.lifetimeThreshold))
    }

    func testFailedCheckIsRetriedLaterNotInALoop() {
        var record = RenewalRecord()
        record.recordRenewalInfoFailure(certificateID: certificate.ariCertificateID!, at: now)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: true,
                                              now: now.addingTimeInterval(1), random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .checkRenewalInfo(at: now.addingTimeInterval(RenewalInfoPolling.intervalAfterError)))
    }

    func testDueRenewalInformationCheckComesBeforeAFutureRenewal() {
        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        let decision = RenewalPolicy().decide(serving: certificate, record: record(window: window, retryAfter: 60),
                                              now: now.addingTimeInterval(61), ariSupported: true)
        XCTAssertEqual(decision.action, .checkRenewalInfo(at: now.addingTimeInterval(61)))
    }

    func testChangedWindowDrawsAgainButTheSameWindowDoesNot() {
        let policy = RenewalPolicy()
        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        let first = policy.decide(serving: certificate, record: record(window: window), ariSupported: true, now: now,
                                  random: ScriptedRandomSource([0.5]))
        // Refetched, same window: the stored moment stands.
        var same = first.record
        same.recordRenewalInfo(RenewalInfo(windowStart: window.start, windowEnd: window.end, retryAfter: 3_600),
                               certificateID: certificate.ariCertificateID!, at: now.addingTimeInterval(3_600))
        let random = ScriptedRandomSource([0.9])
        let second = policy.decide(serving: certificate, record: same, ariSupported: true, now: now.addingTimeInterval(3_600), random: random)
        XCTAssertEqual(second.record.chosenRenewalTime, first.record.chosenRenewalTime)
        XCTAssertEqual(random.draws, 0)
        // The CA moves the window earlier (say, a revocation is coming): a new moment inside the new window.
        var moved = first.record
        let early = RenewalWindow(start: now.addingTimeInterval(day), end: now.addingTimeInterval(2 * day))
        moved.recordRenewalInfo(RenewalInfo(windowStart: early.start, windowEnd: early.end, retryAfter: 3_600),
                                certificateID: certificate.ariCertificateID!, at: now.addingTimeInterval(3_600))
        let third = policy.decide(serving: certificate, record: moved, ariSupported: true, now: now.addingTimeInterval(3_600),
                                  random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(third.action, .renewAt(now.addingTimeInterval(1.5 * day), .inWindow))
    }

    func testWindowOfAnotherCertificateIsIgnored() {
        let window = RenewalWindow(start: now.addingTimeInterval(-day), end: now.addingTimeInterval(day))
        var record = record(window: window)
        record.ariCertificateID = "aki.someOtherSerial"
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: true, now: now,
                                              random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .checkRenewalInfo(at: now), "the old certificate's window says nothing about this one")
    }

    func testWithoutAnAuthorityKeyIdentifierTheLifetimeRuleApplies() {
        let noAKI = RenewalFixtures.served(lifetime: 90 * day, notBefore: now, ariCertificateID: nil)
        let decision = RenewalPolicy().decide(serving: noAKI, record: RenewalRecord(), ariSupported: true, now: now,
                                              random: ScriptedRandomSource([0.5]))
        guard case .renewAt(_, .lifetimeThreshold) = decision.action else { return XCTFail("\(decision)") }
    }

    // MARK: Retry-After (RFC 9773 §4.3)

    func testRetryAfterIsClampedBetweenAMinuteAndADay() {
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: 10), 60)
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: 3 * day), day)
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: 7_200), 7_200)
        XCTAssertEqual(RenewalInfoPolling.interval(retryAfter: nil), RenewalInfoPolling.defaultInterval)
        XCTAssertEqual(RenewalInfoPolling.intervalAfterError(retryAfter: 5), 60)

        let window = RenewalWindow(start: now.addingTimeInterval(20 * day), end: now.addingTimeInterval(22 * day))
        XCTAssertEqual(record(window: window, retryAfter: 10).nextARICheck, now.addingTimeInterval(60))
        XCTAssertEqual(record(window: window, retryAfter: 3 * day).nextARICheck, now.addingTimeInterval(day))
        let decision = RenewalPolicy().decide(serving: certificate, record: record(window: window, retryAfter: 10),
                                              ariSupported: true, now: now, random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.wakeAt, now.addingTimeInterval(60), "never sooner than a minute")
    }
}

private extension RenewalPolicy {
    func decide(serving certificate: ServedCertificate, record: RenewalRecord, now: Date, ariSupported: Bool) -> RenewalDecision {
        decide(serving: certificate, record: record, ariSupported: ariSupported, now: now, random: ScriptedRandomSource([0.5]))
    }
}
