import ACME
import CertAgent
import Foundation
import TestSupport
import XCTest

/// `status --check`: each state's level (0 OK, 1 WARNING, 2 CRITICAL) and the summary line, against a manual clock.
final class StatusCheckTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let day: TimeInterval = 86_400

    /// A 90-day certificate with `left` seconds to go.
    private func input(_ name: String = "shop", state: CertificateState = .valid, left: TimeInterval = 60 * 86_400,
                       lifetime: TimeInterval = 90 * 86_400, failures: Int = 0, deployFailing: Bool = false,
                       site: [SiteServed] = [.current]) -> StatusCheck.Input {
        let notAfter = now.addingTimeInterval(left)
        return StatusCheck.Input(name: name, state: state, notBefore: notAfter.addingTimeInterval(-lifetime), notAfter: notAfter,
                                 failures: failures, deployFailing: deployFailing,
                                 site: site.enumerated().map { index, served in
                                     SiteNameResult(name: index == 0 ? "\(name).test" : "www\(index).\(name).test", address: "x:443", served: served,
                                                    reason: served == .unreachable ? .refused : nil, checkedAt: now)
                                 })
    }

    private func level(_ input: StatusCheck.Input) -> StatusCheck.Level {
        StatusCheck.report([input], now: now).level
    }

    func testEveryStateHasItsLevel() {
        XCTAssertEqual(level(input()), .ok)
        for state in [CertificateState.missing, .unreadable, .keyMismatch, .namesMissing, .expired, .revoked] {
            XCTAssertEqual(level(input(state: state)), .critical, "\(state)")
        }
        XCTAssertEqual(level(input(state: .notConfigured, site: [])), .ok, "not configured: not watched")
        XCTAssertEqual(level(input(failures: 1)), .warning, "a failure being retried")
        XCTAssertEqual(level(input(deployFailing: true)), .warning)
        XCTAssertEqual(level(input(site: [.current, .other])), .warning, "a site serving another certificate")
        XCTAssertEqual(level(input(site: [.unreachable])), .warning)
        XCTAssertEqual(level(input(site: [.unchecked])), .ok, "not checked yet is not a problem")
        XCTAssertEqual(level(input(failures: 3, site: [.other])), .warning)
        XCTAssertEqual(StatusCheck.Level.allCases.map(\.rawValue), [0, 1, 2, 3], "the plugin exit codes")
    }

    func testAtRiskIsLessThanASixthOfTheLifetimeWithATwoDayFloor() {
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        XCTAssertEqual(NotifyConfig().atRiskLead(notBefore: start, notAfter: start.addingTimeInterval(90 * day)), 15 * day)
        XCTAssertEqual(NotifyConfig().atRiskLead(notBefore: start, notAfter: start.addingTimeInterval(6 * day)), 2 * day, "short-lived: the floor")
        XCTAssertEqual(level(input(left: 15 * day)), .ok, "exactly a sixth left: not yet")
        XCTAssertEqual(level(input(left: 15 * day - 1)), .critical)
        XCTAssertEqual(level(input(left: 2 * day, lifetime: 6 * day)), .ok)
        XCTAssertEqual(level(input(left: 2 * day - 60, lifetime: 6 * day)), .critical)
        XCTAssertEqual(level(input(left: 1 * day, failures: 4)), .critical, "at risk outranks the retried failure")
    }

    func testSummaryLines() {
        let ok = StatusCheck.report([input("shop"), input("blog"), input("wiki")], now: now)
        XCTAssertEqual(ok.summary, "CERTAGENT OK - 3 certificates valid, sites serve current")
        XCTAssertEqual(ok.details.count, 3)
        XCTAssertTrue(ok.details[0].hasPrefix("shop: valid, expires "), ok.details[0])

        let unchecked = StatusCheck.report([input("shop", site: [.unchecked])], now: now)
        XCTAssertEqual(unchecked.summary, "CERTAGENT OK - 1 certificate valid, sites not all checked yet")

        let bad = StatusCheck.report([input("blog", failures: 2), input("shop", left: day + 3600)], now: now)
        XCTAssertEqual(bad.level, .critical)
        XCTAssertEqual(bad.summary, "CERTAGENT CRITICAL - shop expires in 1 day; blog renewal failing (2 failures, retrying)")

        let site = StatusCheck.report([input("shop", site: [.current, .other, .unreachable])], now: now)
        XCTAssertEqual(site.summary, "CERTAGENT WARNING - shop site serves another certificate (www1.shop.test); shop site unreachable (www2.shop.test: connection refused)")

        let hours = StatusCheck.report([input("shop", left: 7 * 3600)], now: now)
        XCTAssertEqual(hours.summary, "CERTAGENT CRITICAL - shop expires in 7 hours")
        let expired = StatusCheck.report([input("shop", state: .expired, left: -day)], now: now)
        XCTAssertEqual(expired.summary, "CERTAGENT CRITICAL - shop expired at \(TimeText.human(now.addingTimeInterval(-day)))")
        XCTAssertEqual(StatusCheck.report([input("shop", state: .missing)], now: now).summary, "CERTAGENT CRITICAL - shop has no certificate yet")
    }
}
