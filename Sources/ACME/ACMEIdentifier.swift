/// An identifier a certificate is requested for (RFC 8555 §7.1.3, §9.7.7; IP addresses RFC 8738).
public struct ACMEIdentifier: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The identifier type, e.g. `dns` or `ip`.
    public var type: String
    /// The identifier value, e.g. `www.example.org` (a wildcard keeps its `*.` in orders).
    public var value: String

    /// An identifier of any type (RFC 8555 §7.1.3).
    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    /// A `dns` identifier (RFC 8555 §9.7.7).
    public static func dns(_ name: String) -> ACMEIdentifier { ACMEIdentifier(type: "dns", value: name) }

    /// An `ip` identifier (RFC 8738 §3).
    public static func ip(_ address: String) -> ACMEIdentifier { ACMEIdentifier(type: "ip", value: address) }

    /// `type:value`, e.g. `dns:www.example.org`; escaped and bounded by `UntrustedText`, as identifiers in the
    /// server's documents are the server's text.
    public var description: String { UntrustedText.display("\(type):\(value)", limit: 300) }
}
