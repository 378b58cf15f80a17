@testable import CertAgent
import Dispatch
import Foundation
import Synchronization
import XCTest

/// The production timer and executor, briefly and for real.
final class DispatchRenewalSchedulerTests: XCTestCase {
    func testDispatchWakeTimerFiresAtAWallClockDeadline() {
        let timer = DispatchWakeTimer(queue: DispatchQueue(label: "test.timer"), leeway: .milliseconds(1))
        let fired = expectation(description: "fired")
        let firedAt = Mutex<Date?>(nil)
        timer.setHandler {
            firedAt.withLock { $0 = Date() }
            fired.fulfill()
        }
        let deadline = Date().addingTimeInterval(0.05)
        timer.arm(at: deadline)
        wait(for: [fired], timeout: 5)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(firedAt.withLock { $0 }), deadline.addingTimeInterval(-0.005))
        timer.cancel()
    }

    func testDisarmedDispatchWakeTimerDoesNotFire() {
        let timer = DispatchWakeTimer(queue: DispatchQueue(label: "test.timer"), leeway: .milliseconds(1))
        let fired = expectation(description: "must not fire")
        fired.isInverted = true
        timer.setHandler { fired.fulfill() }
        // Far enough ahead that a busy machine cannot delay the disarm past the deadline; watched until well after it.
        timer.arm(at: Date().addingTimeInterval(1))
        timer.disarm()
        wait(for: [fired], timeout: 2)
        timer.cancel()
    }

    func testDispatchWakeTimerWithoutAHandlerIsReleasedCleanly() {
        // Dispatch sources start inactive and are activated only once their handler is set; releasing an inactive source
        // would crash the process, so cancelling (or dropping) a timer that never got a handler must activate it first.
        var cancelled: DispatchWakeTimer? = DispatchWakeTimer(queue: DispatchQueue(label: "test.timer"))
        cancelled?.arm(at: Date().addingTimeInterval(3_600))
        cancelled?.cancel()
        cancelled = nil
        var dropped: DispatchWakeTimer? = DispatchWakeTimer(queue: DispatchQueue(label: "test.timer"))
        XCTAssertNotNil(dropped)
        dropped = nil
        XCTAssertNil(cancelled)
    }

    func testRealThreadsStayWithinTheConcurrencyBound() {
        let active = Mutex(0)
        let peak = Mutex(0)
        let done = expectation(description: "all ran")
        done.expectedFulfillmentCount = 10
        let scheduler = RenewalScheduler(maxConcurrentRenewals: 2) { _ in
            let now = active.withLock { $0 += 1; return $0 }
            peak.withLock { $0 = max($0, now) }
            usleep(5_000)
            active.withLock { $0 -= 1 }
            done.fulfill()
            return Date().addingTimeInterval(86_400)
        }
        var certificates: [String: Date] = [:]
        for index in 0..<10 { certificates["cert\(index)"] = Date().addingTimeInterval(-1) }
        scheduler.update(certificates: certificates)
        wait(for: [done], timeout: 10)
        XCTAssertTrue(scheduler.stop(timeout: 5))
        XCTAssertLessThanOrEqual(peak.withLock { $0 }, 2)
        XCTAssertGreaterThanOrEqual(peak.withLock { $0 }, 1)
    }
}
