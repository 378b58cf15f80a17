import Etcd
import Foundation
import Synchronization
import TestSupport
import XCTest

/// Every operation against a real one-member etcd over plain HTTP (shared by the tests of this class; each test uses
/// keys of its own).
final class EtcdClientTests: XCTestCase {
    nonisolated(unsafe) private static var sharedCluster: EtcdCluster?

    override class func tearDown() {
        sharedCluster?.shutdown()
        sharedCluster = nil
        super.tearDown()
    }

    private var cluster: EtcdCluster!
    private var client: EtcdClient!
    /// A key prefix of this test's own.
    private var prefix: String!

    override func setUpWithError() throws {
        if Self.sharedCluster == nil { Self.sharedCluster = try EtcdCluster(members: 1, tls: false) }
        cluster = Self.sharedCluster
        client = try EtcdClient(configuration: EtcdConfiguration(endpoints: cluster.clientURLs))
        prefix = "/\(name.filter { $0.isLetter })/"
    }

    private func key(_ name: String) -> [UInt8] { bytes(prefix + name) }

    func testPutRangeAndDeleteRange() throws {
        let first = try client.put(key: key("a"), value: bytes("1"))
        XCTAssertNil(first.prevKV)
        let second = try client.put(key: key("a"), value: bytes("2"), prevKV: true)
        XCTAssertEqual(second.prevKV?.valueText, "1")
        XCTAssertEqual(second.header.revision, first.header.revision + 1)
        try client.put(key: key("b"), value: [0, 0xFF, 0x0A])   // any bytes
        try client.put(key: key("c"), value: bytes("3"))
        try client.put(key: bytes(prefix.dropLast() + "0"), value: bytes("outside the prefix"))

        let one = try client.range(.key(prefix + "a"))
        XCTAssertEqual(one.kvs.count, 1)
        let a = one.kvs[0]
        XCTAssertEqual(a.keyText, prefix + "a")
        XCTAssertEqual(a.valueText, "2")
        XCTAssertEqual(a.version, 2)
        XCTAssertEqual(a.createRevision, first.header.revision)
        XCTAssertEqual(a.modRevision, second.header.revision)

        let all = try client.range(.prefix(prefix))
        XCTAssertEqual(all.kvs.map(\.keyText), ["a", "b", "c"].map { prefix + $0 })
        XCTAssertEqual(all.kvs[1].value, [0, 0xFF, 0x0A])
        XCTAssertEqual(all.count, 3)
        XCTAssertFalse(all.more)

        let limited = try client.range(.prefix(prefix), limit: 2, keysOnly: true)
        XCTAssertEqual(limited.kvs.map(\.keyText), ["a", "b"].map { prefix + $0 })
        XCTAssertTrue(limited.kvs.allSatisfy { $0.value.isEmpty })
        XCTAssertTrue(limited.more)
        XCTAssertEqual(limited.count, 3)

        // The store as it was after the first put.
        let past = try client.range(.key(prefix + "a"), revision: first.header.revision)
        XCTAssertEqual(past.kvs.map(\.valueText), ["1"])
        XCTAssertEqual(try client.range(.key(prefix + "missing")).kvs, [])

        let deleted = try client.deleteRange(.prefix(prefix), prevKV: true)
        XCTAssertEqual(deleted.deleted, 3)
        XCTAssertEqual(deleted.prevKVs.map(\.valueText), ["2", String(decoding: [0, 0xFF, 0x0A], as: UTF8.self), "3"])
        XCTAssertEqual(try client.range(.prefix(prefix)).count, 0)
        XCTAssertEqual(try client.deleteRange(.key(prefix + "a")).deleted, 0)

        // A future revision is refused with etcd's words and code, naming the member.
        XCTAssertThrowsError(try client.range(.key(prefix + "a"), revision: 1 << 40)) { error in
            guard case .rejected(let endpoint, let code, let message)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, cluster.clientURLs[0])
            XCTAssertEqual(code, 11)
            XCTAssertTrue(message.contains("future revision"), message)
        }
    }

    func testTransactionsCompareAndBranch() throws {
        let lock = key("lock")
        // Create-if-absent: the first succeeds, the second runs the failure branch and sees the holder.
        let take = try client.txn(compare: [.absent(lock)], success: [.put(key: lock, value: bytes("node1"))],
                                  failure: [.range(.key(lock))])
        XCTAssertTrue(take.succeeded)
        guard case .put = take.responses.first else { return XCTFail("\(take.responses)") }
        let again = try client.txn(compare: [.absent(lock)], success: [.put(key: lock, value: bytes("node2"))],
                                   failure: [.range(.key(lock))])
        XCTAssertFalse(again.succeeded)
        guard case .range(let holder)? = again.responses.first else { return XCTFail("\(again.responses)") }
        XCTAssertEqual(holder.kvs.first?.valueText, "node1")
        let modRevision = try XCTUnwrap(holder.kvs.first?.modRevision)

        // Compare-and-swap on the mod revision: a stale revision fails, the current one wins.
        let stale = try client.txn(compare: [.modRevision(lock, .equal, modRevision - 1)], success: [.put(key: lock, value: bytes("x"))])
        XCTAssertFalse(stale.succeeded)
        XCTAssertEqual(stale.responses, [])
        let swap = try client.txn(compare: [.modRevision(lock, .equal, modRevision)],
                                  success: [.put(key: lock, value: bytes("node1-renewed"), prevKV: true), .range(.key(lock))])
        XCTAssertTrue(swap.succeeded)
        guard swap.responses.count == 2, case .put(let put) = swap.responses[0], case .range(let after) = swap.responses[1] else {
            return XCTFail("\(swap.responses)")
        }
        XCTAssertEqual(put.prevKV?.valueText, "node1")
        XCTAssertEqual(after.kvs.first?.valueText, "node1-renewed")

        // Value, version and create-revision comparisons, and a delete in a branch.
        XCTAssertTrue(try client.txn(compare: [.value(lock, .equal, bytes("node1-renewed")), .version(lock, .equal, 2),
                                               .createRevision(lock, .greater, 0)], success: []).succeeded)
        XCTAssertFalse(try client.txn(compare: [.value(lock, .notEqual, bytes("node1-renewed"))], success: []).succeeded)
        XCTAssertTrue(try client.txn(compare: [.version(lock, .less, 3)], success: []).succeeded)
        let release = try client.txn(compare: [.value(lock, .equal, bytes("node1-renewed"))], success: [.deleteRange(.key(lock), prevKV: true)])
        guard case .deleteRange(let deleted)? = release.responses.first else { return XCTFail("\(release.responses)") }
        XCTAssertEqual(deleted.deleted, 1)
        XCTAssertEqual(try client.range(.key(prefix + "lock")).count, 0)
    }

    func testCreateIfAbsentRaceHasExactlyOneWinner() throws {
        // Two clients (two connections) race for each of 20 locks at once: exactly one wins each.
        let other = try EtcdClient(configuration: EtcdConfiguration(endpoints: cluster.clientURLs))
        let clients = [client!, other]
        let wins = Mutex<[Int: [String]]>([:])
        let failures = Mutex<[String]>([])
        let prefix: String = prefix
        DispatchQueue.concurrentPerform(iterations: 40) { attempt in
            let lockNumber = attempt / 2
            let contender = "node\(attempt % 2)"
            let lock = bytes(prefix + "lock\(lockNumber)")
            do {
                let answer = try clients[attempt % 2].txn(compare: [.absent(lock)], success: [.put(key: lock, value: bytes(contender))],
                                                          failure: [.range(.key(lock))])
                if answer.succeeded { wins.withLock { $0[lockNumber, default: []].append(contender) } }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let final = wins.withLock { $0 }
        XCTAssertEqual(final.count, 20, "every lock was won")
        for lockNumber in 0..<20 {
            let winners = final[lockNumber] ?? []
            XCTAssertEqual(winners.count, 1, "lock \(lockNumber): \(winners)")
            XCTAssertEqual(try client.range(.key(prefix + "lock\(lockNumber)")).kvs.first?.valueText, winners.first)
        }
    }

    func testLeaseExpiryDeletesBoundKeys() throws {
        let lease = try client.leaseGrant(ttl: 1)
        XCTAssertGreaterThanOrEqual(lease.ttl, 1)
        try client.put(key: key("node"), value: bytes("alive"), lease: lease.id)
        XCTAssertEqual(try client.range(.key(prefix + "node")).kvs.first?.lease, lease.id)
        // etcd's shortest lease lives about 1.5 election timeouts (2 s here); none is renewed.
        XCTAssertTrue(eventually(timeout: 10) { ((try? self.client.range(.key(self.prefix + "node")).count) ?? -1) == 0 },
                      "the key went with its lease")
        XCTAssertThrowsError(try client.leaseKeepAlive(id: lease.id)) { error in
            XCTAssertEqual(error as? EtcdError, .leaseNotFound(id: lease.id))
        }
        XCTAssertThrowsError(try client.leaseRevoke(id: lease.id)) { error in
            XCTAssertEqual(error as? EtcdError, .leaseNotFound(id: lease.id))
        }
    }

    func testKeepAliveKeepsBoundKeysAndRevokeDeletesThem() throws {
        let lease = try client.leaseGrant(ttl: 2)
        try client.put(key: key("node"), value: bytes("alive"), lease: lease.id)
        // Twice the TTL, renewed every 0.5 s.
        let until = Date().addingTimeInterval(Double(lease.ttl) * 2)
        while Date() < until {
            let renewed = try client.leaseKeepAlive(id: lease.id)
            XCTAssertEqual(renewed.id, lease.id)
            XCTAssertEqual(renewed.ttl, lease.ttl)
            usleep(500_000)
        }
        XCTAssertEqual(try client.range(.key(prefix + "node")).kvs.first?.valueText, "alive")
        try client.leaseRevoke(id: lease.id)
        XCTAssertEqual(try client.range(.key(prefix + "node")).count, 0)
    }

    func testWatchDeliversPutsAndDeletesInOrder() throws {
        let start = try client.put(key: key("before"), value: bytes("0")).header.revision
        let recorder = WatchRecorder()
        // From a past revision: the put before the watch started is delivered too.
        let watch = client.watch(.prefix(prefix), fromRevision: start, prevKV: true, handler: recorder.handler)
        defer { watch.cancel() }
        var expected = ["PUT \(prefix!)before=0"]
        for i in 1...5 {
            try client.put(key: key("k\(i % 2)"), value: bytes("\(i)"))
            expected.append("PUT \(prefix!)k\(i % 2)=\(i)")
        }
        _ = try client.txn(compare: [], success: [.put(key: key("t1"), value: bytes("a")), .put(key: key("t2"), value: bytes("b"))])
        expected += ["PUT \(prefix!)t1=a", "PUT \(prefix!)t2=b"]
        try client.deleteRange(.key(prefix + "k1"))
        expected.append("DELETE \(prefix!)k1=")
        try client.put(key: bytes("/elsewhere"), value: bytes("not watched"))

        XCTAssertTrue(recorder.waitForEvents(expected.count), "\(recorder.all)")
        usleep(200_000)
        XCTAssertEqual(summary(recorder.events), expected)
        let revisions = recorder.events.map(\.kv.modRevision)
        XCTAssertEqual(revisions, revisions.sorted(), "in revision order")
        // The delete carries the key as it was (prevKV).
        XCTAssertEqual(recorder.events.last?.prevKV?.valueText, "5")
        guard case .connected(let endpoint, let next)? = recorder.all.first else { return XCTFail("\(recorder.all)") }
        XCTAssertEqual(endpoint, cluster.clientURLs[0])
        XCTAssertEqual(next, start)
        XCTAssertEqual(watch.nextRevision, revisions.last! + 1)

        // Cancelled: the watch ends within a few seconds, and reports nothing more.
        let cancelled = Date()
        watch.cancel()
        XCTAssertTrue(watch.wait(timeout: 5))
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 4)
        let count = recorder.all.count
        try client.put(key: key("after"), value: bytes("x"))
        usleep(300_000)
        XCTAssertEqual(recorder.all.count, count)
    }

    func testWatchFromNowSkipsThePast() throws {
        try client.put(key: key("old"), value: bytes("0"))
        let recorder = WatchRecorder()
        let watch = client.watch(.prefix(prefix), handler: recorder.handler)
        defer { watch.cancel() }
        XCTAssertTrue(recorder.wait(timeout: 10) { !$0.isEmpty })
        try client.put(key: key("new"), value: bytes("1"))
        XCTAssertTrue(recorder.waitForEvents(1))
        XCTAssertEqual(summary(recorder.events), ["PUT \(prefix!)new=1"])
    }

    func testCompactionIsReportedToTheWatcher() throws {
        let first = try client.put(key: key("a"), value: bytes("1")).header.revision
        try client.put(key: key("a"), value: bytes("2"))
        let last = try client.put(key: key("a"), value: bytes("3")).header.revision
        try client.compact(revision: last)

        // Reading the compacted past is refused.
        XCTAssertThrowsError(try client.range(.key(prefix + "a"), revision: first)) { error in
            guard case .rejected(_, let code, let message)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 11)
            XCTAssertTrue(message.contains("compacted"), message)
        }
        // A watch from before the compaction learns it, and ends.
        let recorder = WatchRecorder()
        let watch = client.watch(.prefix(prefix), fromRevision: first, handler: recorder.handler)
        defer { watch.cancel() }
        XCTAssertTrue(watch.wait(timeout: 10), "the watch ended")
        XCTAssertTrue(recorder.all.contains(.compacted(compactRevision: last)), "\(recorder.all)")
        XCTAssertEqual(recorder.events, [])
        // From the compaction's revision on, it works.
        let recorder2 = WatchRecorder()
        let watch2 = client.watch(.prefix(prefix), fromRevision: last, handler: recorder2.handler)
        defer { watch2.cancel() }
        XCTAssertTrue(recorder2.waitForEvents(1))
        XCTAssertEqual(summary(recorder2.events), ["PUT \(prefix!)a=3"])
    }

    func testFailoverSkipsADeadFirstEndpointAndRemembersTheGoodOne() throws {
        let dead = "http://127.0.0.1:\(try unusedLoopbackPort())"
        let failover = try EtcdClient(configuration: EtcdConfiguration(endpoints: [dead] + cluster.clientURLs))
        XCTAssertEqual(failover.currentEndpoint, dead)
        try failover.put(key: key("k"), value: bytes("v"))
        XCTAssertEqual(failover.currentEndpoint, cluster.clientURLs[0], "the member that answered is tried first from now on")
        XCTAssertEqual(try failover.range(.key(prefix + "k")).kvs.first?.valueText, "v")

        // Nobody there: the error names every member and why, in plain words.
        let dead2 = "http://127.0.0.1:\(try unusedLoopbackPort())"
        let nobody = try EtcdClient(configuration: EtcdConfiguration(endpoints: [dead, dead2]))
        XCTAssertThrowsError(try nobody.range(.key("k"))) { error in
            guard case .unreachable(let failures)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(failures, [EtcdEndpointFailure(endpoint: dead, reason: .connectionRefused),
                                      EtcdEndpointFailure(endpoint: dead2, reason: .connectionRefused)])
            XCTAssertEqual("\(error)", "etcd unreachable: \(dead): connection refused; \(dead2): connection refused")
            XCTAssertTrue((error as? EtcdError)?.isUnreachable ?? false)
        }
    }

    func testSilentMemberTimesOutAndTheNextAnswers() throws {
        // A listener that accepts and never answers: the request times out there and goes to the next member.
        let silent = try SilentListener()
        defer { silent.close() }
        let failover = try EtcdClient(configuration: EtcdConfiguration(endpoints: ["http://127.0.0.1:\(silent.port)"] + cluster.clientURLs,
                                                                       requestTimeout: 1))
        let started = Date()
        try failover.put(key: key("k"), value: bytes("v"))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "a 1 s request timeout, not the default")
        XCTAssertEqual(failover.currentEndpoint, cluster.clientURLs[0])
    }

    func testWatchGivesUpOnASilentMemberAndUsesTheNext() throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let silentURL = "http://127.0.0.1:\(silent.port)"
        let failover = try EtcdClient(configuration: EtcdConfiguration(endpoints: [silentURL] + cluster.clientURLs, requestTimeout: 1))
        let recorder = WatchRecorder()
        let watch = failover.watch(.prefix(prefix), handler: recorder.handler)
        defer { watch.cancel() }
        XCTAssertTrue(recorder.wait(timeout: 10) { $0.contains { if case .connected = $0 { return true } else { return false } } },
                      "\(recorder.all)")
        XCTAssertEqual(recorder.all.first, .disconnected(.unreachable([EtcdEndpointFailure(endpoint: silentURL, reason: .timedOut)])))
        XCTAssertEqual(failover.currentEndpoint, cluster.clientURLs[0])
        try client.put(key: key("k"), value: bytes("v"))
        XCTAssertTrue(recorder.waitForEvents(1))
        XCTAssertEqual(summary(recorder.events), ["PUT \(prefix!)k=v"])
    }
}

struct SilentListenerError: Error {}

/// A 127.0.0.1 listener that accepts connections and never answers.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw SilentListenerError() }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}
