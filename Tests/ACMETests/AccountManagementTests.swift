import ByteEncoding
import Foundation
import XCTest
@testable import ACME

final class AccountManagementTests: XCTestCase {
    func testKeyChangeNestsAJWSSignedByTheNewKey() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/key", json(#"{"status":"valid"}"#))
        let newKey = FakeSigner(algorithm: "ES384", publicJWK: ["kty": "EC", "crv": "P-384", "x": "bng", "y": "bnk"], thumbprint: "new")
        try makeClient(t, accountURL: Fixture.accountURL).changeKey(to: newKey)

        let outer = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(outer.kid, Fixture.accountURL)
        XCTAssertEqual(outer.protected["alg"] as? String, "ES256")
        XCTAssertEqual(outer.protected["url"] as? String, "https://acme.test/key")
        let inner = try XCTUnwrap(outer.payload as? [String: String])
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(Base64URL.decode(inner["protected"]!)))) as? [String: Any])
        XCTAssertEqual(Set(header.keys), ["alg", "jwk", "url"], "the inner JWS has no nonce")
        XCTAssertEqual(header["alg"] as? String, "ES384")
        XCTAssertEqual(header["jwk"] as? [String: String], newKey.publicJWK)
        XCTAssertEqual(header["url"] as? String, "https://acme.test/key")
        let payload = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(Base64URL.decode(inner["payload"]!)))) as? [String: Any])
        XCTAssertEqual(payload["account"] as? String, Fixture.accountURL)
        XCTAssertEqual(payload["oldKey"] as? [String: String], FakeSigner().publicJWK)
    }

    func testUpdateAndDeactivateAccount() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.accountURL,
             json(#"{"status":"valid","contact":["mailto:new@a.test"]}"#),
             json(#"{"status":"deactivated","contact":["mailto:new@a.test"]}"#))
        let client = makeClient(t, accountURL: Fixture.accountURL)
        XCTAssertEqual(try client.updateAccount(contact: ["mailto:new@a.test"]),
                       ACMEAccount(url: Fixture.accountURL, status: "valid", contact: ["mailto:new@a.test"]))
        XCTAssertEqual(try client.deactivateAccount().status, "deactivated")
        let posts = try t.posts()
        XCTAssertEqual(posts[0].payload["contact"] as? [String], ["mailto:new@a.test"])
        XCTAssertEqual(posts[1].payload["status"] as? String, "deactivated")
    }

    func testFetchAccountIsAPostAsGetToTheAccountURL() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.accountURL, json(#"{"status":"valid","contact":["mailto:a@a.test"],"orders":"https://acme.test/orders"}"#))
        let account = try makeClient(t, accountURL: Fixture.accountURL).fetchAccount()
        XCTAssertEqual(account, ACMEAccount(url: Fixture.accountURL, status: "valid", contact: ["mailto:a@a.test"]))
        let post = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(post.kid, Fixture.accountURL)
        XCTAssertEqual(post.url, Fixture.accountURL)
        XCTAssertEqual(post.payloadText, "", "POST-as-GET has an empty payload (RFC 8555 §6.3)")
    }

    /// Scripts the rest of a 2-name issuance (reused authorizations, finalize, download) and runs it with `replaces: "x.y"`.
    private func issueReplacingXY(_ t: ScriptedTransport) throws {
        t.on(.post, Fixture.b + "/authz/a", Fixture.authz("a", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/authz/b", Fixture.authz("b", "valid", challengeStatus: "valid"))
        t.on(.post, Fixture.b + "/order/1/finalize", Fixture.order("valid", certificate: true))
        t.on(.post, Fixture.certURL, Fixture.certificate())
        _ = try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"],
                                     csrDER: [1], solver: RecordingSolver(), replaces: "x.y")
    }

    func testAlreadyReplacedOrdersAgainWithoutReplaces() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", problem("alreadyReplaced", status: 409), Fixture.order("pending", location: true))
        try issueReplacingXY(t)
        let orders = try t.posts().filter { $0.url == Fixture.b + "/order" }
        XCTAssertEqual(orders.map { $0.payload["replaces"] as? String }, ["x.y", nil])
    }

    func testAReplacesHintTheServerRefusesIsDroppedButRateLimitsAreNot() throws {
        // A certificate from another CA or account (e.g. after moving from staging): servers answer malformed/unauthorized.
        for refusal in [problem("malformed", status: 400), problem("unauthorized", status: 403)] {
            let t = ScriptedTransport()
            t.on(.post, Fixture.b + "/order", refusal, Fixture.order("pending", location: true))
            try issueReplacingXY(t)
            XCTAssertEqual(try t.posts().filter { $0.url == Fixture.b + "/order" }.map { $0.payload["replaces"] as? String }, ["x.y", nil])
        }
        // A rate limit is about the order, not the hint: no second order.
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/order", problem("rateLimited", status: 429))
        XCTAssertThrowsError(try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test"],
                                                      csrDER: [1], solver: RecordingSolver(), replaces: "x.y")) { error in
            XCTAssertEqual((error as? ACMEError)?.problem?.kind, .rateLimited)
        }
        XCTAssertEqual(try t.posts().filter { $0.url == Fixture.b + "/order" }.count, 1)
    }
}
