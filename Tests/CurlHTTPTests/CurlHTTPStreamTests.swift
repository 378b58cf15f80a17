import CurlHTTP
import Foundation
import Synchronization
import XCTest

/// `CurlHTTPClient.stream`: a long-lived response delivered chunk by chunk as it arrives, ended by the server, the
/// receiver, or a cancellation.
final class CurlHTTPStreamTests: XCTestCase {
    private var server: TestServer?
    private var pki: TestPKI!

    override func setUpWithError() throws {
        pki = try TestPKI.shared.get()
        server = try TestServer.https()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func client() throws -> CurlHTTPClient {
        try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: pki.caFile, totalTimeout: 2))
    }

    private var base: String { "https://127.0.0.1:\(server!.ports[0])" }

    func testChunksArriveAsTheServerSendsThem() throws {
        // Three lines 0.6 s apart: the first must reach the receiver long before the response ends. The client's
        // totalTimeout (2 s) does not apply to a stream, so a 2.4 s stream completes.
        var received: [UInt8] = []
        var firstArrival: Date?
        let started = Date()
        let end = try client().stream(method: "GET", url: "\(base)/stream?n=5&gap=0.6") { status, chunk in
            XCTAssertEqual(status, 200)
            if firstArrival == nil { firstArrival = Date() }
            received += chunk
            return true
        }
        let ended = Date()
        XCTAssertEqual(end.status, 200)
        XCTAssertFalse(end.stoppedByReceiver)
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "line 0\nline 1\nline 2\nline 3\nline 4\n")
        let first = try XCTUnwrap(firstArrival)
        XCTAssertGreaterThan(ended.timeIntervalSince(first), 1.8, "the first line came before the others were sent")
        XCTAssertGreaterThan(ended.timeIntervalSince(started), 2.0, "the stream outlived the client's totalTimeout")
    }

    func testReceiverEndsTheStream() throws {
        let started = Date()
        var chunks = 0
        let end = try client().stream(method: "GET", url: "\(base)/stream?n=1&stall=1") { _, _ in
            chunks += 1
            return false
        }
        XCTAssertTrue(end.stoppedByReceiver)
        XCTAssertEqual(chunks, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "ended by the receiver, not by the server's 60 s")
    }

    func testCancellationEndsAStreamInFlight() throws {
        let cancellation = CurlHTTPCancellation()
        let url = "\(base)/stream?n=1&stall=1"
        let c = try client()
        let gotFirst = DispatchSemaphore(value: 0)
        let outcome = Mutex<(any Error)??>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var thrown: (any Error)?
            do {
                _ = try c.stream(method: "GET", url: url, cancellation: cancellation) { _, _ in
                    gotFirst.signal()
                    return true
                }
            } catch { thrown = error }
            outcome.withLock { $0 = .some(thrown) }
            done.signal()
        }
        XCTAssertEqual(gotFirst.wait(timeout: .now() + 10), .success, "the first line arrived")
        let cancelled = Date()
        cancellation.cancel()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the stream ended")
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 3, "within a few seconds of the cancel")
        guard case .cancelled(let reported)?? = outcome.withLock({ $0 }).map({ $0 as? CurlHTTPError }) else {
            return XCTFail("expected .cancelled, got \(String(describing: outcome.withLock { $0 }))")
        }
        XCTAssertEqual(reported, url)
        // The cancellation was the stream's own: the client still serves other requests.
        XCTAssertEqual(try c.perform(method: "GET", url: "\(base)/echo").status, 200)
    }

    func testErrorStatusIsReportedWithTheBody() throws {
        var body: [UInt8] = []
        var statuses = Set<Int>()
        let end = try client().stream(method: "GET", url: "\(base)/missing") { status, chunk in
            statuses.insert(status)
            body += chunk
            return true
        }
        XCTAssertEqual(end.status, 404)
        XCTAssertEqual(statuses, [404])
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "not found")
    }
}
