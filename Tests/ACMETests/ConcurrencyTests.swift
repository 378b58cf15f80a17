import Foundation
import Synchronization
import XCTest
@testable import ACME

final class ConcurrencyTests: XCTestCase {
    /// One client shared by many threads never reuses a nonce and counts every request.
    func testSharedClientNeverReusesANonce() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/revoke", thenAlways: HTTPResponse(status: 200))
        let client = makeClient(t, accountURL: Fixture.accountURL)
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 24) { i in
            do { try client.revoke(certificateDER: [UInt8(i)]) } catch { failures.withLock { $0 += 1 } }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        let posts = try t.posts()
        XCTAssertEqual(posts.count, 24)
        XCTAssertEqual(Set(posts.compactMap(\.nonce)).count, 24)
        XCTAssertEqual(client.requestCount, t.requests.count)
    }
}

/// Orders side by side: a request that finds the nonce pool empty while another request is in flight takes the nonce
/// that request's answer brings, instead of asking newNonce for one.
final class SharedNonceTests: XCTestCase {
    /// Holds the first POST in flight until `release()`; every other request passes straight through.
    private final class HeldFirstPost: HTTPTransport, @unchecked Sendable {
        let inner: ScriptedTransport
        let inFlight = DispatchSemaphore(value: 0)
        private let gate = DispatchSemaphore(value: 0)
        private let held = Atomic<Bool>(false)

        init(_ inner: ScriptedTransport) { self.inner = inner }

        func send(_ request: HTTPRequest) throws -> HTTPResponse {
            if request.method == .post, !held.exchange(true, ordering: .acquiringAndReleasing) {
                inFlight.signal()
                _ = gate.wait(timeout: .now() + 60)
            }
            return try inner.send(request)
        }

        func release() { gate.signal() }
    }

    /// Its first wait releases the held POST: the waiting request sees that answer's nonce arrive.
    private final class ReleasingClock: ACMEClock, @unchecked Sendable {
        let release: @Sendable () -> Void
        private let released = Atomic<Bool>(false)
        init(release: @escaping @Sendable () -> Void) { self.release = release }
        func now() -> Date { Date() }
        func sleep(seconds: Double) throws {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { release() }
            Thread.sleep(forTimeInterval: seconds)
        }
    }

    func testAWaitingRequestTakesTheNonceOfTheAnswerInFlight() throws {
        let scripted = ScriptedTransport()
        scripted.on(.post, Fixture.b + "/revoke", thenAlways: HTTPResponse(status: 200))
        let transport = HeldFirstPost(scripted)
        let client = ACMEClient(directoryURL: ScriptedTransport.directoryURL, transport: transport, signer: FakeSigner(),
                                clock: ReleasingClock { transport.release() }, accountURL: Fixture.accountURL)
        let done = DispatchGroup()
        let failures = Mutex<[String]>([])
        for certificate in [[UInt8(1)], [UInt8(2)]] {
            if certificate == [2] { XCTAssertEqual(transport.inFlight.wait(timeout: .now() + 60), .success, "the first POST is in flight") }
            done.enter()
            Thread {
                do { try client.revoke(certificateDER: certificate) } catch { failures.withLock { $0.append("\(error)") } }
                done.leave()
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(scripted.log.filter { $0.hasPrefix("HEAD") }.count, 1, "only the first request asked for a nonce: \(scripted.log)")
        let posts = try scripted.posts()
        XCTAssertEqual(posts.count, 2)
        XCTAssertEqual(Set(posts.compactMap(\.nonce)).count, 2, "no nonce used twice")
    }
}
