import Foundation
import XCTest
@testable import ACME

final class ProblemTests: XCTestCase {
    func testBadNonceIsRetriedWithTheErrorsNonceWithoutSleeping() throws {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.b + "/order",
             problem("badNonce", detail: "JWS has an invalid anti-replay nonce", headers: [("Replay-Nonce", "fromError1")]),
             problem("badNonce", headers: [("Replay-Nonce", "fromError2")]),
             Fixture.order("pending", location: true))
        let client = makeClient(t, clock: clock, accountURL: Fixture.accountURL)
        let order = try client.newOrder(identifiers: [.dns("a.test"), .dns("b.test")])
        XCTAssertEqual(order.status, "pending")
        XCTAssertEqual(t.log, ["GET /dir", "HEAD /nonce", "POST /order", "POST /order", "POST /order"])
        XCTAssertEqual(try t.posts().map(\.nonce), ["nonce1", "fromError1", "fromError2"])
        XCTAssertEqual(clock.sleeps, [])
    }

    func testBadNonceGivesUpAfterSixteenAttempts() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", thenAlways: problem("badNonce"))
        let client = makeClient(t, accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.newOrder(identifiers: [.dns("a.test")])) { error in
            XCTAssertEqual((error as? ACMEError)?.problem?.kind, .badNonce)
        }
        XCTAssertEqual(t.log.filter { $0 == "POST /order" }.count, ACMEClient.maximumNonceAttempts)
        XCTAssertEqual(t.log.filter { $0 == "HEAD /nonce" }.count, 1, "error responses feed the nonce pool")
    }

    func testFifteenBadNoncesThenSuccess() throws {
        let t = ScriptedTransport()
        for _ in 0..<15 { t.on(.post, Fixture.b + "/order", problem("badNonce")) }
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        let order = try makeClient(t, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("a.test")])
        XCTAssertEqual(order.url, Fixture.orderURL)
    }

    func testRateLimitedWithRetryAfterSeconds() {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.b + "/order", problem("rateLimited", status: 429, detail: "too many new orders", headers: [("Retry-After", "3600")]))
        let client = makeClient(t, clock: clock, accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.newOrder(identifiers: [.dns("a.test")])) { error in
            guard case let .problem(problem, url, retryAfter)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.kind, .rateLimited)
            XCTAssertEqual(problem.status, 429)
            XCTAssertEqual(url, "https://acme.test/order")
            XCTAssertEqual(retryAfter, clock.now().addingTimeInterval(3600))
            XCTAssertTrue("\(error)".contains("rateLimited: too many new orders"))
        }
        XCTAssertEqual(clock.sleeps, [], "a rate limit is not waited out by the client")
    }

    func testRateLimitedWithRetryAfterHTTPDate() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", problem("rateLimited", status: 429, headers: [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("a.test")])) { error in
            guard case let .problem(_, _, retryAfter)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(retryAfter, Date(timeIntervalSince1970: 1_445_412_480))
        }
    }

    func testUnknownProblemTypeIsKeptVerbatim() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", problem("urn:example:ca:error:quotaExceeded", status: 403, detail: "pay up"))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("a.test")])) { error in
            let problem = (error as? ACMEError)?.problem
            XCTAssertEqual(problem?.type, "urn:example:ca:error:quotaExceeded")
            XCTAssertEqual(problem?.kind, .other("urn:example:ca:error:quotaExceeded"))
            XCTAssertEqual(problem?.description, "urn:example:ca:error:quotaExceeded: pay up")
        }
    }

    func testRejectedIdentifierSubproblemsNameTheIdentifiers() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", problem("rejectedIdentifier", status: 400, detail: "Some identifiers were rejected", extra: """
            "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"not a public suffix","identifier":{"type":"dns","value":"x.invalid"}},
            {"type":"urn:ietf:params:acme:error:caa","detail":"CAA forbids","identifier":{"type":"dns","value":"b.test"}}]
            """))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("x.invalid"), .dns("b.test")])) { error in
            let problem = (error as? ACMEError)?.problem
            XCTAssertEqual(problem?.kind, .rejectedIdentifier)
            XCTAssertEqual(problem?.identifiers, [.dns("x.invalid"), .dns("b.test")])
            XCTAssertEqual(problem?.description,
                           "rejectedIdentifier: Some identifiers were rejected (rejectedIdentifier [dns:x.invalid]: not a public suffix; caa [dns:b.test]: CAA forbids)")
        }
    }

    func testNonJSONErrorBodyIsUnexpectedResponseWithExcerpt() {
        let t = ScriptedTransport()
        let html = "<html><body>502 Bad Gateway</body></html>" + String(repeating: "x", count: 1000)
        t.on(.post, Fixture.b + "/order", HTTPResponse(status: 502, headers: [(name: "Content-Type", value: "text/html")], body: Array(html.utf8)))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("a.test")])) { error in
            guard case let .unexpectedResponse(url, status, detail)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "https://acme.test/order")
            XCTAssertEqual(status, 502)
            XCTAssertTrue(detail.hasPrefix("<html><body>502 Bad Gateway"))
            XCTAssertLessThan(detail.count, 260)
        }
    }

    func testOverloadedServerWithRetryAfterButNoProblemDocumentStillCarriesRetryAfter() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", HTTPResponse(status: 503, headers: [(name: "Content-Type", value: "text/html"), (name: "Retry-After", value: "120")],
                                                       body: Array("<html>Service Unavailable</html>".utf8)))
        let clock = ManualClock()
        XCTAssertThrowsError(try makeClient(t, clock: clock, accountURL: Fixture.accountURL).newOrder(identifiers: [.dns("a.test")])) { error in
            guard case let .problem(problem, url, retryAfter)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "https://acme.test/order")
            XCTAssertEqual(problem.kind, .serverInternal)
            XCTAssertEqual(problem.status, 503)
            XCTAssertEqual(problem.detail, "HTTP 503: <html>Service Unavailable</html>")
            XCTAssertEqual(retryAfter, clock.now().addingTimeInterval(120))
        }
    }

    func testProblemKindsAndDecodingDefaults() throws {
        XCTAssertEqual(ACMEProblem.Kind(type: "urn:ietf:params:acme:error:alreadyReplaced"), .alreadyReplaced)
        XCTAssertEqual(ACMEProblem.Kind(type: "urn:ietf:params:acme:error:externalAccountRequired"), .externalAccountRequired)
        XCTAssertEqual(ACMEProblem.Kind(type: "urn:ietf:params:acme:error:somethingNew"), .other("urn:ietf:params:acme:error:somethingNew"))
        let p = try JSONDecoder().decode(ACMEProblem.self, from: Data(#"{"detail":"x"}"#.utf8))
        XCTAssertEqual(p.type, "about:blank")
        XCTAssertEqual(p.subproblems, [])
    }
}
