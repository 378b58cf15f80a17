import Foundation
import XCTest
@testable import ACME

final class PollingTests: XCTestCase {
    func testBackOffDoublesUpToMaximum() throws {
        let t = ScriptedTransport()
        let clock = ManualClock()
        for _ in 0..<9 { t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "pending", challengeStatus: "processing")) }
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "valid", challengeStatus: "valid"))
        let client = makeClient(t, clock: clock, polling: PollingPolicy(initialDelay: 0.05, multiplier: 2, maximumDelay: 5, timeout: 300),
                                accountURL: Fixture.accountURL)
        let authz = try client.waitForAuthorization(at: Fixture.b + "/authz/a")
        XCTAssertEqual(authz.status, "valid")
        XCTAssertEqual(authz.identifier, .dns("a.test"))
        XCTAssertEqual(authz.expires, Date(timeIntervalSince1970: 1_751_025_600))
        XCTAssertEqual(clock.sleeps, [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5])
    }

    func testRetryAfterIsHonouredWhenPolling() throws {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.b + "/authz/a",
             Fixture.authz("a", "pending", challengeStatus: "processing", retryAfter: "7"),
             Fixture.authz("a", "pending", challengeStatus: "processing"),
             Fixture.authz("a", "valid", challengeStatus: "valid"))
        let client = makeClient(t, clock: clock, accountURL: Fixture.accountURL)
        _ = try client.waitForAuthorization(at: Fixture.b + "/authz/a")
        XCTAssertEqual(clock.sleeps, [0.05, 7, 0.2])
    }

    func testRetryAfterNeverWaitsPastTheTimeout() {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.b + "/authz/a", thenAlways: Fixture.authz("a", "pending", challengeStatus: "processing", retryAfter: "1000"))
        let client = makeClient(t, clock: clock, polling: PollingPolicy(timeout: 10), accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.waitForAuthorization(at: Fixture.b + "/authz/a")) { error in
            guard case let .timedOut(what, url)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(what, "authorization")
            XCTAssertEqual(url, Fixture.b + "/authz/a")
        }
        XCTAssertEqual(clock.sleeps.count, 2)
        XCTAssertEqual(clock.sleeps[0], 0.05)
        XCTAssertEqual(clock.sleeps[1], 9.95, accuracy: 1e-6)
        XCTAssertEqual(t.log.filter { $0 == "POST /authz/a" }.count, 2, "one last poll at the deadline")
    }

    func testTimeoutWhileOrderStaysProcessing() {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.orderURL, thenAlways: Fixture.order("processing"))
        let client = makeClient(t, clock: clock, polling: PollingPolicy(initialDelay: 1, multiplier: 2, maximumDelay: 4, timeout: 20),
                                accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.waitForOrder(at: Fixture.orderURL)) { error in
            guard case .timedOut("order", Fixture.orderURL)? = error as? ACMEError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(clock.sleeps, [1, 2, 4, 4, 4, 4, 1])
        XCTAssertEqual(clock.sleeps.reduce(0, +), 20)
    }

    func testWaitForOrderUntilReady() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.orderURL, Fixture.order("pending"), Fixture.order("ready"))
        let order = try makeClient(t, accountURL: Fixture.accountURL).waitForOrder(at: Fixture.orderURL, until: "ready")
        XCTAssertEqual(order.status, "ready")
        XCTAssertEqual(order.identifiers, [.dns("a.test"), .dns("b.test")])
        XCTAssertEqual(order.expires, Date(timeIntervalSince1970: 1_750_420_800.123456789))
    }

    func testWaitingForValidOnAnUnfinalizedReadyOrderFailsFast() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.orderURL, thenAlways: Fixture.order("ready"))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).waitForOrder(at: Fixture.orderURL)) { error in
            guard case .orderFailed(_, "ready", let problem)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem?.kind, .orderNotReady)
        }
        XCTAssertEqual(t.log.filter { $0 == "POST /order/1" }.count, 1)
    }

    func testClockSleepErrorAbandonsTheWait() {
        struct Cancelled: Error {}
        final class CancellingClock: ACMEClock {
            func now() -> Date { Date(timeIntervalSince1970: 0) }
            func sleep(seconds: Double) throws { throw Cancelled() }
        }
        let t = ScriptedTransport()
        let client = ACMEClient(directoryURL: ScriptedTransport.directoryURL, transport: t, signer: FakeSigner(),
                                clock: CancellingClock(), accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.waitForOrder(at: Fixture.orderURL)) { XCTAssertTrue($0 is Cancelled) }
        XCTAssertEqual(t.requests.count, 0)
    }
}
