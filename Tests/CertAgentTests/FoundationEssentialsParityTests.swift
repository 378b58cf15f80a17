import ACME
@testable import CertAgent
import Foundation
import XCTest

/// The sources import FoundationEssentials only; the small replacements they use for what it lacks give exactly what
/// full Foundation gave (checked here against Foundation itself, which the tests may import).
final class FoundationEssentialsParityTests: XCTestCase {
    func testPathTextAgreesWithNSString() {
        let paths = ["/etc/certagent/config.json", "/etc/certagent/", "/etc", "/", "", "config.json", "a/b", "a/b/", "a//b",
                     "/a/b//", "./x", "../x/y", "/var/lib/certagent/live/example.com/versions/.staging-1"]
        for path in paths {
            XCTAssertEqual(PathText.parent(path), (path as NSString).deletingLastPathComponent, "parent of \"\(path)\"")
            XCTAssertEqual(PathText.lastComponent(path), (path as NSString).lastPathComponent, "last component of \"\(path)\"")
        }
    }

    func testTrimmingAgreesWithFoundation() {
        let texts = ["  abc  ", "\tabc\t", "\n abc \r\n", "abc", "", "   ", "\u{00A0}x\u{2003}", "\u{2028}x\u{85}", " a b ", "é\u{301} "]
        for text in texts {
            XCTAssertEqual(text.trimmingWhitespace(), text.trimmingCharacters(in: .whitespaces), "whitespace of \(text.debugDescription)")
            XCTAssertEqual(text.trimmingWhitespaceAndNewlines(), text.trimmingCharacters(in: .whitespacesAndNewlines),
                           "whitespace and newlines of \(text.debugDescription)")
        }
        XCTAssertEqual("\"up\"".trimming { $0 == "\"" }, "\"up\"".trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }

    func testOneDecimalAgreesWithPrintf() {
        for value in [0, 0.04, 0.05, 0.15, 0.25, 0.35, 0.45, 1.84, 1.85, 2.25, 9.96, 12.0, 123.456, 3_600.5, 0.95, 99.95] {
            XCTAssertEqual(DecimalText.oneDecimal(value), String(format: "%.1f", value), "\(value)")
        }
    }

    func testVersionIDTimeAgreesWithDateFormatter() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        for seconds in [0, 951_782_400.999, 1_795_000_000, 4_102_444_799.5] {
            let date = Date(timeIntervalSince1970: seconds)
            XCTAssertEqual(TimeText.iso8601Basic(date), formatter.string(from: date))
        }
        let id = CertificateStore.versionID(Date(timeIntervalSince1970: 1_795_000_000))
        XCTAssertTrue(id.hasPrefix(formatter.string(from: Date(timeIntervalSince1970: 1_795_000_000)) + "-"), id)
        XCTAssertEqual(id.count, "20261012T082640Z-".count + 8, id)
        XCTAssertTrue(id.suffix(8).allSatisfy(\.isHexDigit), id)
    }

    /// The webhook document's bytes are those `JSONSerialization` wrote: sorted keys, unescaped slashes, nulls.
    func testWebhookDocumentBytesAgreeWithJSONSerialization() throws {
        let notification = AgentNotification(event: .renewalFailed, certificate: "example", domains: ["example.com", "www.example.com"],
                                             subject: "CertAgent: example failed", message: "see https://example.com/a/b \"quoted\"\n",
                                             error: nil, notAfter: Date(timeIntervalSince1970: 1_795_000_000), since: nil,
                                             nextAttempt: nil, occurredAt: Date(timeIntervalSince1970: 1_794_000_000))
        let body = WebhookPayload.render(notification, format: .json).body
        let object: [String: Any] = [
            "schema": "certagent.notification/v1", "event": "renewalFailed", "certificate": "example",
            "domains": ["example.com", "www.example.com"], "subject": "CertAgent: example failed",
            "message": "see https://example.com/a/b \"quoted\"\n", "error": NSNull(), "notAfter": TimeText.rfc3339(notification.notAfter!),
            "since": NSNull(), "nextAttempt": NSNull(), "occurredAt": TimeText.rfc3339(notification.occurredAt),
        ]
        let expected = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        XCTAssertEqual(String(decoding: body, as: UTF8.self), String(decoding: expected, as: UTF8.self))
    }

    /// A config string is written as `JSONSerialization` wrote it.
    func testJSONStringLiteralAgreesWithJSONSerialization() throws {
        for text in ["plain", "/var/www/html", "quote \" and \\ backslash", "tab\tnew\nline", "é ✓", "\u{1}\u{1F}"] {
            let expected = try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            XCTAssertEqual(OrderedJSON.encoded(text), String(decoding: expected, as: UTF8.self), text.debugDescription)
        }
    }
}
