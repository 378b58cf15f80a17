import CertCrypto
import FoundationEssentials

/// Where the site check connects instead of port 443 of each name (config field `address`): `host:port`,
/// `ip:port` or `[v6]:port` — for a site behind a proxy or load balancer, and for tests. SNI stays each name.
public struct SiteAddress: Sendable, Equatable, CustomStringConvertible {
    /// A DNS name, an IPv4 address, or an IPv6 address in brackets (`[::1]`), as libcurl's connect-to takes it.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    /// The address `text` names, or the problem with it in words (for a config message).
    public static func parse(_ text: String) -> Result<SiteAddress, SiteAddressProblem> {
        guard text.utf8.count <= 300, !text.isEmpty else { return .failure(.init("must be host:port, ip:port or [ipv6]:port")) }
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(.init("has no port: write host:port, ip:port or [ipv6]:port (e.g. 127.0.0.1:8443)"))
        }
        let host = String(text[..<colon])
        let portText = String(text[text.index(after: colon)...])
        guard !portText.isEmpty, portText.utf8.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65_535).contains(port) else {
            return .failure(.init("has no valid port after the last ':' (1–65535)"))
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), isIPv6(String(host.dropFirst().dropLast())) else {
                return .failure(.init("has no valid IPv6 address between [ and ]"))
            }
            return .success(SiteAddress(host: host, port: port))
        }
        if host.contains(":") { return .failure(.init("an IPv6 address must be written in brackets: [::1]:443")) }
        if isIPv4(host) { return .success(SiteAddress(host: host, port: port)) }
        if let problem = DomainName.problem(with: host.lowercased()) { return .failure(.init("has an invalid host: \(problem)")) }
        return .success(SiteAddress(host: host.lowercased(), port: port))
    }

    private static func isIPv4(_ text: String) -> Bool { IPAddress(text).map { !$0.isIPv6 } ?? false }

    private static func isIPv6(_ text: String) -> Bool { IPAddress(text)?.isIPv6 ?? false }
}

/// Why an `address` value cannot be used, in words.
public struct SiteAddressProblem: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
