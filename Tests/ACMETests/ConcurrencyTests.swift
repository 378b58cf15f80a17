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
