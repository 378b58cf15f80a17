import Foundation
import XCTest
@testable import ACME

/// What a CA (or any outside party) sends is shown as data: controls visible and never interpreted, bytes that are not
/// UTF-8 visible, length bounded, characters never cut in half.
final class UntrustedTextTests: XCTestCase {
    func testLineBreaksAndTabsAreShownByName() {
        XCTAssertEqual(UntrustedText.display("a\r\nb\nc\rd\te"), #"a\r\nb\nc\rd\te"#)
    }

    func testEscapeSequencesNulAndDelAreShownAsHex() {
        XCTAssertEqual(UntrustedText.display("\u{1b}[31mred\u{1b}[0m"), #"\x1b[31mred\x1b[0m"#)
        XCTAssertEqual(UntrustedText.display("a\u{0}b\u{7f}c\u{7}"), #"a\x00b\x7fc\x07"#)
    }

    func testC1ControlsSeparatorsAndBidiOverridesAreEscaped() {
        // U+009B is a one-character CSI on terminals that honour C1; U+0085 is NEL (a line break to some readers).
        XCTAssertEqual(UntrustedText.display("a\u{9b}31mb\u{85}c"), #"a\u{9b}31mb\u{85}c"#)
        XCTAssertEqual(UntrustedText.display("line\u{2028}para\u{2029}end"), #"line\u{2028}para\u{2029}end"#)
        XCTAssertEqual(UntrustedText.display("abc\u{202e}fed"), #"abc\u{202e}fed"#)
    }

    func testOrdinaryTextIncludingNonASCIIIsUnchanged() {
        let text = "Error creating new order :: café – 名前 ✓ \"quoted\" back\\slash"
        XCTAssertEqual(UntrustedText.display(text), text)
        XCTAssertEqual(UntrustedText.display(""), "")
        XCTAssertEqual(UntrustedText.display(UntrustedText.display("a\nb\u{1b}")), #"a\nb\x1b"#, "escaping again changes nothing")
    }

    func testInvalidUTF8BytesAreShownAsHex() {
        XCTAssertEqual(UntrustedText.display(bytes: [0x61, 0xff, 0xfe, 0x62]), #"a\xff\xfeb"#)
        XCTAssertEqual(UntrustedText.display(bytes: [0x61, 0xc3]), #"a\xc3"#, "a truncated sequence at the end")
        XCTAssertEqual(UntrustedText.display(bytes: [0xc3, 0xa9, 0x1b, 0x0a]), #"é\x1b\n"#)
        // A DER certificate body sent where PEM was expected: no raw byte reaches the output.
        let der: [UInt8] = [0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0xc4]
        let shown = UntrustedText.display(bytes: der)
        XCTAssertTrue(shown.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }, shown)
        XCTAssertEqual(shown, #"0\x82\x01\n\x02\x82\x01\x01\x00\xc4"#)
    }

    func testLengthIsBoundedAndTheRestCounted() {
        let token = String(repeating: "A", count: 10_000)
        XCTAssertEqual(UntrustedText.display(token, limit: 64), String(repeating: "A", count: 64) + "… (9936 more bytes)")
        XCTAssertEqual(UntrustedText.display(String(repeating: "b", count: 512)), String(repeating: "b", count: 512), "exactly the limit: whole")
        XCTAssertEqual(UntrustedText.display("abc", limit: 0), "… (3 more bytes)")
        // The bound counts the original bytes: escaping does not let more through.
        XCTAssertEqual(UntrustedText.display(String(repeating: "\n", count: 10), limit: 4), String(repeating: #"\n"#, count: 4) + "… (6 more bytes)")
    }

    func testMultiByteCharactersAreNeverCutInHalf() {
        // "é" is 2 bytes, "名" 3, "😀" 4: a limit inside one stops before it.
        XCTAssertEqual(UntrustedText.display("aé", limit: 2), "a… (2 more bytes)")
        XCTAssertEqual(UntrustedText.display("ab名", limit: 4), "ab… (3 more bytes)")
        XCTAssertEqual(UntrustedText.display("😀😀", limit: 7), "😀… (4 more bytes)")
        XCTAssertEqual(UntrustedText.display("😀😀", limit: 8), "😀😀")
        for limit in 0...12 {
            let shown = UntrustedText.display("é名😀x", limit: limit)
            XCTAssertFalse(shown.contains("\u{fffd}"), "limit \(limit): \(shown)")
            XCTAssertFalse(shown.contains(#"\x"#), "limit \(limit): no half character shown as bytes: \(shown)")
        }
    }

    func testHostileProblemDetailIsOneEscapedBoundedLine() throws {
        let forged = "bad\r\n2026-12-01T00:00:00Z NOTICE [shop] issued\u{1b}[2J\u{1b}[31m" + String(repeating: "x", count: 5_000)
        let document = try JSONEncoder().encode(["type": "urn:ietf:params:acme:error:rateLimited\u{1b}[0m", "detail": forged])
        let problem = try JSONDecoder().decode(ACMEProblem.self, from: document)
        XCTAssertEqual(problem.detail, forged, "the document keeps the CA's data as it was")
        let text = problem.description
        XCTAssertFalse(text.contains("\n") || text.contains("\r") || text.contains("\u{1b}"), text)
        XCTAssertTrue(text.hasPrefix(#"rateLimited\x1b[0m: bad\r\n2026-12-01T00:00:00Z NOTICE [shop] issued\x1b[2J\x1b[31mxxx"#), text)
        XCTAssertTrue(text.hasSuffix("… (\(forged.utf8.count - UntrustedText.defaultLimit) more bytes)"), text)
        XCTAssertLessThan(text.utf8.count, 700)
    }

    func testSubproblemsAndIdentifiersAreEscapedAndTheirNumberBounded() {
        let sub = (0..<50).map { _ in ACMEProblem(type: "urn:ietf:params:acme:error:caa", detail: "no\nway",
                                            identifier: .dns("evil\u{1b}]0;title\u{7}.test")) }
        let problem = ACMEProblem(type: "urn:ietf:params:acme:error:compound", detail: "many", subproblems: sub)
        let text = problem.description
        XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 }, text)
        XCTAssertTrue(text.contains(#"caa [dns:evil\x1b]0;title\x07.test]: no\nway"#), text)
        XCTAssertEqual(text.components(separatedBy: "caa [").count - 1, ACMEProblem.describedSubproblems)
        XCTAssertTrue(text.hasSuffix("; … (40 more subproblems))"), text)
    }

    func testErrorsShowURLsTokensAndStatusesEscapedAndBounded() {
        let token = String(repeating: "T", count: 10_000) + "\u{1b}[31m"
        let tokenText = ACMEError.invalidToken(token).description
        XCTAssertEqual(tokenText, "challenge token is not base64url: \"" + String(repeating: "T", count: 64) + "… (9941 more bytes)\"")
        let url = "https://ca.test/order/1\r\nX-Forged: 1" + String(repeating: "/", count: 1_000)
        let order = ACMEError.orderFailed(url: url, status: "invalid\u{1b}[5m", problem: nil).description
        XCTAssertTrue(order.hasPrefix(#"order https://ca.test/order/1\r\nX-Forged: 1///"#), order)
        XCTAssertTrue(order.hasSuffix("… (\(url.utf8.count - 256) more bytes) is " + #"invalid\x1b[5m"#), order)
        XCTAssertFalse(ACMEError.timedOut(what: "order", url: url).description.contains("\n"))
    }

    func testUnexpectedBinaryBodyIsShownEscapedAndBounded() {
        let t = ScriptedTransport()
        // DER (not PEM) with an escape sequence and CR LF in it, then every byte value.
        let body: [UInt8] = [0x30, 0x82, 0xff, 0x1b, 0x5b, 0x32, 0x4a, 0x0d, 0x0a] + (0..<2_000).map { UInt8($0 % 256) }
        t.on(.post, Fixture.b + "/cert", HTTPResponse(status: 200, headers: [(name: "Content-Type", value: "application/pkix-cert")], body: body))
        let client = makeClient(t, accountURL: Fixture.accountURL)
        XCTAssertThrowsError(try client.downloadCertificate(at: Fixture.b + "/cert")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f && !(0x80...0x9f).contains($0.value) }, text)
            XCTAssertTrue(text.contains(#"not a PEM certificate chain: 0\x82\xff\x1b[2J\r\n"#), text)
            XCTAssertTrue(text.hasSuffix("… (\(body.count - 200) more bytes)"), text)
        }
    }

    private struct Body: Decodable {
        struct Window: Decodable { var start: String }
        var status: String
        var list: [Window]
    }

    private func explained(_ json: String) -> String {
        let result = Result { try JSONDecoder().decode(Body.self, from: Data(json.utf8)) }
        if case .failure(let error) = result { return ACMEClient.explain(error) }
        return "decoded"
    }

    func testUndecodableBodiesAreExplainedInWordsNotAsDecodingErrorDumps() {
        XCTAssertEqual(explained(#"{"list":[]}"#), #"the field "status" is missing"#)
        XCTAssertEqual(explained(#"{"status":5,"list":[]}"#), #"the field "status" is not a string"#)
        XCTAssertEqual(explained(#"{"status":null,"list":[]}"#), #"the field "status" is null"#)
        XCTAssertEqual(explained(#"{"status":"x","list":[{"start":1}]}"#), #"the field "list[0].start" is not a string"#)
        XCTAssertEqual(explained("<html>"), "the body is not valid JSON")
    }

    func testRetryAfterBeyondAHundredYearsIsReadAsAHundredYears() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertEqual(RetryAfter.date("999999999", now: now), now.addingTimeInterval(999_999_999), "what the CA asked, as asked")
        XCTAssertEqual(RetryAfter.date("99999999999999999999999999", now: now), now.addingTimeInterval(RetryAfter.maximumSeconds))
        XCTAssertNil(RetryAfter.date("-5", now: now))
    }
}
