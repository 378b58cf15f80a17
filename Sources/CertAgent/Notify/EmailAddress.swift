import CertCrypto

/// Checks the e-mail addresses and the mail server name CertAgent writes into SMTP commands and message headers.
///
/// Deliberately narrower than RFC 5322: a bare `local@domain` address in ASCII, the local part a dot-atom
/// (RFC 5322 §3.4.1, no quoted strings, no comments), the domain host-name labels. Anything that could end a header
/// or an SMTP command (CR, LF, other controls, spaces, angle brackets, commas, quotes) is refused, so header and
/// command injection cannot happen.
public enum EmailAddress {
    /// Characters of an RFC 5322 `atext` besides letters and digits.
    private static let atextSymbols = Set("!#$%&'*+-/=?^_`{|}~".utf8)

    /// Why `address` is not an address CertAgent can send to or from, or nil when it is fine.
    public static func problem(with address: String) -> String? {
        if address.isEmpty { return "is empty" }
        if !address.unicodeScalars.allSatisfy(\.isASCII) {
            return "has characters outside ASCII (write an internationalized domain in its xn-- form)"
        }
        if address.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "contains a control character (a line break?)" }
        if address.contains("<") || address.contains(">") || address.contains(" ") || address.contains("\"") {
            return "is not a bare address: write only name@domain, without a display name, quotes or angle brackets"
        }
        if address.contains(",") || address.contains(";") { return "holds more than one address: list each one separately" }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return "is not of the form name@domain" }
        if address.utf8.count > 254 { return "is longer than 254 characters" }
        let local = parts[0]
        if local.utf8.count > 64 { return "has a part before the @ longer than 64 characters" }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            return "has a dot at the start or end of the part before the @, or two dots in a row"
        }
        let atext = local.utf8.allSatisfy { byte in
            isLetterOrDigit(byte) || byte == 0x2E || atextSymbols.contains(byte)
        }
        if !atext { return "has characters not allowed before the @" }
        if let problem = hostProblem(String(parts[1]), allowIPAddress: false) { return "has a domain that \(problem)" }
        return nil
    }

    /// Why `host` is not a mail server name (a host name, or an IPv4 or IPv6 address without brackets), or nil.
    public static func serverProblem(with host: String) -> String? {
        if host.hasPrefix("[") && host.hasSuffix("]") { return "is in brackets: write the IPv6 address without them" }
        if host.contains("://") || host.contains("/") { return "is a URL: write only the server's name" }
        if host.contains(":"), !isIPv6(host) { return "is not a host name or IP address (put the port in the port field)" }
        return hostProblem(host, allowIPAddress: true)
    }

    private static func hostProblem(_ host: String, allowIPAddress: Bool) -> String? {
        if allowIPAddress && (isIPv6(host) || isIPv4(host)) { return nil }
        if host.isEmpty { return "is empty" }
        if host.utf8.count > 253 { return "is longer than 253 characters" }
        if host.hasSuffix(".") { return "must not end with a dot" }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "has an empty label (two dots in a row)" }
            if label.utf8.count > 63 { return "has a label longer than 63 characters" }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "has a label that starts or ends with a hyphen" }
            if !label.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == 0x2D }) {
                return "has characters other than letters, digits, '-' and '.'"
            }
        }
        return nil
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
    }

    private static func isIPv4(_ text: String) -> Bool { IPAddress(text).map { !$0.isIPv6 } ?? false }

    private static func isIPv6(_ text: String) -> Bool { IPAddress(text)?.isIPv6 ?? false }

    /// The domain of a valid address, lowercased.
    static func domain(of address: String) -> String {
        address.split(separator: "@").last.map { $0.lowercased() } ?? address
    }
}
