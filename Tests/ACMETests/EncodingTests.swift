import ByteEncoding
import Foundation
import XCTest
@testable import ACME

final class EncodingTests: XCTestCase {
    func testBase64URL() {
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF, 0xBF]), "-_-_")
        XCTAssertEqual(Base64URL.encode([0x00, 0x87, 0x65, 0x43, 0x21]), "AIdlQyE")
        XCTAssertEqual(Base64URL.decode("AIdlQyE"), [0x00, 0x87, 0x65, 0x43, 0x21])
        XCTAssertEqual(Base64URL.decode("-_-_"), [0xFB, 0xFF, 0xBF])
        XCTAssertEqual(Base64URL.decode(""), [])
        XCTAssertTrue(Base64URL.isAlphabet("aZ09-_"))
        XCTAssertFalse(Base64URL.isAlphabet(""))
        XCTAssertFalse(Base64URL.isAlphabet("a="))
    }

    func testHexEncodesLowercaseAndDecodesEitherCase() {
        XCTAssertEqual(Hex.encode([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
        XCTAssertEqual(Hex.encode([]), "")
        XCTAssertEqual(Hex.decode("000FA5ff"), [0x00, 0x0f, 0xa5, 0xff])
        XCTAssertNil(Hex.decode("abc"), "odd length")
        XCTAssertNil(Hex.decode("zz"), "not a hex digit")
    }

    /// The one JSON value type writes an integral number without a fraction (an ACME `reason` is an integer) and
    /// anything else as a JSON number.
    func testJSONValueNumbersAndNullEncodeAsJSON() throws {
        let value = JSONValue.object(["reason": .int(4), "half": .number(0.5), "none": .null, "url": .string("https://a/b")])
        XCTAssertEqual(String(decoding: try value.bytes(), as: UTF8.self), #"{"half":0.5,"none":null,"reason":4,"url":"https://a/b"}"#)
    }

    func testRFC3339WithAndWithoutFractions() {
        let base = Date(timeIntervalSince1970: 1_735_790_400)  // 2025-01-02T04:00:00Z
        XCTAssertEqual(Timestamps.rfc3339("2025-01-02T04:00:00Z"), base)
        XCTAssertEqual(Timestamps.rfc3339("2025-01-02t04:00:00z"), base)
        XCTAssertEqual(Timestamps.rfc3339("2025-01-02T04:00:00.25Z"), base.addingTimeInterval(0.25))
        XCTAssertEqual(Timestamps.rfc3339("2025-01-02T04:00:00.250000000Z")!.timeIntervalSince1970, base.timeIntervalSince1970 + 0.25, accuracy: 1e-6)
        XCTAssertEqual(Timestamps.rfc3339("2025-01-02T06:30:00+02:30"), base)
        XCTAssertEqual(Timestamps.rfc3339("2025-01-01T23:00:00-05:00"), base)
        XCTAssertEqual(Timestamps.rfc3339("2024-02-29T00:00:00Z"), Date(timeIntervalSince1970: 1_709_164_800))
        XCTAssertEqual(Timestamps.rfc3339("1970-01-01T00:00:00Z"), Date(timeIntervalSince1970: 0))
        for bad in ["2025-01-02", "2025-01-02T04:00:00", "2025-13-02T04:00:00Z", "2025-01-02T04:00:00.Z", "x", "2025-01-02T04:00:00Zjunk"] {
            XCTAssertNil(Timestamps.rfc3339(bad), bad)
        }
    }

    func testHTTPDateAndRetryAfter() {
        let now = Date(timeIntervalSince1970: 1_000)
        XCTAssertEqual(Timestamps.httpDate("Sun, 06 Nov 1994 08:49:37 GMT"), Date(timeIntervalSince1970: 784_111_777))
        XCTAssertEqual(RetryAfter.date("120", now: now), Date(timeIntervalSince1970: 1_120))
        XCTAssertEqual(RetryAfter.date(" 0 ", now: now), now)
        XCTAssertEqual(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", now: now), 784_110_777)
        XCTAssertEqual(RetryAfter.seconds("Thu, 01 Jan 1970 00:00:00 GMT", now: now), 0, "dates in the past mean now")
        XCTAssertNil(RetryAfter.date("soon", now: now))
        XCTAssertNil(RetryAfter.date("-5", now: now))
        XCTAssertNil(RetryAfter.date(nil, now: now))
    }

    func testNoncePoolIgnoresInvalidNoncesAndIsBounded() {
        var pool = NoncePool()
        pool.add("bad nonce")
        pool.add("")
        XCTAssertNil(pool.take())
        for i in 0..<40 { pool.add("n\(i)") }
        XCTAssertEqual(pool.nonces.count, NoncePool.capacity)
        XCTAssertEqual(pool.take(), "n39")
    }

    func testJWSRequestBodyIsFlattenedJSON() throws {
        let jws = try JWS.sign(payload: Array("{}".utf8), url: "https://x/y", nonce: "n", key: .kid("https://x/acct/1"), signer: FakeSigner())
        let text = String(decoding: try jws.bytes(), as: UTF8.self)
        let header = Base64URL.encode(#"{"alg":"ES256","kid":"https://x/acct/1","nonce":"n","url":"https://x/y"}"#)
        XCTAssertEqual(text, #"{"payload":"e30","protected":""# + header + #"","signature":"AQIDBA"}"#)
    }
}
