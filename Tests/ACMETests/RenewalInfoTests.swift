import Foundation
import XCTest
@testable import ACME

final class RenewalInfoTests: XCTestCase {
    /// RFC 9773 §4.1 example.
    static let aki: [UInt8] = [0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                               0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4]

    func testCertificateIDVectorFromRFC9773() {
        XCTAssertEqual(ACMEClient.renewalCertificateID(authorityKeyIdentifier: Self.aki, serialNumber: [0x00, 0x87, 0x65, 0x43, 0x21]),
                       "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
    }

    func testCertificateIDNormalisesUnsignedSerials() {
        XCTAssertEqual(ACMEClient.renewalCertificateID(authorityKeyIdentifier: Self.aki, serialNumber: [0x87, 0x65, 0x43, 0x21]),
                       "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
        XCTAssertEqual(ACMEClient.renewalCertificateID(authorityKeyIdentifier: [1], serialNumber: [0x00, 0x00, 0x12]), "AQ.Eg")
    }

    func testRenewalInfoIsFetchedWithPlainGETAndParsed() throws {
        let t = ScriptedTransport()
        let clock = ManualClock()
        let id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
        t.on(.get, "https://acme.test/ari/" + id, json("""
            {"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00.5Z"},
             "explanationURL":"https://acme.example.com/docs/ari"}
            """, headers: [("Retry-After", "21600")]))
        let client = makeClient(t, clock: clock)
        let info = try client.renewalInfo(certificateID: id)
        XCTAssertEqual(info.windowStart, Date(timeIntervalSince1970: 1_735_790_400))
        XCTAssertEqual(info.windowEnd, Date(timeIntervalSince1970: 1_735_876_800.5))
        XCTAssertEqual(info.explanationURL, "https://acme.example.com/docs/ari")
        XCTAssertEqual(info.retryAfter, 21600)
        XCTAssertEqual(t.log, ["GET /dir", "GET /ari/" + id])
        XCTAssertNil(client.accountURL)
        var generator = SystemRandomNumberGenerator()
        let pick = info.randomRenewalTime(using: &generator)
        XCTAssertTrue(pick >= info.windowStart && pick <= info.windowEnd)
    }

    func testRenewalInfoWithBadWindowIsUnexpected() {
        let t = ScriptedTransport()
        t.on(.get, "https://acme.test/ari/x.y", json(#"{"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}}"#))
        XCTAssertThrowsError(try makeClient(t).renewalInfo(certificateID: "x.y")) { error in
            guard case .unexpectedResponse? = error as? ACMEError else { return XCTFail("\(error)") }
        }
    }
}
