import ACME
import CertCrypto

/// An entry of a certificate's `domains` that is an IP address (RFC 8738), or looks like one. An address is recognised
/// by parsing it, and must be written the one way the CA and the certificate will show it: IPv4 in dotted decimal
/// without leading zeros, IPv6 in its RFC 5952 canonical form (`::1`, not `0:0::1`; hexadecimal digits in either case),
/// with no brackets, zone ID or prefix length.
public enum IPAddressEntry {
    /// What an entry is.
    public enum Reading: Sendable, Equatable {
        /// Not an address and not meant as one: a DNS name (or not), for `DomainName` to judge.
        case notAnAddress
        /// An address in canonical form.
        case address(IPAddress)
        /// Meant as an address but not usable as written; the problem in words (for a config or flag message).
        case problem(String)
    }

    /// Reads `written` as the admin wrote it.
    public static func read(_ written: String) -> Reading {
        if let address = IPAddress(written) {
            if address.embedsIPv4 {
                let v4 = IPAddress(octets: Array(address.octets.suffix(4)))!.text
                return .problem("is an IPv6 address that only carries the IPv4 address \(v4): write \(v4)")
            }
            guard address.text == written.lowercased() else {
                return .problem("is not written in canonical form (RFC 5952 for IPv6): write \(address.text)")
            }
            return .address(address)
        }
        if written.hasPrefix("["), written.hasSuffix("]"), let address = IPAddress(String(written.dropFirst().dropLast())) {
            return .problem("has brackets, which belong in URLs only: write \(address.text)")
        }
        if let percent = written.firstIndex(of: "%"), let address = IPAddress(String(written[..<percent])) {
            return .problem("has a zone ID (\(written[percent...])), which no certificate can hold: write \(address.text) if it is meant")
        }
        if let slash = written.firstIndex(of: "/"), IPAddress(String(written[..<slash])) != nil,
           written[written.index(after: slash)...].allSatisfy({ $0.isASCII && $0.isNumber }) {
            return .problem("is a network prefix: a certificate holds single addresses (list each one)")
        }
        if DomainName.host(inURL: written) != nil { return .notAnAddress }  // `1.2.3.4:80`, a URL: DomainName says so
        if !written.isEmpty, written.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            let parts = written.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && Int($0)! <= 255 }) {
                let decimal = parts.map { String(Int($0)!) }.joined(separator: ".")
                return .problem("has a number with a leading zero, which some software reads as octal: write \(decimal) if that is meant")
            }
            return .problem("is not a valid IPv4 address (four numbers 0–255 separated by dots)")
        }
        if written.contains(":"), written.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) {
            return .problem("is not a valid IPv6 address")
        }
        return .notAnAddress
    }

    /// The certificate name (a store directory) an entry gives when the config names none: the entry itself in lower
    /// case; an IPv6 address with its colons written as `-`, as colons cannot appear in a certificate's name, and a
    /// leading `::` as `0::` so the name never starts with `-` like a command-line option (`2001:db8::1` →
    /// `2001-db8--1`, `::1` → `0--1`).
    public static func defaultCertificateName(for firstDomain: String) -> String {
        let lower = firstDomain.lowercased()
        guard lower.contains(":") else { return lower }
        return (lower.hasPrefix(":") ? "0" + lower : lower).replacing(":", with: "-")
    }
}

extension CertificateConfig {
    /// The ACME identifiers to order, in the order of `domains`: `ip` for an address (RFC 8738 §3, canonical text),
    /// `dns` for a name (RFC 8555 §9.7.7).
    public var identifiers: [ACMEIdentifier] {
        domains.map { domain in IPAddress(domain) != nil ? .ip(domain) : .dns(domain) }
    }
}
