import Foundation
import XCTest
@testable import ACME

final class CertificateTests: XCTestCase {
    func testDownloadKeepsAndResolvesAlternateLinks() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.certURL, Fixture.certificate())
        let chain = try makeClient(t, accountURL: Fixture.accountURL).downloadCertificate(at: Fixture.certURL)
        XCTAssertEqual(chain.pem, Fixture.pem)
        XCTAssertEqual(chain.alternateURLs, ["https://acme.test/cert/1/alt/1", "https://acme.test/cert/1/alt/2"])
        let jws = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(jws.accept, "application/pem-certificate-chain")
        XCTAssertEqual(jws.payloadText, "")
    }

    func testLinkHeaderParsing() {
        let values = [
            #"<https://x.test/a>; rel="alternate"; title="x, y", <b>;rel=alternate"#,
            #"<../c>; rel="up alternate""#,
            #"<https://x.test/d>;rel="index""#,
        ]
        XCTAssertEqual(LinkHeader.targets(values, relation: "alternate", base: "https://x.test/cert/1"),
                       ["https://x.test/a", "https://x.test/cert/b", "https://x.test/c"])
        XCTAssertEqual(LinkHeader.targets(values, relation: "up", base: "https://x.test/cert/1"), ["https://x.test/c"])
    }

    func testDownloadOfNonPEMIsUnexpected() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.certURL, json(#"{"oops":true}"#))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).downloadCertificate(at: Fixture.certURL)) { error in
            guard case .unexpectedResponse(_, 200, _)? = error as? ACMEError else { return XCTFail("\(error)") }
        }
    }

    func testRevokeWithAccountKey() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/revoke", HTTPResponse(status: 200))
        try makeClient(t, accountURL: Fixture.accountURL).revoke(certificateDER: [0x30, 0x01, 0xFE], reason: 4)
        let jws = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(jws.kid, Fixture.accountURL)
        XCTAssertNil(jws.jwk)
        XCTAssertEqual(jws.payload["certificate"] as? String, "MAH-")
        XCTAssertEqual(jws.payload["reason"] as? Int, 4)
    }

    func testRevokeWithCertificateKeyUsesJWK() throws {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/revoke", HTTPResponse(status: 200))
        let certKey = FakeSigner(algorithm: "ES384", publicJWK: ["kty": "EC", "crv": "P-384", "x": "cXg", "y": "cXk"], thumbprint: "c")
        try makeClient(t).revoke(certificateDER: [1], certificateKey: certKey)
        let jws = try XCTUnwrap(t.posts().first)
        XCTAssertEqual(jws.jwk, certKey.publicJWK)
        XCTAssertEqual(jws.protected["alg"] as? String, "ES384")
        XCTAssertNil(jws.kid)
        XCTAssertNil(jws.payload["reason"])
        XCTAssertFalse(t.log.contains("POST /acct"), "no account needed")
    }

    func testRevokeAlreadyRevoked() {
        let t = ScriptedTransport()
        t.on(.post, Fixture.b + "/revoke", problem("alreadyRevoked"))
        XCTAssertThrowsError(try makeClient(t, accountURL: Fixture.accountURL).revoke(certificateDER: [1])) { error in
            XCTAssertEqual((error as? ACMEError)?.problem?.kind, .alreadyRevoked)
        }
    }
}
