@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The event engine is pure: the remembered state and the facts at a moment of the manual clock decide what is sent.
/// A 90-day certificate: at risk with max(90/6, 2) = 15 days left.
final class NotificationEngineTests: XCTestCase {
    private let day: TimeInterval = 86_400
    private let settings = NotifyConfig(webhook: WebhookConfig(url: "https://hooks.example.net/x"))

    private func facts(issuedAt start: Date, failures: Int = 0, lastFailure: Date? = nil) -> CertificateFacts {
        var facts = CertificateFacts(name: "example", domains: ["example.com", "www.example.com"])
        facts.serialHex = "01AB"
        facts.notBefore = start
        facts.notAfter = start.addingTimeInterval(90 * day)
        facts.failures = failures
        facts.lastFailure = lastFailure
        facts.lastError = failures > 0 ? "urn:ietf:params:acme:error:unauthorized: 404 for the challenge" : nil
        return facts
    }

    /// Runs the engine like the daemon does after a job, and hands back what was sent (the state is kept by `state`).
    private func pass(_ facts: CertificateFacts, _ state: inout NotificationState, now: Date) -> [AgentNotification] {
        let (events, next) = NotificationEngine.evaluate(facts, state: state, settings: settings, now: now)
        var states = ["example": next]
        let sent = NotificationEngine.combine([("example", events)], states: &states, now: now)
        state = states["example"]!
        return sent
    }

    func testFailureIsToldOnceThenAgainAtRiskThenRecoveredOnce() throws {
        let clock = ManualClock()
        let issued = clock.now()
        var state = NotificationState()
        clock.advance(by: 60 * day)   // renewal due with a third left: 30 days

        // First failure: one renewalFailed.
        var current = facts(issuedAt: issued, failures: 1, lastFailure: clock.now())
        current.retryAt = clock.now().addingTimeInterval(60)
        let first = pass(current, &state, now: clock.now())
        XCTAssertEqual(first.map(\.event), [.renewalFailed])
        XCTAssertEqual(first.first?.certificate, "example")
        XCTAssertEqual(first.first?.since, clock.now())
        XCTAssertEqual(first.first?.nextAttempt, clock.now().addingTimeInterval(60))
        XCTAssertTrue(first.first?.subject.contains("example") ?? false)
        XCTAssertTrue(first.first?.message.contains("404 for the challenge") ?? false)
        XCTAssertTrue(first.first?.message.contains("certagent renew --force example") ?? false)

        // Retries (minutes, hours, days): nothing, as long as it is not at risk.
        for (failures, advance) in [(2, 60.0), (3, 600.0), (4, 6_000.0), (5, day), (6, day), (7, 10 * day)] {
            clock.advance(by: advance)
            current = facts(issuedAt: issued, failures: failures, lastFailure: clock.now())
            XCTAssertEqual(pass(current, &state, now: clock.now()), [], "retry \(failures) sends nothing")
        }

        // Past the at-risk point (less than 15 days left): one more renewalFailed, and no separate atRisk.
        clock.set(issued.addingTimeInterval(75 * day + 60))
        current = facts(issuedAt: issued, failures: 8, lastFailure: clock.now())
        let atRisk = pass(current, &state, now: clock.now())
        XCTAssertEqual(atRisk.map(\.event), [.renewalFailed])
        XCTAssertTrue(atRisk.first?.subject.contains("at risk") ?? false)
        XCTAssertEqual(atRisk.first?.since, issued.addingTimeInterval(60 * day), "since the first failure")
        for _ in 0..<5 {
            clock.advance(by: day)
            current = facts(issuedAt: issued, failures: 9, lastFailure: clock.now())
            XCTAssertEqual(pass(current, &state, now: clock.now()), [], "nothing more while it keeps failing")
        }

        // Success: one recovered, then nothing.
        clock.advance(by: 3_600)
        var renewed = facts(issuedAt: clock.now())
        renewed.serialHex = "02CD"
        renewed.lastRenewed = clock.now()
        let recovered = pass(renewed, &state, now: clock.now())
        XCTAssertEqual(recovered.map(\.event), [.recovered])
        XCTAssertEqual(recovered.first?.since, issued.addingTimeInterval(60 * day))
        clock.advance(by: day)
        XCTAssertEqual(pass(renewed, &state, now: clock.now()), [])
    }

    func testARestartReloadingTheStateRepeatsNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path
        let certificates = try CertificateStore(root: path, webroots: [])
        let store = NotificationStateStore(store: certificates)
        let clock = ManualClock()
        let issued = clock.now()
        clock.advance(by: 61 * day)
        let failing = facts(issuedAt: issued, failures: 1, lastFailure: clock.now())

        var state = store.load("example").state
        XCTAssertEqual(pass(failing, &state, now: clock.now()).count, 1)
        try store.save(state, for: "example")
        XCTAssertTrue(FileManager.default.fileExists(atPath: certificates.keys.document(.notification, of: "example")))

        // A new process: state read back from the file, same facts a minute and a day later.
        for advance in [60.0, day] {
            clock.advance(by: advance)
            var reloaded = store.load("example")
            XCTAssertNil(reloaded.problem)
            XCTAssertEqual(reloaded.state, state)
            XCTAssertEqual(pass(failing, &reloaded.state, now: clock.now()), [], "nothing repeated after a restart")
        }
    }

    func testACorruptStateFileIsReportedAndStartsAfresh() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path
        let certificates = try CertificateStore(root: path, webroots: [])
        let store = NotificationStateStore(store: certificates)
        try FileManager.default.createDirectory(atPath: certificates.keys.certificate("example"), withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: certificates.keys.document(.notification, of: "example")))
        let loaded = store.load("example")
        XCTAssertEqual(loaded.state, NotificationState())
        XCTAssertTrue(loaded.problem?.contains("notify.json") ?? false)
    }

    func testAtRiskWithoutFailuresIsToldOncePerCertificate() {
        let clock = ManualClock()
        let issued = clock.now()
        var state = NotificationState()
        clock.set(issued.addingTimeInterval(74 * day))   // 16 days left: not yet
        XCTAssertEqual(pass(facts(issuedAt: issued), &state, now: clock.now()), [])
        clock.set(issued.addingTimeInterval(76 * day))   // 14 days left
        let sent = pass(facts(issuedAt: issued), &state, now: clock.now())
        XCTAssertEqual(sent.map(\.event), [.atRisk])
        XCTAssertEqual(sent.first?.notAfter, issued.addingTimeInterval(90 * day))
        clock.advance(by: 2 * day)
        XCTAssertEqual(pass(facts(issuedAt: issued), &state, now: clock.now()), [])
    }

    func testTheFloorAppliesToShortLivedCertificates() {
        // A 6-day certificate: a sixth is one day, the floor two days.
        let clock = ManualClock()
        var short = facts(issuedAt: clock.now())
        short.notAfter = clock.now().addingTimeInterval(6 * day)
        XCTAssertFalse(NotificationEngine.isAtRisk(short, settings: settings, now: clock.now().addingTimeInterval(3.9 * day)))
        XCTAssertTrue(NotificationEngine.isAtRisk(short, settings: settings, now: clock.now().addingTimeInterval(4.1 * day)))
        var custom = settings
        custom.atRiskShare = 0.5
        custom.atRiskFloorDays = 0
        XCTAssertTrue(NotificationEngine.isAtRisk(short, settings: custom, now: clock.now().addingTimeInterval(3.1 * day)))
    }

    func testDeployFailureIsToldOncePerStateAndFlappingIsHeldBack() {
        let clock = ManualClock()
        var state = NotificationState()
        var current = facts(issuedAt: clock.now())
        current.deployError = "reload command exited 1"
        XCTAssertEqual(pass(current, &state, now: clock.now()).map(\.event), [.deployFailed])
        clock.advance(by: 300)
        current.deployError = "reload command exited 2"   // another error, same state
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        // It recovers and fails again within the hour: held back, and dropped when it recovers meanwhile.
        clock.advance(by: 300)
        current.deployError = nil
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        clock.advance(by: 300)
        current.deployError = "reload command exited 1"
        XCTAssertEqual(pass(current, &state, now: clock.now()), [], "within an hour of the last one: held back")
        clock.advance(by: 300)
        current.deployError = nil
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        clock.advance(by: 3_600)
        XCTAssertEqual(pass(current, &state, now: clock.now()), [], "the state went away: nothing")
        // A failure that persists past the hour is sent then.
        current.deployError = "reload command exited 1"
        XCTAssertEqual(pass(current, &state, now: clock.now()).map(\.event), [.deployFailed])
    }

    func testSiteMismatchAndEarlyRenewalAreToldOncePerState() {
        let clock = ManualClock()
        let issued = clock.now()
        var state = NotificationState()
        var current = facts(issuedAt: issued)
        current.site = .servesCurrent
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        clock.advance(by: day)
        current.site = .servesOther(detail: "www.example.com serves serial 01AA")
        XCTAssertEqual(pass(current, &state, now: clock.now()).map(\.event), [.siteMismatch])
        clock.advance(by: day)
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        current.site = nil   // not checked this time: the state stays
        clock.advance(by: day)
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        XCTAssertNotNil(state.siteMismatchSince)

        // A window that was over when it was fetched: the CA wants it renewed now.
        current.site = .servesCurrent
        clock.advance(by: day)
        current.renewalWindow = RenewalWindow(start: clock.now().addingTimeInterval(-2 * day), end: clock.now().addingTimeInterval(-day))
        current.renewalWindowFetched = clock.now()
        let early = pass(current, &state, now: clock.now())
        XCTAssertEqual(early.map(\.event), [.earlyRenewalRequested])
        clock.advance(by: 2 * 3_600)
        XCTAssertEqual(pass(current, &state, now: clock.now()), [])
        // An ordinary window in the future is no event.
        var ordinary = facts(issuedAt: issued)
        ordinary.renewalWindow = RenewalWindow(start: clock.now().addingTimeInterval(day), end: clock.now().addingTimeInterval(2 * day))
        ordinary.renewalWindowFetched = clock.now()
        var fresh = NotificationState()
        XCTAssertEqual(pass(ordinary, &fresh, now: clock.now()), [])
    }

    func testSeveralEventsInOnePassMakeOneDigestAtMostDaily() {
        let clock = ManualClock()
        let issued = clock.now()
        clock.set(issued.addingTimeInterval(80 * day))   // at risk
        var current = facts(issuedAt: issued)
        current.deployError = "cp: permission denied"
        var state = NotificationState()
        let sent = pass(current, &state, now: clock.now())
        XCTAssertEqual(sent.map(\.event), [.digest])
        XCTAssertTrue(sent[0].message.contains("permission denied"))
        XCTAssertTrue(sent[0].message.contains("is not renewed"))
        XCTAssertEqual(sent[0].certificate, "example")

        // Within a day, several events again: the single ones.
        clock.advance(by: 2 * 3_600)
        current.deployError = nil
        _ = pass(current, &state, now: clock.now())
        clock.advance(by: 2 * 3_600)
        current.deployError = "cp: permission denied"
        current.site = .servesOther(detail: "old serial")
        let again = pass(current, &state, now: clock.now())
        XCTAssertEqual(again.map(\.event), [.deployFailed, .siteMismatch])

        // Two certificates in one pass (the daemon's start), a day later: one digest naming both.
        clock.advance(by: day)
        var other = facts(issuedAt: issued)
        other.name = "other"
        other.serialHex = "0FFF"
        var states: [String: NotificationState] = ["example": state]
        let (otherEvents, otherState) = NotificationEngine.evaluate(other, state: NotificationState(), settings: settings, now: clock.now())
        var failing = current
        failing.failures = 1
        failing.lastFailure = clock.now()
        failing.site = .servesCurrent
        failing.deployError = nil
        let (exampleEvents, exampleState) = NotificationEngine.evaluate(failing, state: state, settings: settings, now: clock.now())
        states["example"] = exampleState
        states["other"] = otherState
        let combined = NotificationEngine.combine([("example", exampleEvents), ("other", otherEvents)], states: &states, now: clock.now())
        XCTAssertEqual(combined.map(\.event), [.digest])
        XCTAssertNil(combined[0].certificate)
        XCTAssertTrue(combined[0].subject.contains("example, other"))
        XCTAssertEqual(states["other"]?.lastDigest, clock.now())
    }

    func testDeliveryRetriesBackOffForADay() {
        let start = Date(timeIntervalSince1970: 1_767_225_600)
        var now = start
        var waits: [TimeInterval] = []
        var failures = 0
        while true {
            failures += 1
            guard let next = DeliveryRetry.nextAttempt(firstAttempt: start, failures: failures, now: now) else { break }
            waits.append(next.timeIntervalSince(now))
            now = next
        }
        XCTAssertEqual(waits, [60, 600, 3_600, 21_600, 21_600, 21_600])
        XCTAssertLessThanOrEqual(now.timeIntervalSince(start), DeliveryRetry.giveUpAfter)
    }
}
