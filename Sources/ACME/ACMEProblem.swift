/// A problem document returned by the server (RFC 8555 §6.7, RFC 7807), with subproblems (§6.7.1).
///
/// Unknown `type` values are kept verbatim; `kind` classifies the ones RFC 8555 and RFC 9773 define.
public struct ACMEProblem: Error, Sendable, Decodable, Equatable, CustomStringConvertible {
    /// The problem type URI, e.g. `urn:ietf:params:acme:error:rateLimited` (`about:blank` when absent, RFC 7807 §4.2).
    public var type: String
    /// Human-readable explanation from the server.
    public var detail: String?
    /// The HTTP status the server put in the document.
    public var status: Int?
    /// The identifier the problem is about (RFC 8555 §6.7.1).
    public var identifier: ACMEIdentifier?
    /// Per-identifier problems of a compound error (RFC 8555 §6.7.1).
    public var subproblems: [ACMEProblem]

    /// A problem built in code (tests, or problems synthesised by the client).
    public init(type: String, detail: String? = nil, status: Int? = nil, identifier: ACMEIdentifier? = nil, subproblems: [ACMEProblem] = []) {
        self.type = type
        self.detail = detail
        self.status = status
        self.identifier = identifier
        self.subproblems = subproblems
    }

    private enum CodingKeys: String, CodingKey { case type, detail, status, identifier, subproblems }

    /// Decodes a problem document, tolerating missing `type` and `subproblems`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "about:blank"
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        status = try c.decodeIfPresent(Int.self, forKey: .status)
        identifier = try c.decodeIfPresent(ACMEIdentifier.self, forKey: .identifier)
        subproblems = try c.decodeIfPresent([ACMEProblem].self, forKey: .subproblems) ?? []
    }

    /// The ACME error types of RFC 8555 §6.7 (and `alreadyReplaced`, RFC 9773 §5).
    public enum Kind: Sendable, Hashable {
        case accountDoesNotExist, alreadyReplaced, alreadyRevoked, badCSR, badNonce, badPublicKey
        case badRevocationReason, badSignatureAlgorithm, caa, compound, connection, dns
        case externalAccountRequired, incorrectResponse, invalidContact, malformed, orderNotReady
        case rateLimited, rejectedIdentifier, serverInternal, tls, unauthorized, unsupportedContact
        case unsupportedIdentifier, userActionRequired
        /// Any other type, kept verbatim (the full URI).
        case other(String)

        static let prefix = "urn:ietf:params:acme:error:"
        private static let known: [String: Kind] = [
            "accountDoesNotExist": .accountDoesNotExist, "alreadyReplaced": .alreadyReplaced,
            "alreadyRevoked": .alreadyRevoked, "badCSR": .badCSR, "badNonce": .badNonce,
            "badPublicKey": .badPublicKey, "badRevocationReason": .badRevocationReason,
            "badSignatureAlgorithm": .badSignatureAlgorithm, "caa": .caa, "compound": .compound,
            "connection": .connection, "dns": .dns, "externalAccountRequired": .externalAccountRequired,
            "incorrectResponse": .incorrectResponse, "invalidContact": .invalidContact,
            "malformed": .malformed, "orderNotReady": .orderNotReady, "rateLimited": .rateLimited,
            "rejectedIdentifier": .rejectedIdentifier, "serverInternal": .serverInternal, "tls": .tls,
            "unauthorized": .unauthorized, "unsupportedContact": .unsupportedContact,
            "unsupportedIdentifier": .unsupportedIdentifier, "userActionRequired": .userActionRequired,
        ]

        /// Classifies a problem type URI.
        public init(type: String) {
            if type.hasPrefix(Kind.prefix), let kind = Kind.known[String(type.dropFirst(Kind.prefix.count))] {
                self = kind
            } else {
                self = .other(type)
            }
        }
    }

    /// The classified `type`.
    public var kind: Kind { Kind(type: type) }

    /// The type without the ACME URN prefix (`rateLimited`), or the full type when it is not an ACME error.
    public var shortType: String {
        type.hasPrefix(Kind.prefix) ? String(type.dropFirst(Kind.prefix.count)) : type
    }

    /// Every identifier this problem and its subproblems name.
    public var identifiers: [ACMEIdentifier] {
        (identifier.map { [$0] } ?? []) + subproblems.flatMap(\.identifiers)
    }

    /// At most this many subproblems are described; the rest are counted.
    public static let describedSubproblems = 10

    /// `type [identifier]: detail (subproblem; subproblem)`, e.g.
    /// `unauthorized [dns:a.example]: Invalid response from http://a.example/...`.
    ///
    /// Every part comes from the server, so each is shown through `UntrustedText` (controls escaped, length bounded),
    /// and only the first `describedSubproblems` subproblems are described: a problem document is data, and can
    /// neither forge log lines, drive the terminal nor flood the output.
    public var description: String {
        var text = UntrustedText.display(shortType, limit: 128)
        if let identifier { text += " [\(identifier)]" }
        if let detail, !detail.isEmpty { text += ": " + UntrustedText.display(detail) }
        if !subproblems.isEmpty {
            var parts = subproblems.prefix(Self.describedSubproblems).map(\.description)
            if subproblems.count > Self.describedSubproblems {
                parts.append("… (\(subproblems.count - Self.describedSubproblems) more subproblems)")
            }
            text += " (" + parts.joined(separator: "; ") + ")"
        }
        return text
    }
}
