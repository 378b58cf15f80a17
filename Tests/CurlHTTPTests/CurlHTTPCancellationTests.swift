import CurlHTTP
import Foundation
import TestSupport
import Synchronization
import XCTest

/// Cancellation reaches a request in flight, whatever the server does; a silent server is dropped after
/// `silenceTimeout`, not `totalTimeout`.
final class CurlHTTPCancellationTests: XCTestCase {
    private var server: TestServer?
    private var pki: TestPKI!

    override func setUpWithError() throws {
        pki = try TestPKI.shared.get()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    /// Generous timeouts, so only cancellation can end the request early.
    private func client(_ cancellation: CurlHTTPCancellation) throws -> CurlHTTPClient {
        try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: pki.caFile, connectTimeout: 60, silenceTimeout: 0,
                                                               totalTimeout: 120, cancellation: cancellation))
    }

    /// Starts `url` on another thread, cancels after `after` seconds, and returns the error and how long the request
    /// outlived the cancel.
    private func cancelInFlight(_ url: String, after: Double = 0.5) throws -> (error: (any Error)?, afterCancel: Double) {
        let cancellation = CurlHTTPCancellation()
        let c = try client(cancellation)
        let outcome = Mutex<(any Error)??>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var thrown: (any Error)?
            do { _ = try c.perform(method: "GET", url: url) } catch { thrown = error }
            outcome.withLock { $0 = .some(thrown) }
            done.signal()
        }
        usleep(UInt32(after * 1_000_000))
        XCTAssertTrue(outcome.withLock { $0 == nil }, "the request is still waiting when cancelled")
        let cancelled = Date()
        cancellation.cancel()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the request ended")
        return (outcome.withLock { $0 } ?? nil, Date().timeIntervalSince(cancelled))
    }

    private func assertCancelled(_ result: (error: (any Error)?, afterCancel: Double), _ url: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard case .cancelled(let reported)? = result.error as? CurlHTTPError else {
            return XCTFail("expected .cancelled, got \(String(describing: result.error))", file: file, line: line)
        }
        XCTAssertEqual(reported, url, file: file, line: line)
        // libcurl calls the transfer-info callback about once a second while it waits.
        XCTAssertLessThan(result.afterCancel, 3, "aborted within a few seconds of the cancel", file: file, line: line)
    }

    func testCancelAbortsARequestWaitingForAnAnswer() throws {
        // TLS handshake done, request sent, the server never answers.
        let s = try TestServer.https()
        server = s
        let url = "https://127.0.0.1:\(s.ports[0])/stall"
        assertCancelled(try cancelInFlight(url, after: 1), url)
    }

    func testCancelAbortsARequestToAServerThatAcceptsAndNeverSpeaks() throws {
        // TCP accepted, TLS handshake never answered.
        let s = try TestServer.silent()
        server = s
        let url = "https://127.0.0.1:\(s.ports[0])/"
        assertCancelled(try cancelInFlight(url), url)
    }

    func testCancelAbortsARequestStillConnecting() throws {
        let s = try TestServer.blackhole()
        server = s
        let url = "https://127.0.0.1:\(s.ports[0])/"
        assertCancelled(try cancelInFlight(url), url)
    }

    func testCancelledTokenRefusesLaterRequestsBeforeAnyIO() throws {
        let s = try TestServer.https()
        server = s
        let cancellation = CurlHTTPCancellation()
        let c = try client(cancellation)
        let url = "https://127.0.0.1:\(s.ports[0])/info"
        XCTAssertEqual(try c.perform(method: "GET", url: url).status, 200, "works until cancelled")
        XCTAssertFalse(cancellation.isCancelled)
        cancellation.cancel()
        XCTAssertTrue(cancellation.isCancelled)
        let opened = c.connectionsOpened
        XCTAssertThrowsError(try c.perform(method: "GET", url: url)) { error in
            guard case .cancelled(let reported)? = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(reported, url)
            XCTAssertEqual("\(error)", "HTTP request to \(url) cancelled")
            XCTAssertFalse((error as? CurlHTTPError)?.isUnreachable ?? true, "a cancel is not the server's fault")
        }
        XCTAssertEqual(c.connectionsOpened, opened, "nothing was sent")
    }

    func testSilentServerIsDroppedAfterTheSilenceTimeoutNotTheTotalTimeout() throws {
        let s = try TestServer.https()
        server = s
        let c = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: pki.caFile, connectTimeout: 5, silenceTimeout: 2, totalTimeout: 60))
        let start = Date()
        XCTAssertThrowsError(try c.perform(method: "GET", url: "https://127.0.0.1:\(s.ports[0])/stall")) { error in
            guard case .transport(_, let code, let message)? = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 28, message)   // CURLE_OPERATION_TIMEDOUT
            XCTAssertTrue(message.hasPrefix("timed out"), message)
            XCTAssertTrue((error as? CurlHTTPError)?.isUnreachable ?? false)
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 1.9)
        XCTAssertLessThan(elapsed, 15, "dropped after about 2 s of silence, long before the 60 s total timeout")
    }

    func testUnreachableMeansNoConnectionOrNoAnswerNotABadAnswer() throws {
        let port = try unusedLoopbackPort()
        let c = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: pki.caFile))
        XCTAssertThrowsError(try c.perform(method: "GET", url: "https://127.0.0.1:\(port)/")) { error in
            XCTAssertTrue((error as? CurlHTTPError)?.isUnreachable ?? false, "\(error)")
        }
        XCTAssertFalse(CurlHTTPError.responseTooLarge(url: "https://127.0.0.1/", limit: 1).isUnreachable)
        XCTAssertFalse(CurlHTTPError.transport(url: "https://127.0.0.1/", code: 60, message: "TLS certificate verification failed").isUnreachable)
    }
}
