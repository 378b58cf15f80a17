@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Certificates that cannot be served renew at once (subject to backoff); the admin can always force a renewal.
final class RenewalPolicyStateTests: XCTestCase {
    private let now = RenewalFixtures.start

    func testEveryUnservableStateRenewsAtOnce() throws {
        let leaf = try RenewalFixtures.selfSignedLeaf()
        let cases: [(StoredCertificateState, RenewalReason)] = [
            (.missing, .missing),
            (.unreadable(reason: "truncated PEM"), .unreadable),
            (.keyMismatch(leaf: leaf), .keyMismatch),
            (.namesMissing(["www.renewal.test"], leaf: leaf), .namesMissing),
            (.expired(leaf: leaf), .expired),
        ]
        for (state, reason) in cases {
            for ariSupported in [false, true] {
                let decision = RenewalPolicy().decide(state: state, record: RenewalRecord(), ariSupported: ariSupported,
                                                      now: now, random: ScriptedRandomSource([0.5]))
                XCTAssertEqual(decision.action, .renewNow(reason), "\(state)")
                XCTAssertEqual(decision.wakeAt, now)
                XCTAssertFalse(decision.heldBackByFailures)
            }
        }
    }

    func testUnservableStateAfterFailuresWaitsForTheBackoff() {
        var record = RenewalRecord()
        record.recordFailure("connection refused", at: now)
        record.recordFailure("connection refused", at: now.addingTimeInterval(60))
        let decision = RenewalPolicy().decide(state: .missing, record: record, ariSupported: false,
                                              now: now.addingTimeInterval(120), random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewAt(now.addingTimeInterval(60 + 600), .missing))
        XCTAssertEqual(decision.wakeAt, now.addingTimeInterval(660))
        XCTAssertTrue(decision.heldBackByFailures)
    }

    func testValidLeafIsTimedFromItsOwnDates() throws {
        let leaf = try RenewalFixtures.selfSignedLeaf()
        let decision = RenewalPolicy().decide(state: .valid(leaf: leaf, chain: [leaf]), record: RenewalRecord(),
                                              ariSupported: false, now: leaf.notBefore, random: ScriptedRandomSource([0.5]))
        guard case .renewAt(let time, .lifetimeThreshold) = decision.action else { return XCTFail("\(decision)") }
        let bounds = LifetimeRenewalRule().bounds(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        XCTAssertTrue(bounds.contains(time))
        XCTAssertEqual(decision.record.chosenForSerial, leaf.serialHex)
    }

    func testForcedRenewalBypassesBackoffAndSchedule() throws {
        var record = RenewalRecord()
        for minute in 0..<5 { record.recordFailure("rate limited", retryAfter: now.addingTimeInterval(7 * 86_400),
                                                   at: now.addingTimeInterval(Double(minute) * 60)) }
        let held = RenewalPolicy().decide(state: .missing, record: record, ariSupported: false,
                                          now: now.addingTimeInterval(600), random: ScriptedRandomSource([0.5]))
        XCTAssertTrue(held.heldBackByFailures)

        let forced = RenewalPolicy().decide(state: .missing, record: record, ariSupported: false,
                                            now: now.addingTimeInterval(600), random: ScriptedRandomSource([0.5]), forced: true)
        XCTAssertEqual(forced.action, .renewNow(.forced))
        XCTAssertFalse(forced.heldBackByFailures)

        let fresh = RenewalFixtures.served(lifetime: 90 * RenewalFixtures.day, notBefore: now)
        let forcedValid = RenewalPolicy().decide(serving: fresh, record: record, ariSupported: true, now: now.addingTimeInterval(600),
                                                 random: ScriptedRandomSource([0.5]), forced: true)
        XCTAssertEqual(forcedValid.action, .renewNow(.forced), "a fresh certificate too, when the admin says so")
    }

    func testFailedRenewalInsideTheWindowBacksOff() {
        let certificate = RenewalFixtures.served(lifetime: 90 * RenewalFixtures.day, notBefore: now, ariCertificateID: nil)
        let dueAt = now.addingTimeInterval(61 * RenewalFixtures.day)
        var record = RenewalPolicy().decide(serving: certificate, record: RenewalRecord(), ariSupported: false, now: dueAt,
                                            random: ScriptedRandomSource([0.5])).record
        record.recordFailure("badNonce", at: dueAt)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: false,
                                              now: dueAt.addingTimeInterval(1), random: ScriptedRandomSource([0.5]))
        XCTAssertEqual(decision.action, .renewAt(dueAt.addingTimeInterval(60), .lifetimeThreshold))
        XCTAssertTrue(decision.heldBackByFailures)
    }

    func testForcedRenewalOfACertificateReplacedMeanwhileIsDone() throws {
        let seen = try RenewalFixtures.selfSignedLeaf()
        let replacement = try RenewalFixtures.selfSignedLeaf()
        XCTAssertNotEqual(seen.serialHex, replacement.serialHex)
        let policy = RenewalPolicy()
        func decide(_ state: StoredCertificateState, forcing: ForcedRenewal) -> RenewalDecision {
            policy.decide(state: state, record: RenewalRecord(), ariSupported: false, now: replacement.notBefore,
                          random: ScriptedRandomSource([0.5]), forcing: forcing)
        }
        // `renew --force` started with `seen` stored: while it is still there, the renewal is forced.
        XCTAssertEqual(decide(.valid(leaf: seen, chain: [seen]), forcing: ForcedRenewal(replacing: seen.serialHex)).action,
                       .renewNow(.forced))
        // Another process replaced it meanwhile: the request is fulfilled, and the new certificate is scheduled as usual.
        let replaced = decide(.valid(leaf: replacement, chain: [replacement]), forcing: ForcedRenewal(replacing: seen.serialHex))
        guard case .renewAt(_, .lifetimeThreshold) = replaced.action else { return XCTFail("\(replaced)") }
        // `issue` started with no certificate: one stored meanwhile fulfils it; a still missing or unusable one does not.
        let nothingSeen = ForcedRenewal(replacing: StoredCertificateState.missing)
        XCTAssertNil(nothingSeen.replacing)
        XCTAssertTrue(nothingSeen.isFulfilled(by: .valid(leaf: replacement, chain: [replacement])))
        guard case .renewAt = decide(.valid(leaf: replacement, chain: [replacement]), forcing: nothingSeen).action else {
            return XCTFail("a certificate stored meanwhile is not ordered again")
        }
        XCTAssertEqual(decide(.missing, forcing: nothingSeen).action, .renewNow(.forced))
        XCTAssertEqual(decide(.expired(leaf: replacement), forcing: nothingSeen).action, .renewNow(.forced),
                       "an unusable certificate never counts as the one asked for")
    }
}
