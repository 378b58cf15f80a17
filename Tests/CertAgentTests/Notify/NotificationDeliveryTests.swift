@testable import CertAgent
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// Delivery runs on its own queue: `send` returns at once, each channel is tried on its own, a failure is counted and
/// kept for a retry, and nothing is sent once stopping.
final class NotificationDeliveryTests: XCTestCase {
    private final class RecordingChannel: NotificationChannel {
        let displayName: String
        let fails: Bool
        let gate = NSCondition()
        let opened = Atomic<Bool>(true)
        let delivered = Mutex<[NotificationEvent]>([])

        init(_ name: String, fails: Bool = false, opened: Bool = true) {
            displayName = name
            self.fails = fails
            self.opened.store(opened, ordering: .relaxed)
        }

        func open() {
            gate.lock()
            opened.store(true, ordering: .relaxed)
            gate.broadcast()
            gate.unlock()
        }

        func deliver(_ notification: AgentNotification) throws {
            gate.lock()
            while !opened.load(ordering: .relaxed) { gate.wait() }
            gate.unlock()
            if fails { throw NotificationDeliveryError("the far end said no") }
            delivered.withLock { $0.append(notification.event) }
        }
    }

    private let notification = NotificationService.testNotification(now: Date(timeIntervalSince1970: 1_767_225_600))

    func testSendReturnsAtOnceAndEachChannelIsTriedOnItsOwn() {
        let delivery = NotificationDelivery(logger: Logger(label: "test"))
        let slow = RecordingChannel("slow", opened: false)
        let failing = RecordingChannel("failing", fails: true)
        let good = RecordingChannel("good")
        delivery.send([notification], through: [slow, failing, good])
        // Returned while the first channel still blocks: nothing waits for a delivery.
        XCTAssertEqual(delivery.pendingDeliveries, 3)
        // The others do not wait for the one that hangs.
        XCTAssertTrue(eventually(timeout: 10) { good.delivered.withLock { $0 } == [.test] })
        XCTAssertEqual(slow.delivered.withLock { $0 }, [])
        slow.open()
        XCTAssertTrue(eventually(timeout: 10) { slow.delivered.withLock { $0 } == [.test] })
        XCTAssertTrue(eventually(timeout: 10) { delivery.failedAttempts == 1 })
        XCTAssertEqual(delivery.pendingDeliveries, 1, "the failed one waits for its retry in a minute")
    }

    func testNothingIsSentOnceStopping() {
        let stopped = Atomic<Bool>(true)
        let delivery = NotificationDelivery(logger: Logger(label: "test"), isStopped: { stopped.load(ordering: .relaxed) })
        let channel = RecordingChannel("good")
        delivery.send([notification], through: [channel])
        XCTAssertTrue(eventually(timeout: 10) { delivery.pendingDeliveries == 0 })
        XCTAssertEqual(channel.delivered.withLock { $0 }, [])
    }

    /// A stopping daemon waits for the attempt running now (so it never exits under it), but not for a retry that
    /// waits for its time.
    func testWaitIdleWaitsForTheAttemptRunningNotForAWaitingRetry() {
        let delivery = NotificationDelivery(logger: Logger(label: "test"))
        let slow = RecordingChannel("slow", opened: false)
        let failing = RecordingChannel("failing", fails: true)
        delivery.send([notification], through: [slow, failing])
        XCTAssertTrue(eventually(timeout: 10) { delivery.failedAttempts == 1 }, "the failing one now waits for its retry")
        XCTAssertFalse(delivery.waitIdle(until: .now() + 0.2), "the slow one is still running")
        slow.open()
        XCTAssertTrue(delivery.waitIdle(until: .now() + 10), "none running once the slow one is done")
        XCTAssertEqual(slow.delivered.withLock { $0 }, [.test])
        XCTAssertEqual(delivery.pendingDeliveries, 1, "the retry is still pending, and not waited for")
    }
}
