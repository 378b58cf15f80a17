import ACME
import ByteEncoding
import CertCrypto
import FoundationEssentials

/// A plain-text e-mail message (RFC 5322, MIME RFC 2045/2047) as CertAgent sends it: every line CRLF-terminated
/// and at most 998 octets, header fields folded at 78 characters where they can be, a non-ASCII subject as RFC 2047
/// encoded-words, the body in 7bit when it is short-lined ASCII and quoted-printable otherwise.
///
/// The body is never sent as 8bit: that needs the SMTP `BODY=8BITMIME` parameter (RFC 6152), which libcurl does
/// not send. Dot-stuffing (RFC 5321 §4.5.2) is libcurl's job, so a line starting with `.` is left as it is here.
public struct EmailMessage: Sendable {
    /// The sender's address (validated): the `From` field, with the display name `CertAgent`.
    public var from: String
    /// The recipients (validated): the `To` field.
    public var to: [String]
    /// One line; control characters in it are shown as escapes (`\r`, `\n`), never sent raw.
    public var subject: String
    /// The plain-text body; any line ending is sent as CRLF, control characters (but tab) as escapes.
    public var body: String
    /// The `Date` field: when the message was composed.
    public var date: Date
    /// The `Message-ID` field including its angle brackets, e.g. `<5f0c…@example.com>`.
    public var messageID: String
    /// Further fields (`Auto-Submitted`, `X-CertAgent-Event`); names must be tokens and values printable ASCII.
    public var extraFields: [(name: String, value: String)]

    /// The longest a subject may be (in bytes of its text) before it is cut.
    public static let subjectLimit = 400

    /// A message; nothing is checked until `problem()` or `bytes()`.
    public init(from: String, to: [String], subject: String, body: String, date: Date, messageID: String,
                extraFields: [(name: String, value: String)] = []) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
        self.extraFields = extraFields
    }

    /// A new `Message-ID` (RFC 5322 §3.6.4): 128 random bits and the time, at the sender's domain.
    public static func newMessageID(from address: String, date: Date) throws -> String {
        let random = try Hex.encode(SecureRandom.bytes(16))
        return "<\(Int(date.timeIntervalSince1970)).\(random)@\(EmailAddress.domain(of: address))>"
    }

    /// Why the message cannot be composed (an invalid address or field), or nil.
    public func problem() -> String? {
        if let problem = EmailAddress.problem(with: from) { return "the sender \(UntrustedText.display(from)) \(problem)" }
        if to.isEmpty { return "there is no recipient" }
        for address in to {
            if let problem = EmailAddress.problem(with: address) { return "the recipient \(UntrustedText.display(address)) \(problem)" }
        }
        if !Self.isSafeFieldValue(messageID) || !messageID.hasPrefix("<") || !messageID.hasSuffix(">") || !messageID.contains("@") {
            return "the Message-ID \(UntrustedText.display(messageID)) is not of the form <id@domain>"
        }
        for field in extraFields where !Self.isFieldName(field.name) || !Self.isSafeFieldValue(field.value) {
            return "the header field \(UntrustedText.display(field.name)) has an invalid name or value"
        }
        return nil
    }

    /// The message as sent: header, empty line, body, all CRLF. Throws when `problem()` finds one.
    public func bytes() throws -> [UInt8] {
        if let problem = problem() { throw EmailMessageError(reason: problem) }
        let encodedBody = Self.encodeBody(body)
        var fields: [String] = [
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: \(messageID)",
            "From: CertAgent <\(from)>",
            Self.foldList("To:", to),
            Self.subjectField(subject),
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: \(encodedBody.encoding)",
        ]
        fields += extraFields.map { "\($0.name): \($0.value)" }
        let text = fields.joined(separator: "\r\n") + "\r\n\r\n" + encodedBody.lines.joined(separator: "\r\n") + "\r\n"
        return Array(text.utf8)
    }

    // MARK: Header fields

    /// RFC 5322 §3.3 date-time in UTC: `Tue, 01 Dec 2026 16:29:12 +0000`.
    public static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = days[((parts.weekday ?? 1) - 1) % 7]
        let month = months[((parts.month ?? 1) - 1) % 12]
        func two(_ value: Int?) -> String { String(value ?? 0).leftPadded(to: 2) }
        return "\(weekday), \(two(parts.day)) \(month) \(String(parts.year ?? 1970).leftPadded(to: 4)) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }

    /// `Subject:` with the text made safe: controls escaped, cut at `subjectLimit`; plain folded ASCII when it can
    /// be, RFC 2047 `=?UTF-8?B?…?=` encoded-words (one per folded line, whole characters each) otherwise.
    static func subjectField(_ subject: String) -> String {
        let text = UntrustedText.display(subject, limit: subjectLimit)
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && words.allSatisfy { $0.utf8.count <= 66 }
            && !text.contains("=?") && !text.hasPrefix(" ") && !text.hasSuffix(" ") && !text.contains("  ")
        if plain { return fold("Subject:", words.map(String.init), separator: " ") }
        return "Subject: " + encodedWords(text).joined(separator: "\r\n ")
    }

    /// RFC 2047 §2 B-encoded words of at most 75 characters, each holding whole Unicode scalars (§5), each line of
    /// the field at most 76 characters: 39 bytes (52 base64 characters) after `Subject: `, 45 bytes (60) on the
    /// folded lines after it.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
            chunk = []
        }
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > (words.isEmpty ? 39 : 45) { flush() }
            chunk += bytes
        }
        flush()
        return words.isEmpty ? ["=?UTF-8?B??="] : words
    }

    /// `Name: a, b, c`, a new line (folding white space) before an item that would pass 78 characters.
    static func foldList(_ name: String, _ items: [String]) -> String {
        fold(name, items.enumerated().map { $0.offset < items.count - 1 ? $0.element + "," : $0.element }, separator: " ")
    }

    private static func fold(_ name: String, _ items: [String], separator: String) -> String {
        var lines: [String] = []
        var line = name
        for item in items {
            if line.utf8.count + separator.utf8.count + item.utf8.count > 78 && line != name {
                lines.append(line)
                line = ""
            }
            line += separator + item
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    private static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }
    }

    private static func isSafeFieldValue(_ value: String) -> Bool {
        value.utf8.count <= 900 && value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    // MARK: Body

    /// The body's lines (each sent with CRLF after it; a final line break in `body` ends the last line rather than
    /// adding an empty one) and the transfer encoding they are in.
    static func encodeBody(_ body: String) -> (encoding: String, lines: [String]) {
        var text = body.replacing("\r\n", with: "\n").replacing("\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.split(separator: "\t", omittingEmptySubsequences: false)
                .map { UntrustedText.display(String($0), limit: Int.max) }.joined(separator: "\t") }
        let sevenBit = lines.allSatisfy { $0.utf8.count <= 998 && $0.utf8.allSatisfy { $0 < 0x80 } }
        if sevenBit { return ("7bit", lines) }
        return ("quoted-printable", lines.flatMap { quotedPrintable(Array($0.utf8)) })
    }

    /// One line of text as quoted-printable lines (RFC 2045 §6.7): at most 76 characters each, soft breaks (`=`)
    /// between them, `=XX` never split, a space or tab at the end of the line encoded.
    static func quotedPrintable(_ bytes: [UInt8]) -> [String] {
        var output: [String] = []
        var line = ""
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let literal = (byte >= 33 && byte <= 126 && byte != 0x3D) || ((byte == 0x20 || byte == 0x09) && !isLast)
            let piece = literal ? String(UnicodeScalar(byte)) : "=" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            // Room for the piece and, unless this is the last one, a soft break.
            if line.utf8.count + piece.utf8.count > (isLast ? 76 : 75) {
                output.append(line + "=")
                line = ""
            }
            line += piece
        }
        output.append(line)
        return output
    }
}

/// A message that cannot be composed: an invalid address or header field.
public struct EmailMessageError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in words, with outside text escaped.
    public let reason: String
    /// The reason.
    public var description: String { reason }
}
