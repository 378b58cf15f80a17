import Foundation

/// A received or composed message split the way a mail reader does it (RFC 5322 §2.2.3 unfolding), for the e-mail
/// tests to check header by header.
struct ParsedEmail {
    let headerLines: [String]
    /// Unfolded fields in order: name as written, value without the leading space.
    let fields: [(name: String, value: String)]
    let bodyLines: [String]

    init(_ bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ParseError(reason: "no empty line after the header") }
        headerLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        var fields: [(name: String, value: String)] = []
        for line in headerLines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard let last = fields.popLast() else { throw ParseError(reason: "continuation line first") }
                fields.append((last.name, last.value + line))
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw ParseError(reason: "header line without a colon: \(line)") }
                fields.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
        }
        self.fields = fields
        var body = String(text[split.upperBound...])
        guard body.hasSuffix("\r\n") else { throw ParseError(reason: "the body does not end with CRLF") }
        body.removeLast(1)
        bodyLines = body.components(separatedBy: "\r\n")
    }

    /// Every value of the field `name` (case-insensitive).
    func values(_ name: String) -> [String] { fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }

    /// The one value of `name`, or nil when it is missing or repeated.
    func value(_ name: String) -> String? {
        let all = values(name)
        return all.count == 1 ? all[0] : nil
    }

    /// The subject with RFC 2047 B encoded-words decoded (whitespace between adjacent encoded-words dropped).
    var decodedSubject: String? {
        guard let raw = value("Subject") else { return nil }
        guard raw.hasPrefix("=?") else { return raw }
        var bytes: [UInt8] = []
        for word in raw.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="),
                  let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) else { return nil }
            bytes += data
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The body decoded per `Content-Transfer-Encoding`, each line ended by `\n` (as Python's `email` reads it).
    var decodedBody: String? {
        switch value("Content-Transfer-Encoding")?.lowercased() {
        case "7bit"?, "8bit"?: return bodyLines.map { $0 + "\n" }.joined()
        case "quoted-printable"?: return Self.decodeQuotedPrintable(bodyLines)
        default: return nil
        }
    }

    static func decodeQuotedPrintable(_ lines: [String]) -> String? {
        var bytes: [UInt8] = []
        for line in lines {
            var chars = Array(line.utf8)
            let soft = chars.last == 0x3D
            if soft { chars.removeLast() }
            var position = 0
            while position < chars.count {
                if chars[position] == 0x3D {
                    guard position + 2 < chars.count,
                          let byte = UInt8(String(decoding: chars[(position + 1)...(position + 2)], as: UTF8.self), radix: 16) else { return nil }
                    bytes.append(byte)
                    position += 3
                } else {
                    bytes.append(chars[position])
                    position += 1
                }
            }
            if !soft { bytes.append(0x0A) }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `Date` parsed as RFC 5322 `EEE, dd MMM yyyy HH:mm:ss Z`.
    var date: Date? {
        guard let raw = value("Date") else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: raw)
    }

    struct ParseError: Error { let reason: String }
}
