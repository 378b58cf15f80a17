@testable import CertAgent
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// HTTP-01 across the fleet over the in-memory etcd: the ordering node answers only when every live node has the file,
/// fails naming the nodes that did not, and every file goes when the order ends or the ordering node's lease expires.
final class FleetChallengeTests: XCTestCase {
    /// A manual clock whose every wait first lets the other nodes handle what happened (their watches), then moves
    /// time: the fleet simulated on one thread, deterministically.
    final class FleetClock: AgentClock {
        let manual = ManualClock()
        let others = Mutex<[@Sendable () -> Void]>([])
        func now() -> Date { manual.now() }
        func sleep(seconds: Double) throws {
            for step in others.withLock({ $0 }) { step() }
            try manual.sleep(seconds: seconds)
        }
    }

    let token = "tok_abcdefghijklmnopqrstuvwxyz0123456789-_AB"
    var temp: TemporaryDirectory!
    let clock = FleetClock()
    lazy var etcd = InMemoryFleetStore(clock: clock)
    let logger = Logger(label: "test")

    override func setUpWithError() throws { temp = try TemporaryDirectory() }

    func certificate(webroot: String) -> CertificateConfig {
        CertificateConfig(name: "shop", domains: ["shop.test"], webroots: ["shop.test": webroot], keyType: .ec256)
    }

    func node(_ name: String) -> FleetMembership {
        FleetMembership(store: etcd, keys: FleetKeys(prefix: "/fleet/"), node: name, leaseSeconds: 15, clock: clock)
    }

    /// Node `name` with its own webroot and a started responder, stepped at each of the orderer's waits.
    func responder(_ name: String, certificates: [CertificateConfig]? = nil) throws -> (FleetMembership, FleetChallengeResponder, String) {
        let webroot = try temp.make("\(name)/www")
        let membership = node(name)
        try membership.join()
        let responder = FleetChallengeResponder(membership: membership, certificates: certificates ?? [certificate(webroot: webroot)],
                                                journal: { _ in nil }, clock: clock, logger: logger)
        try responder.start()
        keepAlive(membership)
        clock.others.withLock { $0.append { try? responder.sync(timeout: 0) } }
        return (membership, responder, webroot)
    }

    func orderer(_ name: String = "a", timeout: TimeInterval = 30) throws -> (FleetChallengeSolver, String) {
        let webroot = try temp.make("\(name)/www")
        let membership = node(name)
        try membership.join()
        keepAlive(membership)
        let solver = FleetChallengeSolver(certificate: "shop", local: WebrootSolver(webroots: ["shop.test": webroot]),
                                          membership: membership, clock: clock, timeout: timeout)
        return (solver, webroot)
    }

    /// Keeps `membership`'s lease alive at every wait, as the daemon's keep-alive thread does.
    func keepAlive(_ membership: FleetMembership) {
        clock.others.withLock { $0.append { _ = try? membership.keepAlive() } }
    }

    func file(_ webroot: String) -> String { webroot + "/.well-known/acme-challenge/" + token }

    func testEveryLiveNodeServesTheFileBeforeTheChallengeIsAnswered() throws {
        let (_, _, webrootB) = try responder("b")
        let (_, _, webrootC) = try responder("c")
        let (solver, webrootA) = try orderer()
        try solver.present(domain: "shop.test", token: token, keyAuthorization: token + ".thumb")
        for webroot in [webrootA, webrootB, webrootC] {
            XCTAssertEqual(try String(contentsOfFile: file(webroot), encoding: .utf8), token + ".thumb", webroot)
        }
        XCTAssertEqual(etcd.everything.filter { $0.key.hasPrefix("/fleet/acks/shop/\(token)/") }.map(\.key).sorted(),
                       ["a", "b", "c"].map { "/fleet/acks/shop/\(token)/\($0)" })
        solver.cleanUp(domain: "shop.test", token: token)
        for step in clock.others.withLock({ $0 }) { step() }
        for webroot in [webrootA, webrootB, webrootC] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: file(webroot)), "left in \(webroot)")
        }
        XCTAssertEqual(etcd.everything.filter { !$0.key.hasPrefix("/fleet/nodes/") }.map(\.key), [], "challenges and acks withdrawn")
    }

    func testALiveNodeThatNeverAnswersFailsTheChallengeByName() throws {
        _ = try responder("b")
        let silent = node("silent")
        try silent.join()
        keepAlive(silent)   // alive (its lease is kept), but not serving
        let (solver, _) = try orderer(timeout: 30)
        let started = clock.now()
        XCTAssertThrowsError(try solver.present(domain: "shop.test", token: token, keyAuthorization: "k")) { error in
            XCTAssertEqual(error as? FleetChallengeError, .notAcknowledged(domain: "shop.test", nodes: ["silent"], seconds: 30))
            XCTAssertTrue("\(error)".contains("node(s) silent"), "\(error)")
        }
        XCTAssertGreaterThanOrEqual(clock.now().timeIntervalSince(started), 30)
        XCTAssertLessThan(clock.now().timeIntervalSince(started), 31)
    }

    func testANodeThatCannotWriteTheFileFailsTheChallengeAtOnceWithItsReason() throws {
        // c's config lacks the certificate: it answers with the reason instead of a file.
        _ = try responder("c", certificates: [])
        let (solver, _) = try orderer()
        XCTAssertThrowsError(try solver.present(domain: "shop.test", token: token, keyAuthorization: "k")) { error in
            guard case .nodesFailed(_, let failures)? = error as? FleetChallengeError else { return XCTFail("\(error)") }
            XCTAssertEqual(Array(failures.keys), ["c"])
            XCTAssertTrue(failures["c"]?.contains("no certificate named shop") == true, "\(failures)")
        }
    }

    func testTheOrderingNodesDeathRemovesEveryFileWithItsLease() throws {
        let (b, responderB, webrootB) = try responder("b")
        let (solver, _) = try orderer()
        try solver.present(domain: "shop.test", token: token, keyAuthorization: "k")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(webrootB)))
        // a is killed here (no clean-up, no keep-alive); b keeps its lease and watches.
        for _ in 0..<4 {
            clock.manual.advance(by: 4)
            XCTAssertTrue(try b.keepAlive())
        }
        try responderB.sync(timeout: 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(webrootB)))
        XCTAssertEqual(responderB.servedFiles, [])
        XCTAssertEqual(etcd.everything.map(\.key), ["/fleet/nodes/b"], "a's presence, challenge and ack, and b's ack, all gone")
    }

    func testALateNodeServesChallengesPublishedBeforeItStartedAndCompactionIsSurvived() throws {
        let (_, responderB, webrootB) = try responder("b")
        let (solver, _) = try orderer()
        try solver.present(domain: "shop.test", token: token, keyAuthorization: "k")
        // c starts now: it reads what is published.
        let (_, _, webrootC) = try responder("c")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(webrootC)))
        // b's watch lost its history to compaction while the order ended: b reads everything again and removes the file.
        solver.cleanUp(domain: "shop.test", token: token)
        etcd.compact(before: etcd.revision + 1)
        try responderB.sync(timeout: 0)
        try responderB.sync(timeout: 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(webrootB)))
    }

    func testAcknowledgementDecisions() {
        let now = Date()
        let ok = { (node: String) in FleetAck(node: node, at: now, error: nil) }
        XCTAssertEqual(FleetAcknowledgements.check(live: ["a", "b"], acks: [ok("a"), ok("b")]), .complete)
        XCTAssertEqual(FleetAcknowledgements.check(live: ["a", "b", "c"], acks: [ok("a")]), .waiting(missing: ["b", "c"]))
        // A node that answered and then died does not count; one that died without answering is not waited for.
        XCTAssertEqual(FleetAcknowledgements.check(live: ["a"], acks: [ok("a"), ok("gone")]), .complete)
        XCTAssertEqual(FleetAcknowledgements.check(live: ["a", "b"], acks: [ok("a"), FleetAck(node: "b", at: now, error: "disk full")]),
                       .failed(["b": "disk full"]))
    }
}
