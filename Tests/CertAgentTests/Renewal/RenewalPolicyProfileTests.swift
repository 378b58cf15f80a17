@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// A profile changed in the config renews early, like a changed name list; an unknown (unrecorded) profile does not.
final class RenewalPolicyProfileTests: XCTestCase {
    private let day = RenewalFixtures.day
    private let hour = RenewalFixtures.hour
    private let facts = { (profile: String?) in IssuanceFacts(directoryURL: "https://ca.test/dir", profile: profile) }

    func testProfileChangeIsDetectedOnlyAgainstARecordedProfile() {
        XCTAssertEqual(ProfileChange.between(configured: "shortlived", facts: facts("classic")),
                       ProfileChange(configured: "shortlived", issued: "classic"))
        XCTAssertEqual(ProfileChange.between(configured: "tlsserver", facts: facts(nil)),
                       ProfileChange(configured: "tlsserver", issued: nil), "from the CA's default to a named profile")
        XCTAssertEqual(ProfileChange.between(configured: nil, facts: facts("shortlived")),
                       ProfileChange(configured: nil, issued: "shortlived"), "a profile removed from the config is a change too")
        XCTAssertNil(ProfileChange.between(configured: "tlsserver", facts: facts("tlsserver")))
        XCTAssertNil(ProfileChange.between(configured: nil, facts: facts(nil)))
        XCTAssertNil(ProfileChange.between(configured: "tlsserver", facts: nil),
                     "a version stored before issuance facts existed: unknown is not a change")
    }

    func testChangedProfileRenewsNowLongBeforeTheRenewalPoint() {
        let clock = ManualClock(RenewalFixtures.start)
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now())
        let policy = RenewalPolicy()
        clock.advance(by: 2 * day)
        let unchanged = policy.decide(serving: certificate, record: RenewalRecord(), ariSupported: false, now: clock.now(),
                                      random: ScriptedRandomSource([0.5]),
                                      profileChange: ProfileChange.between(configured: "classic", facts: facts("classic")))
        XCTAssertEqual(unchanged.action, .renewAt(certificate.notBefore.addingTimeInterval(60 * day), .lifetimeThreshold))

        let changed = policy.decide(serving: certificate, record: RenewalRecord(), ariSupported: false, now: clock.now(),
                                    random: ScriptedRandomSource([0.5]),
                                    profileChange: ProfileChange.between(configured: "shortlived", facts: facts("classic")))
        XCTAssertEqual(changed.action, .renewNow(.profileChanged))
        XCTAssertEqual(changed.wakeAt, clock.now())
        XCTAssertEqual(RenewalReason.profileChanged.description, "the configured profile is not the one the certificate was issued under")
    }

    func testChangedProfileWinsOverAnARIWindowStillFarAway() {
        let clock = ManualClock(RenewalFixtures.start)
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now())
        var record = RenewalRecord()
        record.ariCertificateID = certificate.ariCertificateID
        record.ariWindow = RenewalWindow(start: clock.now().addingTimeInterval(59 * day), end: clock.now().addingTimeInterval(61 * day))
        record.nextARICheck = clock.now().addingTimeInterval(6 * hour)
        let decision = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: true, now: clock.now(),
                                              random: ScriptedRandomSource([0.5]),
                                              profileChange: ProfileChange(configured: "tlsserver", issued: nil))
        XCTAssertEqual(decision.action, .renewNow(.profileChanged))
    }

    func testFailedProfileRenewalsBackOffLikeAnyOther() {
        let clock = ManualClock(RenewalFixtures.start)
        let certificate = RenewalFixtures.served(lifetime: 90 * day, notBefore: clock.now())
        clock.advance(by: day)
        var record = RenewalRecord()
        record.recordFailure("the CA does not offer the profile", at: clock.now())
        let change = ProfileChange(configured: "nonexistent", issued: "classic")
        let held = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: false, now: clock.now(),
                                          random: ScriptedRandomSource([0.5]), profileChange: change)
        guard case .renewAt(let retryAt, .profileChanged) = held.action else { return XCTFail("\(held)") }
        XCTAssertTrue(held.heldBackByFailures)
        XCTAssertGreaterThan(retryAt, clock.now(), "a CA refusing the profile is not asked again at once")
        clock.set(retryAt)
        let retried = RenewalPolicy().decide(serving: certificate, record: record, ariSupported: false, now: clock.now(),
                                             random: ScriptedRandomSource([0.5]), profileChange: change)
        XCTAssertEqual(retried.action, .renewNow(.profileChanged))
    }

    func testStateDecisionPassesTheChangeOnForAUsableCertificate() throws {
        let leaf = try RenewalFixtures.selfSignedLeaf()
        let decision = RenewalPolicy().decide(state: .valid(leaf: leaf, chain: [leaf]), record: RenewalRecord(), ariSupported: false,
                                              now: leaf.notBefore.addingTimeInterval(hour), random: ScriptedRandomSource([0.5]),
                                              forcing: nil, profileChange: ProfileChange(configured: "shortlived", issued: "classic"))
        XCTAssertEqual(decision.action, .renewNow(.profileChanged))
        let forced = RenewalPolicy().decide(state: .valid(leaf: leaf, chain: [leaf]), record: RenewalRecord(), ariSupported: false,
                                            now: leaf.notBefore.addingTimeInterval(hour), random: ScriptedRandomSource([0.5]),
                                            forced: true, profileChange: ProfileChange(configured: "shortlived", issued: "classic"))
        XCTAssertEqual(forced.action, .renewNow(.forced), "an admin's forced renewal is still reported as forced")
    }
}
