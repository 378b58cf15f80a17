import CertAgent
import Foundation
import TestSupport
import XCTest

/// The fleet's ordering lock and node presence over the in-memory etcd with a manual clock: one holder at a time, a
/// dead node's lock and presence gone with its lease, and never another node's lock released.
final class FleetLockTests: XCTestCase {
    let clock = ManualClock()
    lazy var etcd = InMemoryFleetStore(clock: clock)

    func node(_ name: String, prefix: String = "/fleet/") -> FleetMembership {
        FleetMembership(store: etcd, keys: FleetKeys(prefix: prefix), node: name, leaseSeconds: 15, clock: clock)
    }

    func testOneNodeTakesTheLockAndTheOtherIsToldWhoHoldsIt() throws {
        let a = node("a"), b = node("b")
        let held = try FleetLocking.acquire("shop", membership: a, now: clock.now())
        XCTAssertEqual(held.key, "/fleet/locks/shop")
        XCTAssertThrowsError(try FleetLocking.acquire("shop", membership: b, now: clock.now())) { error in
            XCTAssertEqual((error as? FleetLockBusy)?.holder.node, "a")
            XCTAssertTrue("\(error)".contains("node a is getting this certificate"), "\(error)")
        }
        // Another certificate is free, and a second fleet under another prefix has its own locks.
        XCTAssertNoThrow(try FleetLocking.acquire("blog", membership: b, now: clock.now()))
        XCTAssertNoThrow(try FleetLocking.acquire("shop", membership: node("a", prefix: "/other/"), now: clock.now()))
        XCTAssertEqual(try FleetLocking.holders(membership: a).mapValues(\.node), ["shop": "a", "blog": "b"])
        FleetLocking.release(held, membership: a)
        XCTAssertNoThrow(try FleetLocking.acquire("shop", membership: b, now: clock.now()))
    }

    func testADeadNodesLockAndPresenceVanishWithItsLease() throws {
        let a = node("a"), b = node("b")
        _ = try FleetLocking.acquire("shop", membership: a, now: clock.now())
        try b.join()
        XCTAssertEqual(try a.liveNodes().map(\.node), ["a", "b"])
        // b keeps its lease alive; a stops (killed): nothing renews its lease.
        for _ in 0..<4 {
            clock.advance(by: 4)
            XCTAssertTrue(try b.keepAlive())
        }
        XCTAssertEqual(try b.liveNodes().map(\.node), ["b"])
        XCTAssertNoThrow(try FleetLocking.acquire("shop", membership: b, now: clock.now()))
    }

    func testKeepAliveHoldsTheLockPastTheTTL() throws {
        let a = node("a"), b = node("b")
        _ = try FleetLocking.acquire("shop", membership: a, now: clock.now())
        for _ in 0..<10 {
            clock.advance(by: 5)
            XCTAssertTrue(try a.keepAlive())
        }
        XCTAssertThrowsError(try FleetLocking.acquire("shop", membership: b, now: clock.now()))
    }

    func testALeaseThatExpiredIsReplacedAndSaidSo() throws {
        let a = node("a")
        let first = try a.join()
        clock.advance(by: 20)   // a long pause: the lease expired meanwhile
        XCTAssertFalse(try a.keepAlive())
        XCTAssertNotEqual(try a.currentLease(), first)
        XCTAssertEqual(try a.liveNodes().map(\.node), ["a"])
    }

    func testReleaseNeverRemovesALockAnotherNodeTookSince() throws {
        let a = node("a"), b = node("b")
        let stale = try FleetLocking.acquire("shop", membership: a, now: clock.now())
        clock.advance(by: 16)   // a's lease expires; b takes the lock
        try b.join()
        _ = try FleetLocking.acquire("shop", membership: b, now: clock.now())
        FleetLocking.release(stale, membership: a)
        XCTAssertEqual(try FleetLocking.holders(membership: b)["shop"]?.node, "b")
    }

    func testLeavingRevokesEverythingOfTheNodeAtOnce() throws {
        let a = node("a")
        _ = try FleetLocking.acquire("shop", membership: a, now: clock.now())
        a.leave()
        XCTAssertEqual(etcd.everything.map(\.key), [])
    }

    func testUnreachableEtcdIsThrownAsSuch() throws {
        let a = node("a")
        etcd.setReachable(false)
        XCTAssertThrowsError(try FleetLocking.acquire("shop", membership: a, now: clock.now())) { error in
            guard case FleetStoreError.unreachable = error else { return XCTFail("\(error)") }
        }
        var availability = FleetAvailability()
        XCTAssertTrue(availability.noteUnreachable("no member answered", at: clock.now()))
        XCTAssertFalse(availability.noteUnreachable("no member answered", at: clock.now().addingTimeInterval(30)), "said once per outage")
        XCTAssertTrue(availability.text.contains("renewals wait"), availability.text)
        etcd.setReachable(true)
        XCTAssertNoThrow(try FleetLocking.acquire("shop", membership: a, now: clock.now()))
        XCTAssertTrue(availability.noteReachable(at: clock.now()))
        XCTAssertTrue(availability.isReachable)
    }
}
