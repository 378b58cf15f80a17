@testable import CertAgent
import Foundation
import Synchronization
import XCTest

/// `WorkerThreads` and the daemon's `ThreadRenewalExecutor`: blocking jobs really run side by side, up to the bound.
final class WorkerThreadsTests: XCTestCase {
    /// Counts jobs running at once; the first `width` wait until `width` run together (a barrier, not a timer).
    private final class Running: Sendable {
        private let counts = Mutex<(now: Int, most: Int, started: Int)>((0, 0, 0))
        let width: Int
        init(width: Int) { self.width = width }

        func job() {
            let started = counts.withLock { counts in
                counts.now += 1
                counts.started += 1
                counts.most = max(counts.most, counts.now)
                return counts.started
            }
            if started <= width {
                let deadline = Date().addingTimeInterval(60)
                while counts.withLock({ $0.now }) < width, Date() < deadline { usleep(1_000) }
            }
            usleep(2_000)   // blocking work
            counts.withLock { $0.now -= 1 }
        }

        var most: Int { counts.withLock { $0.most } }
        var started: Int { counts.withLock { $0.started } }
    }

    func testForEachRunsEveryIndexOnceAtMostWidthAtOnce() {
        let running = Running(width: 4)
        let seen = Mutex<[Int]>([])
        WorkerThreads.forEach(count: 10, width: 4) { index in
            running.job()
            seen.withLock { $0.append(index) }
        }
        XCTAssertEqual(seen.withLock { $0 }.sorted(), Array(0..<10))
        XCTAssertEqual(running.most, 4, "four at once (more than this machine's cores), never five")
        WorkerThreads.forEach(count: 0, width: 4) { _ in XCTFail("nothing to run") }
    }

    func testTheDaemonsSchedulerRunsItsBoundOfBlockingJobsAtOnce() {
        let running = Running(width: 4)
        let done = DispatchGroup()
        let scheduler = RenewalScheduler(maxConcurrentRenewals: 4) { _ in
            running.job()
            done.leave()
            return .distantFuture
        }
        for _ in 0..<8 { done.enter() }
        scheduler.update(certificates: Dictionary(uniqueKeysWithValues: (0..<8).map { ("c\($0)", Date.distantPast) }))
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(running.started, 8)
        XCTAssertEqual(running.most, 4)
        XCTAssertTrue(scheduler.stop(timeout: 10))
    }
}
