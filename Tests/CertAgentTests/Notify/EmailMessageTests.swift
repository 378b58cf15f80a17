import CertAgent
import Foundation
import XCTest

/// Composition of the notification e-mail: header fields, CRLF, line lengths, encoded-word subjects, encodings, and
/// no way to inject a header.
final class EmailMessageTests: XCTestCase {
    private let sent = Date(timeIntervalSince1970: 1_796_142_552)   // 2026-12-01 16:29:12 UTC, a Tuesday

    private func message(subject: String = "Renewal of shop failed", body: String = "The renewal failed.\n",
                         to: [String] = ["admin@example.com"]) -> EmailMessage {
        EmailMessage(from: "certagent@mail.example.com", to: to, subject: subject, body: body, date: sent,
                     messageID: "<1796142552.abc@mail.example.com>", extraFields: [("Auto-Submitted", "auto-generated")])
    }

    private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                result.append(current)
                current = []
                index += 2
            } else {
                current.append(bytes[index])
                index += 1
            }
        }
        XCTAssertTrue(current.isEmpty, "the message must end with CRLF")
        return result
    }

    func testHeaderFieldsArePresentAndWellFormed() throws {
        let parsed = try ParsedEmail(message().bytes())
        XCTAssertEqual(parsed.value("Date"), "Tue, 01 Dec 2026 16:29:12 +0000")
        XCTAssertEqual(parsed.date, sent)
        XCTAssertEqual(parsed.value("Message-ID"), "<1796142552.abc@mail.example.com>")
        XCTAssertEqual(parsed.value("From"), "CertAgent <certagent@mail.example.com>")
        XCTAssertEqual(parsed.value("To"), "admin@example.com")
        XCTAssertEqual(parsed.value("Subject"), "Renewal of shop failed")
        XCTAssertEqual(parsed.value("MIME-Version"), "1.0")
        XCTAssertEqual(parsed.value("Content-Type"), "text/plain; charset=utf-8")
        XCTAssertEqual(parsed.value("Content-Transfer-Encoding"), "7bit")
        XCTAssertEqual(parsed.value("Auto-Submitted"), "auto-generated")
        XCTAssertEqual(parsed.decodedBody, "The renewal failed.\n")
    }

    func testDatesAcrossTheCalendar() {
        XCTAssertEqual(EmailMessage.rfc5322Date(Date(timeIntervalSince1970: 0)), "Thu, 01 Jan 1970 00:00:00 +0000")
        XCTAssertEqual(EmailMessage.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)), "Tue, 29 Feb 2000 00:00:00 +0000")
        XCTAssertEqual(EmailMessage.rfc5322Date(Date(timeIntervalSince1970: 1_830_297_599)), "Fri, 31 Dec 2027 23:59:59 +0000")
    }

    func testNewMessageIDsAreUniqueAtTheSendersDomain() throws {
        let first = try EmailMessage.newMessageID(from: "certagent@Mail.Example.com", date: sent)
        let second = try EmailMessage.newMessageID(from: "certagent@Mail.Example.com", date: sent)
        XCTAssertNotEqual(first, second)
        for id in [first, second] {
            XCTAssertTrue(id.hasPrefix("<") && id.hasSuffix("@mail.example.com>"), id)
            XCTAssertEqual(id.filter { $0 == "@" }.count, 1, id)
            XCTAssertGreaterThanOrEqual(id.count, 32 + 20, id)
        }
    }

    func testEveryLineEndsInCRLFAndHeaderLinesAreFolded() throws {
        let recipients = (1...12).map { "administrator\($0)@operations.example.com" }
        let bytes = try message(subject: String(repeating: "word ", count: 40) + "end", body: "a\nb\r\nc\rd", to: recipients).bytes()
        let all = lines(bytes)
        // No bare CR or LF anywhere.
        XCTAssertFalse(all.contains { $0.contains(0x0D) || $0.contains(0x0A) })
        let headerEnd = try XCTUnwrap(all.firstIndex(of: []))
        for line in all[..<headerEnd] { XCTAssertLessThanOrEqual(line.count, 78, String(decoding: line, as: UTF8.self)) }
        let parsed = try ParsedEmail(bytes)
        XCTAssertEqual(parsed.value("To")?.replacing(" ", with: "").split(separator: ",").map(String.init), recipients)
        XCTAssertEqual(parsed.value("Subject"), String(repeating: "word ", count: 40) + "end")
        XCTAssertEqual(parsed.decodedBody, "a\nb\nc\nd\n")
    }

    func testNonASCIISubjectIsRFC2047EncodedWords() throws {
        let subject = "Zertifikat für bäckerei.example läuft ab — 証明書の更新に失敗しました 🙁 " + String(repeating: "ü", count: 60)
        let bytes = try message(subject: subject).bytes()
        let parsed = try ParsedEmail(bytes)
        XCTAssertEqual(parsed.decodedSubject, subject)
        let subjectLines = parsed.headerLines.drop { !$0.hasPrefix("Subject:") }.prefix { $0.hasPrefix("Subject:") || $0.hasPrefix(" ") }
        XCTAssertGreaterThan(subjectLines.count, 2)
        for line in subjectLines {
            let word = line.hasPrefix("Subject: ") ? String(line.dropFirst(9)) : String(line.dropFirst())
            XCTAssertTrue(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="), line)
            XCTAssertLessThanOrEqual(word.count, 75, line)
            XCTAssertLessThanOrEqual(line.count, 76, line)
            XCTAssertTrue(word.unicodeScalars.allSatisfy { $0.isASCII }, line)
            // Each encoded-word holds whole characters on its own (RFC 2047 §5).
            XCTAssertNotNil(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).flatMap { String(validating: Array($0), as: UTF8.self) }, line)
        }
    }

    func testHeaderInjectionThroughTheSubjectIsEscaped() throws {
        let parsed = try ParsedEmail(message(subject: "shop failed\r\nBcc: victim@evil.test\nX-Evil: 1").bytes())
        XCTAssertTrue(parsed.values("Bcc").isEmpty)
        XCTAssertTrue(parsed.values("X-Evil").isEmpty)
        XCTAssertEqual(parsed.value("Subject"), "shop failed\\r\\nBcc: victim@evil.test\\nX-Evil: 1")
    }

    func testAddressesThatCouldInjectAreRefused() {
        let bad = ["admin@example.com\r\nBcc: victim@evil.test", "Admin <admin@example.com>", "a@b.example, c@d.example",
                   "admin", "@example.com", "admin@", "a..b@example.com", ".a@example.com", "admin@exa mple.com",
                   "admin@example..com", "admin@-example.com", "adm\u{1b}in@example.com", "admïn@example.com",
                   "a@b@example.com", "\"quoted\"@example.com", ""]
        for address in bad {
            XCTAssertNotNil(EmailAddress.problem(with: address), address.debugDescription)
            XCTAssertThrowsError(try message(to: [address]).bytes(), address.debugDescription) { error in
                XCTAssertFalse("\(error)".contains("\r") || "\(error)".contains("\n"), "\(error)")
            }
        }
        for address in ["admin@example.com", "first.last+certs@mail.example.co.uk", "root@localhost", "o'brien@example.com"] {
            XCTAssertNil(EmailAddress.problem(with: address), address)
        }
    }

    func testLongBodyLinesAreQuotedPrintableAndDecodeBack() throws {
        let long = String(repeating: "0123456789", count: 150) + " trailing space "
        let body = "short line\n\(long)\nGültig bis: morgen = bald\n.starts with a dot\n"
        let bytes = try message(body: body).bytes()
        let parsed = try ParsedEmail(bytes)
        XCTAssertEqual(parsed.value("Content-Transfer-Encoding"), "quoted-printable")
        for line in parsed.bodyLines { XCTAssertLessThanOrEqual(line.utf8.count, 76, line) }
        XCTAssertTrue(parsed.bodyLines.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) })
        XCTAssertTrue(parsed.bodyLines.contains("G=C3=BCltig bis: morgen =3D bald"), "\(parsed.bodyLines)")
        // Dot-stuffing is libcurl's job: not done here.
        XCTAssertTrue(parsed.bodyLines.contains(".starts with a dot"))
        XCTAssertEqual(parsed.decodedBody, body)
    }

    func testControlCharactersInTheBodyAreShownNotSent() throws {
        let parsed = try ParsedEmail(message(body: "error: \u{1b}[31mred\u{1b}[0m\tand a tab\u{0}").bytes())
        XCTAssertEqual(parsed.decodedBody, "error: \\x1b[31mred\\x1b[0m\tand a tab\\x00\n")
    }
}
