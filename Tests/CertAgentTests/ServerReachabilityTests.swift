import ACME
@testable import CertAgent
import CurlHTTP
import Foundation
import TestSupport
import XCTest

/// A CA that did not answer is not waited on again for a minute: one pass waits on it once.
final class ServerReachabilityTests: XCTestCase {
    private let reason = "HTTP request to https://ca.test/dir failed (curl error 28): timed out: Operation too slow"

    func testAServerThatDidNotAnswerFailsAtOnceUntilTheRetryDelayHasPassed() throws {
        let clock = ManualClock()
        let reachability = ServerReachability(retryDelay: 60, clock: clock)
        XCTAssertNoThrow(try reachability.check("https://ca.test/dir"), "nothing known yet")

        reachability.failed("https://ca.test/dir", reason: reason)
        clock.advance(by: 5)
        XCTAssertThrowsError(try reachability.check("https://CA.test/acme/new-order?x=1")) { error in
            guard let unreachable = error as? ServerUnreachable else { return XCTFail("\(error)") }
            XCTAssertEqual(unreachable.server, "https://ca.test", "the same origin, whatever the path, query or case")
            XCTAssertEqual("\(unreachable)", "CA unreachable, tried 5 s ago (\(reason)): not waiting on https://ca.test again for 55 s")
        }
        clock.advance(by: 54.9)
        XCTAssertThrowsError(try reachability.check("https://ca.test/dir"))
        clock.advance(by: 0.1)
        XCTAssertNoThrow(try reachability.check("https://ca.test/dir"), "tried again after the retry delay")
    }

    func testOnlyThatServerIsAffectedAndAnAnswerClearsIt() throws {
        let clock = ManualClock()
        let reachability = ServerReachability(retryDelay: 60, clock: clock)
        reachability.failed("https://ca.test:8443/dir", reason: reason)
        XCTAssertNoThrow(try reachability.check("https://ca.test/dir"), "another port is another server")
        XCTAssertNoThrow(try reachability.check("https://other.test/dir"))
        XCTAssertThrowsError(try reachability.check("https://ca.test:8443/order/1"))
        reachability.answered("https://ca.test:8443/nonce")
        XCTAssertNoThrow(try reachability.check("https://ca.test:8443/order/1"), "it answered since")
    }

    func testAClockSteppedBackDoesNotKeepTheServerFromBeingTried() throws {
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        XCTAssertTrue(ServerReachability.isRemembered(failedAt: now, now: now, retryDelay: 60))
        XCTAssertTrue(ServerReachability.isRemembered(failedAt: now, now: now.addingTimeInterval(59), retryDelay: 60))
        XCTAssertFalse(ServerReachability.isRemembered(failedAt: now, now: now.addingTimeInterval(60), retryDelay: 60))
        XCTAssertFalse(ServerReachability.isRemembered(failedAt: now, now: now.addingTimeInterval(-1), retryDelay: 60),
                       "a failure dated in the future (the clock stepped back) holds no more")
    }

    func testTheDefaultRetryDelayIsTheFirstBackoffStep() {
        XCTAssertEqual(ServerReachability.defaultRetryDelay, FailureBackoff.delay(afterFailures: 1),
                       "a renewal retried after its first backoff tries the server again")
    }

    func testOriginOfAURL() {
        XCTAssertEqual(ServerReachability.origin(of: "https://Ca.Test:14000/dir"), "https://ca.test:14000")
        XCTAssertEqual(ServerReachability.origin(of: "https://ca.test?x"), "https://ca.test")
        XCTAssertEqual(ServerReachability.origin(of: "https://ca.test"), "https://ca.test")
    }
}

/// `CurlTransport` over libcurl: a refused connection marks the CA unreachable for the following requests, and a
/// cancelled session throws `CancellationError`, not a network error.
final class CurlTransportStopTests: XCTestCase {
    /// A 127.0.0.1 port nobody listens on.
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        XCTAssertTrue(named)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func testAFailedConnectionFailsTheNextRequestsToThatCAWithoutTryingAgain() throws {
        let clock = ManualClock()
        let transport = try CurlTransport(caFile: nil, reachability: ServerReachability(clock: clock))
        let url = "https://127.0.0.1:\(try closedPort())"
        XCTAssertThrowsError(try transport.send(HTTPRequest(method: .get, url: url + "/dir"))) { error in
            XCTAssertTrue((error as? CurlHTTPError)?.isUnreachable ?? false, "\(error)")
        }
        clock.advance(by: 2)
        XCTAssertThrowsError(try transport.send(HTTPRequest(method: .head, url: url + "/nonce"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("CA unreachable, tried 2 s ago (HTTP request to \(url)/dir failed (curl error 7)"), "\(error)")
        }
        clock.advance(by: ServerReachability.defaultRetryDelay)
        XCTAssertThrowsError(try transport.send(HTTPRequest(method: .get, url: url + "/dir"))) { error in
            XCTAssertTrue(error is CurlHTTPError, "tried again a minute later: \(error)")
        }
    }

    func testACancelledSessionThrowsCancellationError() throws {
        let cancellation = CurlHTTPCancellation()
        let transport = try CurlTransport(caFile: nil, cancellation: cancellation)
        cancellation.cancel()
        XCTAssertThrowsError(try transport.send(HTTPRequest(method: .get, url: "https://127.0.0.1:1/dir"))) { error in
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
    }

    func testAStoppableClockCancelsItsSessionsRequests() throws {
        let clock = StoppableClock()
        XCTAssertFalse(clock.httpCancellation.isCancelled)
        clock.stop()
        XCTAssertTrue(clock.httpCancellation.isCancelled)
    }
}
