import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The address records a CA would look up for an HTTP-01 name: A (IPv4) or AAAA (IPv6).
public enum AddressFamily: String, Sendable, Equatable, CaseIterable {
    case ipv4 = "A"
    case ipv6 = "AAAA"

    /// "IPv4" or "IPv6", for sentences.
    public var label: String { self == .ipv4 ? "IPv4" : "IPv6" }
}

/// One address a name resolved to.
public struct ResolvedAddress: Sendable, Equatable {
    public let family: AddressFamily
    /// The address in its usual text form (`192.0.2.1`, `2001:db8::5`).
    public let address: String

    public init(family: AddressFamily, address: String) {
        self.family = family
        self.address = address
    }
}

/// Looks a name up through the system resolver (`getaddrinfo`, so `/etc/hosts` and DNS as configured), once per
/// address family, as a CA resolving A and AAAA records separately would see them.
public enum AddressLookup {
    /// Why a lookup gave no answer other than "no such record".
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let name: String
        public let family: AddressFamily
        public let reason: String
        public var description: String { "the \(family.rawValue) lookup of \(name) failed: \(reason)" }
    }

    /// The addresses of `name` in `family`, in the resolver's order without repeats; empty when there is no such
    /// record (or no such name). An IP address literal resolves to itself in its own family.
    public static func addresses(of name: String, family: AddressFamily) throws -> [String] {
        var hints = addrinfo()
        hints.ai_family = family == .ipv4 ? AF_INET : AF_INET6
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        switch status {
        case 0: break
        case EAI_NONAME, Self.noDataStatus, Self.noAddressInFamilyStatus: return []
        default: throw Failure(name: name, family: family, reason: String(cString: gai_strerror(status)))
        }
        var found: [String] = []
        var entry = list
        while let current = entry {
            if let text = text(of: current.pointee), !found.contains(text) { found.append(text) }
            entry = current.pointee.ai_next
        }
        return found
    }

    /// Both families: A first, then AAAA.
    public static func addresses(of name: String) throws -> [ResolvedAddress] {
        try AddressFamily.allCases.flatMap { family in try addresses(of: name, family: family).map { ResolvedAddress(family: family, address: $0) } }
    }

    /// glibc's `EAI_NODATA` and `EAI_ADDRFAMILY` (GNU extensions, not imported into Swift): the name exists but has
    /// no address of the family asked for.
    private static let noDataStatus: Int32 = -5
    private static let noAddressInFamilyStatus: Int32 = -9

    private static func text(of info: addrinfo) -> String? {
        guard let socketAddress = info.ai_addr else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let written: UnsafePointer<CChar>?
        switch info.ai_family {
        case AF_INET:
            written = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                return inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
            }
        case AF_INET6:
            written = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                var raw = address.pointee.sin6_addr
                return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
            }
        default:
            return nil
        }
        guard written != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
