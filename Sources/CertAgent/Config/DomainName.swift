/// Checks DNS names the way a CA will (RFC 1035 §2.3.1 / RFC 5280 §4.2.1.6 preferred name syntax), so a typo
/// fails `certagent check` instead of an order.
public enum DomainName {
    /// Why `name` is not a DNS name CertAgent can get a certificate for with HTTP-01, or nil when it is fine.
    /// Names must already be lowercase.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.hasPrefix("*.") {
            return "is a wildcard name, which HTTP-01 cannot prove (RFC 8555 §8.3; Let's Encrypt requires the DNS-01 challenge for wildcards), and CertAgent validates with HTTP-01 only: list each name instead (e.g. www.\(name.dropFirst(2)))"
        }
        if name != name.lowercased() { return "must be lowercase" }
        if name.utf8.count > 253 { return "is longer than 253 characters" }
        if name.hasSuffix(".") { return "must not end with a dot" }
        if let host = host(inURL: name) { return "is a URL, not a name: write \(host)" }
        if name.allSatisfy({ $0.isNumber || $0 == "." }) || name.contains(":") {
            return "is neither a DNS name nor an IP address"
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 { return "is not a fully qualified name (it needs at least one dot)" }
        for label in labels {
            if label.isEmpty { return "has an empty label (two dots in a row)" }
            if label.utf8.count > 63 { return "has a label longer than 63 characters" }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "has a label that starts or ends with a hyphen" }
            let allowed = label.unicodeScalars.allSatisfy { scalar in
                (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "-"
            }
            if !allowed {
                return "has characters other than a-z, 0-9 and '-' (write internationalized names in their xn-- form)"
            }
        }
        return nil
    }

    /// The host name in `text` when it is a URL or has a path (`https://example.com/`, `example.com/shop`,
    /// `example.com:8080`): what the admin most likely meant. Nil for anything else, an IPv6 address included.
    public static func host(inURL text: String) -> String? {
        var rest = Substring(text)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        else if !rest.contains("/") && !(rest.split(separator: ":").count == 2 && rest.split(separator: ":")[1].allSatisfy(\.isNumber)) { return nil }
        if let at = rest.firstIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let host = rest.prefix { $0 != "/" && $0 != ":" && $0 != "?" && $0 != "#" }
        return host.isEmpty ? nil : host.lowercased()
    }
}
