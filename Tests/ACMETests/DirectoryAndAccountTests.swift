import ByteEncoding
import Foundation
import XCTest
@testable import ACME

final class DirectoryAndAccountTests: XCTestCase {
    func testDirectoryIsFetchedOnceAndParsed() throws {
        let t = ScriptedTransport()
        let client = makeClient(t)
        let d = try client.directory()
        _ = try client.directory()
        XCTAssertEqual(t.log, ["GET /dir"])
        XCTAssertEqual(d.newNonce, "https://acme.test/nonce")
        XCTAssertEqual(d.newAccount, "https://acme.test/acct")
        XCTAssertEqual(d.newOrder, "https://acme.test/order")
        XCTAssertEqual(d.revokeCert, "https://acme.test/revoke")
        XCTAssertEqual(d.keyChange, "https://acme.test/key")
        XCTAssertEqual(d.renewalInfo, "https://acme.test/ari")
        XCTAssertEqual(d.meta?.termsOfService, "https://acme.test/tos")
        XCTAssertEqual(d.meta?.caaIdentities, ["ca.test"])
        XCTAssertEqual(d.meta?.externalAccountRequired, false)
        XCTAssertEqual(d.meta?.profiles, ["classic": "90 days", "shortlived": "160 hours"])
        XCTAssertEqual(client.requestCount, 1)
    }

    func testNewAccountSignsWithJWKAndSendsContactAndTerms() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", Fixture.account())
        let client = makeClient(t)
        XCTAssertNil(client.accountURL)
        let account = try client.newAccount(contact: ["mailto:admin@a.test"], termsOfServiceAgreed: true)
        XCTAssertEqual(account, ACMEAccount(url: Fixture.accountURL, status: "valid", contact: ["mailto:admin@a.test"]))
        XCTAssertEqual(client.accountURL, Fixture.accountURL)
        XCTAssertEqual(t.log, ["GET /dir", "HEAD /nonce", "POST /acct"])

        let jws = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(jws.contentType, "application/jose+json")
        XCTAssertEqual(Set(jws.protected.keys), ["alg", "jwk", "nonce", "url"])
        XCTAssertEqual(jws.protected["alg"] as? String, "ES256")
        XCTAssertEqual(jws.protected["url"] as? String, "https://acme.test/acct")
        XCTAssertEqual(jws.nonce, "nonce1")
        XCTAssertEqual(jws.jwk, FakeSigner().publicJWK)
        XCTAssertNil(jws.kid)
        XCTAssertEqual(jws.payload["contact"] as? [String], ["mailto:admin@a.test"])
        XCTAssertEqual(jws.payload["termsOfServiceAgreed"] as? Bool, true)
        XCTAssertNil(jws.payload["externalAccountBinding"])
        XCTAssertEqual(jws.signature, Base64URL.encode([1, 2, 3, 4]))
    }

    func testNewAccountWithExternalAccountBinding() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", Fixture.account())
        let client = makeClient(t)
        _ = try client.newAccount(contact: [], termsOfServiceAgreed: true, externalAccountBinding: FakeMAC())

        let jws = try XCTUnwrap(t.posts().first)
        let eab = try XCTUnwrap(jws.payload["externalAccountBinding"] as? [String: String])
        XCTAssertEqual(Set(eab.keys), ["protected", "payload", "signature"])
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(Base64URL.decode(eab["protected"]!)))) as? [String: String])
        XCTAssertEqual(header, ["alg": "HS256", "kid": "kid-eab-1", "url": "https://acme.test/acct"])
        let innerPayload = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(Base64URL.decode(eab["payload"]!)))) as? [String: String])
        XCTAssertEqual(innerPayload, FakeSigner().publicJWK)
        XCTAssertEqual(eab["signature"], Base64URL.encode([0xFB, 0xFF]))
        XCTAssertEqual(jws.payload["contact"] as? [String], [])
    }

    func testLookUpAccountReturnsNilWhenAccountDoesNotExist() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", problem("accountDoesNotExist", detail: "No account by that key"))
        let client = makeClient(t)
        XCTAssertNil(try client.lookUpAccount())
        XCTAssertNil(client.accountURL)
        let jws = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(jws.payload["onlyReturnExisting"] as? Bool, true)
        XCTAssertNotNil(jws.jwk)
        XCTAssertNil(jws.kid)
    }

    func testLookUpAccountFindsExistingAccount() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", Fixture.account(status: 200))
        let client = makeClient(t)
        let account = try XCTUnwrap(client.lookUpAccount())
        XCTAssertEqual(account.url, Fixture.accountURL)
        XCTAssertEqual(client.accountURL, Fixture.accountURL)
    }

    func testKidRequestWithoutAccountLooksItUpFirst() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", Fixture.account(status: 200))
        t.on(.post, Fixture.b + "/order", Fixture.order("pending", location: true))
        let client = makeClient(t)
        let order = try client.newOrder(identifiers: [.dns("a.test"), .dns("b.test")])
        XCTAssertEqual(order.url, Fixture.orderURL)
        XCTAssertEqual(t.log, ["GET /dir", "HEAD /nonce", "POST /acct", "POST /order"])
        XCTAssertEqual(try t.posts().last?.kid, Fixture.accountURL)
    }

    func testKidRequestWithoutAnyAccountThrowsAccountDoesNotExist() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/acct", problem("accountDoesNotExist"))
        let client = makeClient(t)
        XCTAssertThrowsError(try client.newOrder(identifiers: [.dns("a.test")])) { error in
            XCTAssertEqual((error as? ACMEError)?.problem?.kind, .accountDoesNotExist)
        }
        XCTAssertFalse(t.log.contains("POST /order"))
    }
}
