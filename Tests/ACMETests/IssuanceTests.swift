import ByteEncoding
import Foundation
import XCTest
@testable import ACME

final class IssuanceTests: XCTestCase {
    func testHappyPathTwoNames() throws {
        let t = ScriptedTransport()
        let clock = ManualClock()
        t.on(.post, Fixture.b + "/acct", Fixture.account())
        Fixture.scriptHappyPath(t)
        let client = makeClient(t, clock: clock)
        let solver = RecordingSolver(transport: t)
        _ = try client.newAccount(contact: ["mailto:admin@a.test"], termsOfServiceAgreed: true)
        let before = client.requestCount
        XCTAssertEqual(before, 3)

        let (order, chain) = try HTTP01Issuance.issue(client: client, domains: ["a.test", "b.test"], csrDER: [0x30, 0x82, 0xFF], solver: solver)

        XCTAssertEqual(client.requestCount - before, 10)
        XCTAssertEqual(Array(t.log.dropFirst(3)), [
            "POST /order",
            "POST /authz/a", "POST /authz/b",
            "POST /chall/a", "POST /chall/b",
            "POST /authz/a", "POST /authz/b",
            "POST /order/1/finalize",
            "POST /order/1",
            "POST /cert/1",
        ])
        XCTAssertEqual(order.status, "valid")
        XCTAssertEqual(order.certificate, Fixture.certURL)
        XCTAssertEqual(chain.pem, Fixture.pem)
        XCTAssertEqual(chain.url, Fixture.certURL)
        XCTAssertEqual(chain.alternateURLs, ["https://acme.test/cert/1/alt/1", "https://acme.test/cert/1/alt/2"])

        // Both tokens presented before any challenge was answered; cleaned up afterwards.
        XCTAssertEqual(solver.presented.map(\.domain), ["a.test", "b.test"])
        XCTAssertEqual(solver.presented.map(\.keyAuthorization), ["tok_a-1.THUMBPRINT_abc-123", "tok_b-1.THUMBPRINT_abc-123"])
        XCTAssertTrue(solver.presented.allSatisfy { $0.requestsBefore == 6 }, "presented after the 2 authz fetches, before challenges")
        XCTAssertEqual(solver.cleaned, ["a.test/tok_a-1", "b.test/tok_b-1"])

        // Three waits of initialDelay: each authorization poll, then the order poll.
        XCTAssertEqual(clock.sleeps, [0.05, 0.05, 0.05])

        let posts = try t.posts()
        // Every POST after newAccount uses kid, a nonce never used before, and no jwk.
        XCTAssertEqual(Set(posts.compactMap(\.nonce)).count, posts.count)
        for jws in posts.dropFirst() {
            XCTAssertEqual(jws.kid, Fixture.accountURL)
            XCTAssertNil(jws.jwk)
            XCTAssertEqual(jws.protected["url"] as? String, jws.url)
            XCTAssertEqual(jws.contentType, "application/jose+json")
        }
        let byPath = Dictionary(grouping: posts, by: { $0.url.replacingOccurrences(of: Fixture.b, with: "") })
        let newOrder = try XCTUnwrap(byPath["/order"]?.first).payload
        XCTAssertEqual(newOrder["identifiers"] as? [[String: String]], [["type": "dns", "value": "a.test"], ["type": "dns", "value": "b.test"]])
        XCTAssertNil(newOrder["replaces"])
        XCTAssertEqual(byPath["/authz/a"]?.map(\.payloadText), ["", ""], "POST-as-GET has an empty payload")
        XCTAssertEqual(byPath["/chall/a"]?.map(\.payloadText), ["{}"])
        XCTAssertEqual(byPath["/order/1/finalize"]?.first?.payload["csr"] as? String, Base64URL.encode([0x30, 0x82, 0xFF]))
        XCTAssertEqual(byPath["/order/1"]?.map(\.payloadText), [""])
        XCTAssertEqual(byPath["/cert/1"]?.first?.accept, "application/pem-certificate-chain")
        XCTAssertEqual(byPath["/cert/1"]?.first?.payloadText, "")
    }

    func testAllChallengesAnsweredBeforeAnyPoll() throws {
        let t = ScriptedTransport()
        Fixture.scriptHappyPath(t)
        let client = makeClient(t, accountURL: Fixture.accountURL)
        _ = try HTTP01Issuance.issue(client: client, domains: ["a.test", "b.test"], csrDER: [1], solver: RecordingSolver())
        let log = t.log
        let lastChallenge = try XCTUnwrap(log.lastIndex { $0.hasPrefix("POST /chall/") })
        let polls = log.indices.filter { log[$0].hasPrefix("POST /authz/") }
        XCTAssertEqual(polls.count, 4)
        XCTAssertTrue(polls.suffix(2).allSatisfy { $0 > lastChallenge })
        XCTAssertTrue(polls.prefix(2).allSatisfy { $0 < lastChallenge })
    }

    func testReusedValidAuthorizationIsSkipped() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "pending"), Fixture.authz("b", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/chall/b", Fixture.challenge("b"))
        t.on(.post, Fixture.b + "/order/1/finalize", Fixture.order("valid", certificate: true))
        t.on(.post, Fixture.certURL, Fixture.certificate())
        let client = makeClient(t, accountURL: Fixture.accountURL)
        let solver = RecordingSolver()
        let result = try HTTP01Issuance.issue(client: client, domains: ["a.test", "b.test"], csrDER: [1], solver: solver,
                                              replaces: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", profile: "shortlived")
        XCTAssertEqual(result.order.status, "valid")
        XCTAssertEqual(solver.presented.map(\.domain), ["b.test"])
        XCTAssertEqual(solver.cleaned, ["b.test/tok_b-1"])
        // finalize answered valid with a certificate: no order poll.
        XCTAssertEqual(t.log, ["GET /dir", "HEAD /nonce", "POST /order", "POST /authz/a", "POST /authz/b", "POST /chall/b",
                               "POST /authz/b", "POST /order/1/finalize", "POST /cert/1"])
        let newOrder = try XCTUnwrap(t.posts().first).payload
        XCTAssertEqual(newOrder["replaces"] as? String, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
        XCTAssertEqual(newOrder["profile"] as? String, "shortlived")
    }

    func testInvalidChallengeReportsSubproblemsAndCleansUp() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "pending"), Fixture.authz("a", "invalid", challengeStatus: "invalid", error: """
            {"type":"urn:ietf:params:acme:error:compound","detail":"Several problems","status":403,"subproblems":[
             {"type":"urn:ietf:params:acme:error:unauthorized","detail":"404 for /.well-known/acme-challenge/tok_a-1 at 2001:db8::1","identifier":{"type":"dns","value":"a.test"}},
             {"type":"urn:ietf:params:acme:error:connection","detail":"Timeout during connect","identifier":{"type":"dns","value":"a.test"}}]}
            """))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "pending"))
        t.on(.post, Fixture.b + "/chall/a", Fixture.challenge("a"))
        t.on(.post, Fixture.b + "/chall/b", Fixture.challenge("b"))
        let client = makeClient(t, accountURL: Fixture.accountURL)
        let solver = RecordingSolver()
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: client, domains: ["a.test", "b.test"], csrDER: [1], solver: solver)) { error in
            guard case let .authorizationFailed(identifier, problem)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(identifier, .dns("a.test"))
            XCTAssertEqual(problem?.kind, .compound)
            XCTAssertEqual(problem?.subproblems.map(\.kind), [.unauthorized, .connection])
            XCTAssertEqual(problem?.identifiers, [.dns("a.test"), .dns("a.test")])
            let text = "\(error)"
            XCTAssertTrue(text.contains("authorization for dns:a.test failed"), text)
            XCTAssertTrue(text.contains("unauthorized [dns:a.test]: 404 for"), text)
            XCTAssertTrue(text.contains("connection [dns:a.test]: Timeout during connect"), text)
        }
        XCTAssertEqual(solver.cleaned, ["a.test/tok_a-1", "b.test/tok_b-1"])
        XCTAssertFalse(t.log.contains("POST /order/1/finalize"))
    }

    func testAuthorizationAlreadyInvalidFailsBeforePresenting() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "deactivated"))
        let solver = RecordingSolver()
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                                      csrDER: [1], solver: solver)) { error in
            guard case let .authorizationFailed(identifier, _)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(identifier, .dns("a.test"))
        }
        XCTAssertTrue(solver.presented.isEmpty)
    }

    func testOrderBecomingInvalid() throws {
        let t2 = ScriptedTransport()
        t2.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t2.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "valid", challengeStatus: "valid"))
        t2.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "valid", challengeStatus: "valid"))
        t2.on(.post, Fixture.b + "/order/1/finalize", Fixture.order("processing"))
        t2.on(.post, Fixture.orderURL, Fixture.order("processing"),
              Fixture.order("invalid", error: #"{"type":"urn:ietf:params:acme:error:badCSR","detail":"CSR names a.test only"}"#))
        let client = makeClient(t2, accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: client, domains: ["a.test", "b.test"], csrDER: [1], solver: RecordingSolver())) { error in
            guard case let .orderFailed(url, status, problem)? = error as? ACMEError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, Fixture.orderURL)
            XCTAssertEqual(status, "invalid")
            XCTAssertEqual(problem?.kind, .badCSR)
            XCTAssertTrue("\(error)".contains("CSR names a.test only"))
        }
    }

    func testFinalizeTooEarlyWaitsForReadyAndRetries() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/order/1/finalize", problem("orderNotReady", status: 403), Fixture.order("valid", certificate: true))
        t.on(.post, Fixture.orderURL, Fixture.order("ready"))
        t.on(.post, Fixture.certURL, Fixture.certificate())
        let result = try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                              csrDER: [1], solver: RecordingSolver())
        XCTAssertEqual(result.order.status, "valid")
        XCTAssertEqual(t.log.suffix(4), ["POST /order/1/finalize", "POST /order/1", "POST /order/1/finalize", "POST /cert/1"])
    }

    func testInvalidTokensAreRefusedBeforeTheSolverIsCalled() {
        for bad in ["../x", "a/b", "", "a b", "tok="] {
            let t = ScriptedTransport()
            t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
            t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "pending"))
            t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "pending", token: bad))
            let solver = RecordingSolver()
            XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                                          csrDER: [1], solver: solver)) { error in
                guard case let .invalidToken(token)? = error as? ACMEError else { return XCTFail("\(bad): \(error)") }
                XCTAssertEqual(token, bad)
            }
            XCTAssertTrue(solver.presented.isEmpty, "solver saw \(bad.debugDescription)")
            XCTAssertTrue(solver.cleaned.isEmpty)
            XCTAssertFalse(t.log.contains { $0.hasPrefix("POST /chall") })
        }
    }

    func testKeyAuthorization() throws {
        let client = makeClient(ScriptedTransport())
        XCTAssertEqual(try client.keyAuthorization(token: "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"),
                       "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.THUMBPRINT_abc-123")
        for bad in ["../x", "a/b", "", "a b", "tok=", "tök", "a\nb"] {
            XCTAssertThrowsError(try client.keyAuthorization(token: bad)) { error in
                guard case .invalidToken(bad)? = error as? ACMEError else { return XCTFail("\(error)") }
            }
        }
    }

    func testSolverCleanUpWhenPresentThrows() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "pending"))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "pending"))
        let solver = RecordingSolver(failOn: "b.test")
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                                      csrDER: [1], solver: solver)) { error in
            XCTAssertTrue(error is RecordingSolver.Failure, "\(error)")
        }
        XCTAssertEqual(solver.cleaned, ["a.test/tok_a-1", "b.test/tok_b-1"])
        XCTAssertFalse(t.log.contains { $0.hasPrefix("POST /chall") })
    }

    func testSolverCleanUpWhenChallengeResponseFails() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "pending"))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "pending"))
        t.on(.post, Fixture.b + "/chall/a", Fixture.challenge("a"))
        t.on(.post, Fixture.b + "/chall/b", problem("serverInternal", status: 500, detail: "oops"))
        let solver = RecordingSolver()
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                                      csrDER: [1], solver: solver)) { error in
            XCTAssertEqual((error as? ACMEError)?.problem?.kind, .serverInternal)
        }
        XCTAssertEqual(solver.cleaned, ["a.test/tok_a-1", "b.test/tok_b-1"])
    }

    func testNoHTTP01ChallengeOffered() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        t.on(.post, Fixture.b + "/authz/a", json(#"{"identifier":{"type":"dns","value":"a.test"},"status":"pending","wildcard":true,"challenges":[{"type":"dns-01","url":"https://acme.test/chall/a/dns","status":"pending","token":"t"}]}"#))
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["*.a.test"],
                                                      csrDER: [1], solver: RecordingSolver())) { error in
            guard case .noSupportedChallenge(.dns("a.test"))? = error as? ACMEError else { return XCTFail("\(error)") }
        }
    }
}
