#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions between IP address text and the octets of an X.509 `iPAddress` GeneralName
/// (RFC 5280 §4.2.1.6: 4 octets for IPv4, 16 for IPv6).
enum IPAddress {
    /// The octets of an IPv4 or IPv6 literal, or nil if `text` is not one.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Canonical text for 4 or 16 octets (`inet_ntop`: dotted quad, or RFC 5952 style for IPv6).
    static func format(_ octets: [UInt8]) -> String? {
        let family: Int32
        switch octets.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = octets.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The canonical text of an IP literal, or nil if `text` is not one.
    static func canonical(_ text: String) -> String? {
        parse(text).flatMap(format)
    }
}
