import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// Two renewals of one certificate started close together against a slow CA: the second decides again once it holds
/// the issuance lock, sees the certificate the first one stored, and orders nothing (counted on the scripted CA).
final class DecisionUnderLockTests: XCTestCase {
    /// A second certagent "process" on the same store and CA: its own session and a service that waits for the lock,
    /// as the `issue` and `renew` commands do.
    private final class SecondProcess: Sendable {
        let service: RenewalService
        let waiting = DispatchSemaphore(value: 0)

        init(_ bed: ARITestbed) throws {
            let logger = Logger(label: "second")
            let clock = StoppableClock()
            let session = try AgentSession(config: bed.session.config, clock: clock, logger: logger, environment: [:],
                                           transport: bed.server)
            let waiting = self.waiting
            service = RenewalService(session: session, clock: clock,
                                     busyCertificates: .wait(maximumWait: 60) { _ in waiting.signal() }, logger: logger)
            service.connectIfPossible()
        }
    }

    /// Holds the first newOrder request until `release()`: the first renewal has the lock and is in the middle of its
    /// order, as with a slow CA. Later orders pass at once.
    private final class SlowFirstOrder: Sendable {
        let arrived = DispatchSemaphore(value: 0)
        private let proceed = DispatchSemaphore(value: 0)
        private let held = Atomic<Bool>(false)

        init(_ server: ScriptedACMEServer) {
            server.script(beforeNewOrder: { [self] in
                guard !held.exchange(true, ordering: .acquiringAndReleasing) else { return }
                arrived.signal()
                _ = proceed.wait(timeout: .now() + 60)
            })
        }

        func release() { proceed.signal() }
    }

    /// Runs `work` on another thread; `wait()` returns its result.
    private final class Background<Result: Sendable>: Sendable {
        private let result = Mutex<Result?>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(_ work: @escaping @Sendable () -> Result) {
            DispatchQueue.global().async { [self] in
                let value = work()
                result.withLock { $0 = value }
                done.signal()
            }
        }

        func wait(file: StaticString = #filePath, line: UInt = #line) throws -> Result {
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "finished", file: file, line: line)
            return try XCTUnwrap(result.withLock { $0 }, file: file, line: line)
        }
    }

    private func versions(_ bed: ARITestbed) -> [String] {
        let directory = bed.session.store.certificateDirectory(ARITestbed.name) + "/versions"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    func testSecondIssueWaitsForTheFirstThenSeesItsCertificateAndOrdersNothing() throws {
        let bed = try ARITestbed()
        let second = try SecondProcess(bed)
        let slow = SlowFirstOrder(bed.server)
        // Both start as `certagent issue` does: no certificate in the store, so each asks for one.
        let asked = ForcedRenewal(replacing: StoredCertificateState.missing)

        let first = Background { [service = bed.service] in service.process(ARITestbed.name, forcing: asked) }
        XCTAssertEqual(slow.arrived.wait(timeout: .now() + 30), .success, "the first renewal is ordering\n\(bed.log)")
        let secondRun = Background { [service = second.service] in service.process(ARITestbed.name, forcing: asked) }
        XCTAssertEqual(second.waiting.wait(timeout: .now() + 30), .success, "the second one decided to issue, found the lock held and waits")
        XCTAssertEqual(bed.server.placedOrders.count, 0, "the first order is still held at the CA's door")
        slow.release()

        guard case .renewed(let issued, nil) = try first.wait() else { return XCTFail("first:\n\(bed.log)") }
        let outcome = try secondRun.wait()
        guard case .obtainedElsewhere(let elsewhere) = outcome else { return XCTFail("second: \(outcome)\n\(bed.log)") }
        XCTAssertEqual(elsewhere.serialHex, issued.serialHex, "the certificate the first one stored")
        XCTAssertEqual(elsewhere.holderPID, getpid(), "the first one noted its PID in the lock file")
        XCTAssertEqual(elsewhere.description, "\(ARITestbed.name): issued meanwhile by another certagent process (pid \(getpid())); nothing ordered")
        XCTAssertEqual(bed.server.placedOrders.count, 1, "exactly one order reached the CA")
        XCTAssertEqual(bed.server.issued.count, 1)
        XCTAssertEqual(versions(bed).count, 1, "one certificate version in the store: \(versions(bed))")
        XCTAssertEqual(bed.storedLeaf()?.serialHex, issued.serialHex)
        XCTAssertEqual(bed.record().failures, 0)
    }

    func testForcedRenewalWhoseCertificateWasReplacedMeanwhileCountsAsDone() throws {
        let bed = try ARITestbed()
        let original = try bed.issueFirstCertificate()
        let second = try SecondProcess(bed)
        // `certagent renew --force` started while `original` was stored.
        let asked = ForcedRenewal(replacing: original.serialHex)
        let slow = SlowFirstOrder(bed.server)

        let first = Background { [service = bed.service] in service.process(ARITestbed.name, forced: true) }
        XCTAssertEqual(slow.arrived.wait(timeout: .now() + 30), .success, bed.log)
        let secondRun = Background { [service = second.service] in service.process(ARITestbed.name, forcing: asked) }
        XCTAssertEqual(second.waiting.wait(timeout: .now() + 30), .success)
        slow.release()

        guard case .renewed(let issued, nil) = try first.wait() else { return XCTFail("first:\n\(bed.log)") }
        XCTAssertNotEqual(issued.serialHex, original.serialHex)
        let outcome = try secondRun.wait()
        guard case .obtainedElsewhere(let elsewhere) = outcome else { return XCTFail("second: \(outcome)\n\(bed.log)") }
        XCTAssertEqual(elsewhere.serialHex, issued.serialHex)
        XCTAssertEqual(bed.server.placedOrders.count, 2, "the first issuance and one forced renewal; no third order")
        XCTAssertEqual(bed.storedLeaf()?.serialHex, issued.serialHex)

        // A forced renewal asked for the certificate now stored still goes ahead.
        guard case .renewed = second.service.process(ARITestbed.name, forcing: ForcedRenewal(replacing: issued.serialHex)) else {
            return XCTFail(bed.log)
        }
        XCTAssertEqual(bed.server.placedOrders.count, 3)
    }

    func testALockHolderThatStoredNothingLeavesTheWaitingRenewalToOrder() throws {
        let bed = try ARITestbed()
        let second = try SecondProcess(bed)
        // Another process holds the lock (and will store nothing).
        var held: FileLock? = try bed.session.store.lockForIssuance(ARITestbed.name)

        // The daemon does not wait: it reports the certificate busy and its scheduler looks again later.
        guard case .busy(let busy) = bed.service.process(ARITestbed.name) else { return XCTFail(bed.log) }
        XCTAssertEqual(busy.name, ARITestbed.name)
        XCTAssertEqual(bed.server.placedOrders.count, 0)

        let run = Background { [service = second.service] in
            service.process(ARITestbed.name, forcing: ForcedRenewal(replacing: StoredCertificateState.missing))
        }
        XCTAssertEqual(second.waiting.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(bed.server.placedOrders.count, 0, "nothing is ordered while the other process holds the lock")
        XCTAssertNotNil(held)
        held = nil

        let outcome = try run.wait()
        guard case .renewed = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertEqual(bed.server.placedOrders.count, 1, "decided again under the lock: still missing, so ordered")
        XCTAssertEqual(bed.session.store.lastIssuanceHolder(ARITestbed.name), getpid())
    }
}
