@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// Without ARI: renew with a third of the lifetime left (half for ten days or less), jittered, never "90 days".
final class RenewalPolicyLifetimeTests: XCTestCase {
    private let day = RenewalFixtures.day
    private let hour = RenewalFixtures.hour
    private let rule = LifetimeRenewalRule()

    /// Draws `count` renewal times and checks each against the expected threshold ± half of 5% of the lifetime.
    private func assertJitter(lifetime: TimeInterval, renewAfter expectedElapsed: TimeInterval,
                              file: StaticString = #filePath, line: UInt = #line) {
        let certificate = RenewalFixtures.served(lifetime: lifetime)
        let threshold = certificate.notBefore.addingTimeInterval(expectedElapsed)
        XCTAssertEqual(rule.threshold(notBefore: certificate.notBefore, notAfter: certificate.notAfter), threshold, file: file, line: line)
        let halfJitter = 0.025 * lifetime
        let random = SeededRandomSource(seed: 7)
        var offsets: [TimeInterval] = []
        for _ in 0..<2_000 {
            let time = rule.renewalTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter, random: random)
            offsets.append(time.timeIntervalSince(threshold))
        }
        XCTAssertGreaterThanOrEqual(offsets.min()!, -halfJitter - 1, file: file, line: line)
        XCTAssertLessThanOrEqual(offsets.max()!, halfJitter, file: file, line: line)
        XCTAssertLessThan(offsets.min()!, -0.8 * halfJitter, "the jitter is used, early side", file: file, line: line)
        XCTAssertGreaterThan(offsets.max()!, 0.8 * halfJitter, "the jitter is used, late side", file: file, line: line)
        let margin = rule.safetyMargin(lifetime: lifetime)
        XCTAssertTrue(offsets.allSatisfy { threshold.addingTimeInterval($0) <= certificate.notAfter.addingTimeInterval(-margin) },
                      file: file, line: line)
    }

    func testNinetyDayCertificateRenewsAtTwoThirds() {
        assertJitter(lifetime: 90 * day, renewAfter: 60 * day)
    }

    func testFortyFiveDayCertificateRenewsAtTwoThirds() {
        assertJitter(lifetime: 45 * day, renewAfter: 30 * day)
    }

    func testShortLivedCertificateRenewsAtHalfItsLifetime() {
        assertJitter(lifetime: 160 * hour, renewAfter: 80 * hour)
    }

    func testTenDaysIsShortElevenIsNot() {
        XCTAssertEqual(rule.fractionLeft(lifetime: 10 * day), 0.5)
        XCTAssertEqual(rule.fractionLeft(lifetime: 11 * day), 1.0 / 3.0)
    }

    func testJitterNeverPassesExpiryMinusTheSafetyMargin() {
        let wide = LifetimeRenewalRule(jitterFraction: 2.0)   // absurdly wide on purpose
        let certificate = RenewalFixtures.served(lifetime: 160 * hour)
        let latest = certificate.notAfter.addingTimeInterval(-wide.safetyMargin(lifetime: certificate.lifetime))
        let latestDrawn = wide.renewalTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter,
                                           random: ScriptedRandomSource([0.999999]))
        XCTAssertLessThanOrEqual(latestDrawn, latest)
        XCTAssertGreaterThan(latestDrawn, latest.addingTimeInterval(-2), "clamped, not wrapped")
        XCTAssertEqual(wide.renewalTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter,
                                        random: ScriptedRandomSource([0])), certificate.notBefore, "nor before issuance")
    }

    func testPolicyWaitsUntilTheThresholdThenRenews() {
        let certificate = RenewalFixtures.served(lifetime: 160 * hour)
        let policy = RenewalPolicy()
        let early = policy.decide(serving: certificate, record: RenewalRecord(), ariSupported: false,
                                  now: certificate.notBefore, random: ScriptedRandomSource([0.5]))
        let expected = certificate.notBefore.addingTimeInterval(80 * hour)
        XCTAssertEqual(early.action, .renewAt(expected, .lifetimeThreshold))
        XCTAssertEqual(early.wakeAt, certificate.notBefore.addingTimeInterval(day), "looks again at least daily")
        let due = policy.decide(serving: certificate, record: early.record, ariSupported: false, now: expected,
                                random: ScriptedRandomSource([0.0]))
        XCTAssertEqual(due.action, .renewNow(.lifetimeThreshold))
    }

    func testChosenTimeSurvivesARestart() throws {
        let directory = try TemporaryDirectory()
        let store = RenewalRecordStore(store: try CertificateStore(root: directory.path, webroots: []))
        let certificate = RenewalFixtures.served(lifetime: 90 * day)
        let first = RenewalPolicy().decide(serving: certificate, record: store.load("site").record, ariSupported: false,
                                           now: certificate.notBefore, random: SeededRandomSource(seed: 1))
        try store.save(first.record, for: "site")

        // "Restart": a new policy, the record read back, a random source that would draw something else.
        let random = ScriptedRandomSource([0.999])
        let loaded = store.load("site")
        XCTAssertNil(loaded.problem)
        let second = RenewalPolicy().decide(serving: certificate, record: loaded.record, ariSupported: false,
                                            now: certificate.notBefore.addingTimeInterval(3 * day), random: random)
        XCTAssertEqual(second.action, first.action)
        XCTAssertEqual(random.draws, 0, "nothing redrawn")
        XCTAssertEqual(second.record, loaded.record, "nothing to save")

        // A renewed certificate (new serial) gets its own time.
        let renewed = RenewalFixtures.served(lifetime: 90 * day, notBefore: certificate.notBefore.addingTimeInterval(60 * day), serial: "02")
        let third = RenewalPolicy().decide(serving: renewed, record: loaded.record, ariSupported: false,
                                           now: renewed.notBefore, random: random)
        XCTAssertEqual(random.draws, 1)
        XCTAssertEqual(third.record.chosenForSerial, "02")
    }
}
