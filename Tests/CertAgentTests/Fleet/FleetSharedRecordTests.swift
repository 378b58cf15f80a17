import ACME
@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The shared renewal record (`records/<cert>`) under two writers: each write is a compare-and-swap on the mod revision
/// the writer read, and a conflict is merged — never last-writer-wins.
final class FleetSharedRecordTests: XCTestCase {
    let clock = ManualClock()
    lazy var etcd = InMemoryFleetStore(clock: clock)
    lazy var a = FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: "a", leaseSeconds: 15, clock: clock)
    lazy var b = FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: "b", leaseSeconds: 15, clock: clock)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func testTwoWritersFromTheSameReadKeepBothChanges() throws {
        var start = RenewalRecord()
        start.recordFailure("first failure", at: t0)
        try FleetRecords.save(start, of: "shop", membership: a)
        let readByA = try FleetRecords.read("shop", membership: a)
        let readByB = try FleetRecords.read("shop", membership: b)
        XCTAssertEqual(readByA, readByB)
        // a fetched renewal information; b, from the same read, drew its renewal time.
        var fromA = try XCTUnwrap(readByA.record)
        fromA.recordRenewalInfo(RenewalInfo(windowStart: t0.addingTimeInterval(86_400), windowEnd: t0.addingTimeInterval(2 * 86_400)),
                                certificateID: "aki.serial", at: t0)
        var fromB = try XCTUnwrap(readByB.record)
        fromB.chosenRenewalTime = t0.addingTimeInterval(3600)
        fromB.chosenForSerial = "0a"
        try FleetRecords.save(fromA, of: "shop", base: readByA, membership: a)
        let written = try FleetRecords.save(fromB, of: "shop", base: readByB, membership: b)   // conflicts, merges, writes
        let shared = try XCTUnwrap(try FleetRecords.load("shop", membership: a))
        XCTAssertEqual(written.record, shared)
        XCTAssertEqual(shared.ariCertificateID, "aki.serial", "a's renewal information survived b's write")
        XCTAssertEqual(shared.ariWindow, fromA.ariWindow)
        XCTAssertEqual(shared.chosenRenewalTime, fromB.chosenRenewalTime, "b's chosen time was written")
        XCTAssertEqual(shared.chosenForSerial, "0a")
        XCTAssertEqual(shared.failures, 1)
        XCTAssertEqual(shared.lastError, "first failure")
        // b's next write builds on what it wrote: no conflict, nothing of a's lost.
        var next = shared
        next.recordFailure("second failure", at: t0.addingTimeInterval(60))
        let after = try FleetRecords.save(next, of: "shop", base: written, membership: b)
        XCTAssertEqual(after.record?.failures, 2)
        XCTAssertEqual(after.record?.ariCertificateID, "aki.serial")
    }

    func testARenewalWrittenMeanwhileWinsOverStaleEditsOfTheOldCertificate() throws {
        var start = RenewalRecord()
        start.recordFailure("rate limited", at: t0)
        try FleetRecords.save(start, of: "shop", membership: a)
        let readByA = try FleetRecords.read("shop", membership: a)
        let readByB = try FleetRecords.read("shop", membership: b)
        var renewed = try XCTUnwrap(readByA.record)
        renewed.recordSuccess(at: t0.addingTimeInterval(600))
        try FleetRecords.save(renewed, of: "shop", base: readByA, membership: a)
        var stale = try XCTUnwrap(readByB.record)
        stale.recordFailure("b's view of the old certificate", at: t0.addingTimeInterval(700))
        try FleetRecords.save(stale, of: "shop", base: readByB, membership: b)
        let shared = try XCTUnwrap(try FleetRecords.load("shop", membership: a))
        XCTAssertEqual(shared.lastRenewed, t0.addingTimeInterval(600))
        XCTAssertEqual(shared.failures, 0, "the renewal's fresh record stays")
    }

    func testTwoConcurrentWritersLoseNoWrite() throws {
        try FleetRecords.save(RenewalRecord(), of: "shop", membership: a)
        let rounds = 40
        let (a, b) = (self.a, self.b)
        let t0 = self.t0
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            let membership = writer == 0 ? a : b
            for round in 1...rounds {
                // Each round: read, change its own field, write (as a pass does). A write that met a conflict on every
                // attempt (`FleetRecordContention`: two writers in a tight loop on a loaded machine) is made again
                // from a fresh read, as the node's next pass would; every write that succeeded must survive.
                for _ in 0..<100 {
                    guard let read = try? FleetRecords.read("shop", membership: membership) else { return }
                    var record = read.record ?? RenewalRecord()
                    if writer == 0 { record.nextARICheck = t0.addingTimeInterval(Double(round)) } else { record.chosenRenewalTime = t0.addingTimeInterval(Double(round)) }
                    do {
                        try FleetRecords.save(record, of: "shop", base: read, membership: membership)
                        break
                    } catch is FleetRecordContention {
                        continue
                    } catch {
                        return
                    }
                }
            }
        }
        let shared = try XCTUnwrap(try FleetRecords.load("shop", membership: self.a))
        XCTAssertEqual(shared.nextARICheck, t0.addingTimeInterval(Double(rounds)), "writer a's last change is there")
        XCTAssertEqual(shared.chosenRenewalTime, t0.addingTimeInterval(Double(rounds)), "writer b's last change is there")
    }

    func testMergeTakesWhatThisNodeChangedAndTheRestFromTheOther() {
        var base = RenewalRecord()
        base.recordFailure("one", at: t0)
        var mine = base
        mine.recordFailure("two", retryAfter: t0.addingTimeInterval(3600), at: t0.addingTimeInterval(60))
        mine.deployError = "local only"
        var theirs = base
        theirs.nextARICheck = t0.addingTimeInterval(120)
        let merged = RenewalRecord.merged(mine: mine, base: base, theirs: theirs)
        XCTAssertEqual(merged.failures, 2)
        XCTAssertEqual(merged.lastError, "two")
        XCTAssertEqual(merged.retryAfter, t0.addingTimeInterval(3600))
        XCTAssertEqual(merged.nextARICheck, t0.addingTimeInterval(120))
        XCTAssertNil(merged.deployError, "a node's own fields are not shared")
    }
}
