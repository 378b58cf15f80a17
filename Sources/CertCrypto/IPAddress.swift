#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address: the octets of an X.509 `iPAddress` GeneralName (RFC 5280 §4.2.1.6: 4 octets for IPv4,
/// 16 for IPv6) and of an ACME `ip` identifier (RFC 8738). The one type CertAgent parses and prints addresses with:
/// two addresses are equal when their octets are, whatever text they were written in.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 octets (IPv4) or 16 (IPv6), in network order.
    public let octets: [UInt8]

    /// The address `text` spells in any form `inet_pton` accepts (`127.0.0.1`; `::1`, `0:0::1`, `2001:DB8::1`), or
    /// nil when it is not an address: a name, brackets, a zone ID (`%eth0`), a prefix (`/64`), an IPv4 number with a
    /// leading zero or fewer than four parts are all refused.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            octets = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            octets = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// The address of 4 or 16 octets; nil for any other count.
    public init?(octets: [UInt8]) {
        guard octets.count == 4 || octets.count == 16 else { return nil }
        self.octets = octets
    }

    /// True for an IPv6 address (16 octets).
    public var isIPv6: Bool { octets.count == 16 }

    /// True for an IPv6 address that only carries an IPv4 one: IPv4-mapped (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2)
    /// or the deprecated IPv4-compatible form (`::192.0.2.1`, §2.5.5.1; `::` and `::1` excepted).
    public var embedsIPv4: Bool {
        guard isIPv6, octets[0..<10].allSatisfy({ $0 == 0 }) else { return false }
        if octets[10] == 0xff, octets[11] == 0xff { return true }
        return octets[10] == 0 && octets[11] == 0 && (octets[12] != 0 || octets[13] != 0)
    }

    /// The canonical text: dotted decimal for IPv4; for IPv6 lowercase hexadecimal with the longest run of zero
    /// fields compressed (RFC 5952 §4, as `inet_ntop` writes it).
    public var text: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = isIPv6 ? AF_INET6 : AF_INET
        let written = octets.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard written else { return "" }  // unreachable: 4 or 16 octets always format
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address as the host of a URL (RFC 3986 §3.2.2): IPv6 in brackets (`[::1]`), IPv4 as it is.
    public var urlHost: String { isIPv6 ? "[\(text)]" : text }

    public var description: String { text }
}
