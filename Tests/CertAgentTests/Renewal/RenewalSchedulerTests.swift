@testable import CertAgent
import Dispatch
import Foundation
import Synchronization
import TestSupport
import XCTest

/// The scheduler's logic under a manual clock, a manual timer and a manual executor: nothing runs unless the test
/// says so, and no time passes unless the test moves the clock.
final class RenewalSchedulerTests: XCTestCase {
    private let start = RenewalFixtures.start

    /// A scheduler whose work records each run and returns `next(run)` as its next due time.
    private final class Harness: Sendable {
        let clock: ManualClock
        let timer = ManualWakeTimer()
        let executor = ManualRenewalExecutor()
        let runs = Mutex<[RenewalRun]>([])
        let next: Mutex<@Sendable (RenewalRun) -> Date>
        let maxRunning = Mutex(0)
        private let scheduler = Mutex<RenewalScheduler?>(nil)

        init(clock: ManualClock, maxConcurrent: Int = 2) {
            self.clock = clock
            let farFuture = clock.now().addingTimeInterval(365 * 86_400)
            next = Mutex({ _ in farFuture })
            let created = RenewalScheduler(clock: clock, maxConcurrentRenewals: maxConcurrent, timer: { [timer] _ in timer },
                                           executor: executor) { [self] run in self.perform(run) }
            scheduler.withLock { $0 = created }
        }

        var subject: RenewalScheduler { scheduler.withLock { $0! } }
        var names: [String] { runs.withLock { $0.map(\.name) } }

        private func perform(_ run: RenewalRun) -> Date {
            let running = subject.running.count
            maxRunning.withLock { $0 = max($0, running) }
            runs.withLock { $0.append(run) }
            return next.withLock { $0 }(run)
        }
    }

    func testNothingScheduledArmsNoTimer() {
        let harness = Harness(clock: ManualClock(start))
        harness.subject.update(certificates: [:])
        XCTAssertNil(harness.timer.armedAt, "no busy loop: nothing to wake for")
        XCTAssertNil(harness.subject.nextDue)
        XCTAssertEqual(harness.executor.pendingCount, 0)
    }

    func testTimerIsArmedForTheEarliestAndCertificatesRunInOrder() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        let scheduler = harness.subject
        scheduler.update(certificates: ["c": start.addingTimeInterval(300), "a": start.addingTimeInterval(100),
                                        "b": start.addingTimeInterval(200)])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(100))
        XCTAssertEqual(scheduler.nextDue?.name, "a")
        XCTAssertEqual(harness.executor.pendingCount, 0, "nothing due yet")

        harness.timer.fire()   // early (spurious) wake-up: nothing is due, the timer is re-armed
        XCTAssertEqual(harness.executor.pendingCount, 0)
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(100))

        for (name, offset) in [("a", 100.0), ("b", 200.0), ("c", 300.0)] {
            clock.set(start.addingTimeInterval(offset))
            harness.timer.fire()
            XCTAssertEqual(harness.executor.pendingCount, 1, name)
            harness.executor.runAll()
        }
        XCTAssertEqual(harness.names, ["a", "b", "c"])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(300 + 3_600), "a year away, so at most maximumSleep ahead")
        XCTAssertEqual(scheduler.schedule["a"], start.addingTimeInterval(365 * 86_400), "work's answer is the next due time")
    }

    func testTenDueCertificatesNeverRunMoreThanTwoAtOnce() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        var certificates: [String: Date] = [:]
        for index in 0..<10 { certificates[String(format: "cert%02d", index)] = start.addingTimeInterval(Double(index - 10)) }
        harness.subject.update(certificates: certificates)

        XCTAssertEqual(harness.executor.pendingCount, 2)
        XCTAssertEqual(harness.subject.running.count, 2)
        XCTAssertNil(harness.timer.armedAt, "the rest wait for a slot, not for the timer")
        var completed = 0
        while harness.executor.runNext() {
            completed += 1
            XCTAssertLessThanOrEqual(harness.subject.running.count, 2)
            XCTAssertLessThanOrEqual(harness.executor.pendingCount, 2)
        }
        XCTAssertEqual(completed, 10)
        XCTAssertEqual(harness.maxRunning.withLock { $0 }, 2)
        XCTAssertEqual(harness.names, (0..<10).map { String(format: "cert%02d", $0) }, "most overdue first")
        XCTAssertEqual(harness.subject.running, [])
        XCTAssertNotNil(harness.timer.armedAt)
    }

    func testUpdateAddsReschedulesAndRemoves() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        let scheduler = harness.subject
        scheduler.update(certificates: ["a": start.addingTimeInterval(100), "b": start.addingTimeInterval(200)])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(100))

        // SIGHUP: "a" left the config, "c" is new and due earlier, "b" moved.
        scheduler.update(certificates: ["b": start.addingTimeInterval(150), "c": start.addingTimeInterval(50)])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(50))
        XCTAssertEqual(Set(scheduler.schedule.keys), ["b", "c"])

        clock.set(start.addingTimeInterval(1_000))
        harness.timer.fire()
        harness.executor.runAll()
        XCTAssertEqual(harness.names, ["c", "b"], "the removed certificate never runs")
    }

    func testCertificateRemovedWhileRunningIsNotRescheduled() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        harness.subject.update(certificates: ["a": start, "b": start.addingTimeInterval(500)])
        XCTAssertEqual(harness.subject.running, ["a"])
        harness.subject.update(certificates: ["b": start.addingTimeInterval(500)])
        harness.executor.runAll()
        XCTAssertEqual(harness.names, ["a"])
        XCTAssertNil(harness.subject.schedule["a"])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(500))
    }

    func testWorkAskingToRunAgainAtOnceIsHeldToTheMinimumDelay() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        harness.next.withLock { $0 = { _ in .distantPast } }
        harness.subject.update(certificates: ["a": start])
        harness.executor.runAll()
        XCTAssertEqual(harness.names, ["a"], "no busy loop")
        XCTAssertEqual(harness.subject.schedule["a"], start.addingTimeInterval(60))
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(60))
    }

    func testTriggerNowRunsForcedFirstAndReportsUnknownNames() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock, maxConcurrent: 1)
        harness.subject.update(certificates: ["a": start.addingTimeInterval(-10), "b": start.addingTimeInterval(86_400)])
        XCTAssertEqual(harness.subject.running, ["a"])
        XCTAssertEqual(harness.subject.triggerNow(["b", "nope"]), ["nope"])
        harness.executor.runAll()
        XCTAssertEqual(harness.runs.withLock { $0 }, [RenewalRun(name: "a", forced: false), RenewalRun(name: "b", forced: true)])

        // Forcing a running certificate runs it again, forced, after the current run.
        harness.subject.triggerNow(["a"])
        XCTAssertEqual(harness.subject.running, ["a"])
        harness.subject.triggerNow(["a"])
        harness.executor.runAll()
        XCTAssertEqual(harness.runs.withLock { Array($0.suffix(2)) }, [RenewalRun(name: "a", forced: true), RenewalRun(name: "a", forced: true)])
    }

    func testClockJumpIsNoticedWhenTheTimerFires() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock)
        harness.subject.update(certificates: ["a": start.addingTimeInterval(10 * 86_400)])
        XCTAssertEqual(harness.timer.armedAt, start.addingTimeInterval(3_600), "sleeps at most maximumSleep")
        clock.advance(by: 11 * 86_400)   // the VM was suspended for eleven days
        harness.timer.fire()
        XCTAssertEqual(harness.executor.runAll(), 1)
        XCTAssertEqual(harness.names, ["a"])
    }

    func testStopCancelsTheTimerAndStartsNothingMore() {
        let clock = ManualClock(start)
        let harness = Harness(clock: clock, maxConcurrent: 1)
        harness.subject.update(certificates: ["a": start, "b": start])
        XCTAssertFalse(harness.subject.stop(timeout: 0.05), "one job is still running")
        XCTAssertTrue(harness.timer.isCancelled)
        harness.executor.runAll()
        XCTAssertEqual(harness.names, ["a"], "b is not started after stop")
        XCTAssertTrue(harness.subject.stop(timeout: 0.05))
        harness.subject.update(certificates: ["c": start])
        XCTAssertEqual(harness.executor.pendingCount, 0)
    }
}
