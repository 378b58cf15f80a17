import COpenSSL

extension Certificate {
    /// True when the certificate's subject public key equals `key`'s public key (`EVP_PKEY_eq`).
    public func matches(_ key: PrivateKey) -> Bool {
        guard let handle = try? X509Handle(der: der) else { return false }
        defer { OpenSSLErrorQueue.clear() }
        guard let publicKey = X509_get0_pubkey(handle.pointer) else { return false }  // lent
        return EVP_PKEY_eq(publicKey, key.pkey) == 1
    }

    /// `parseChain(pem:)` with the checks a new chain needs, each answered from the one parse of every certificate
    /// (each `matches` or `isIssued(by:)` parses again, and OpenSSL 3.0 spends about a million instructions per parse):
    /// whether the leaf matches `key`, and the first position whose certificate is not issued by the next (nil when
    /// every one is). Throws as `parseChain(pem:)` does.
    public static func parseChain(pem: String, checking key: PrivateKey) throws -> (chain: [Certificate], leafMatchesKey: Bool, firstBrokenLink: Int?) {
        let blocks = try PEMEncoding.decodeAll(pem, label: "CERTIFICATE")
        guard !blocks.isEmpty else {
            throw CryptoError(operation: "Certificate.parseChain", detail: "no CERTIFICATE block found",
                              summary: "no PEM certificate (-----BEGIN CERTIFICATE-----) found")
        }
        var handles: [X509Handle] = []
        var chain: [Certificate] = []
        for der in blocks {
            let handle = try X509Handle(der: der)
            chain.append(try Certificate(der: der, handle: handle))
            handles.append(handle)
        }
        defer { OpenSSLErrorQueue.clear() }
        let leafMatchesKey = X509_get0_pubkey(handles[0].pointer).map { EVP_PKEY_eq($0, key.pkey) == 1 } ?? false
        let firstBrokenLink = handles.indices.dropLast().first { !isIssued(handles[$0], by: handles[$0 + 1]) }
        return (chain, leafMatchesKey, firstBrokenLink)
    }

    /// `isIssued(by:)` on parsed certificates.
    private static func isIssued(_ certificate: X509Handle, by issuer: X509Handle) -> Bool {
        guard X509_NAME_cmp(X509_get_issuer_name(certificate.pointer), X509_get_subject_name(issuer.pointer)) == 0,
              let issuerKey = X509_get0_pubkey(issuer.pointer)  // lent
        else { return false }
        return X509_verify(certificate.pointer, issuerKey) == 1
    }

    /// True when this certificate's issuer name equals `issuer`'s subject name and its signature
    /// verifies with `issuer`'s public key (`X509_verify`, RFC 5280 §6.1.3 (a)(1) and (a)(4)).
    /// Validity periods, constraints and revocation are not checked.
    public func isIssued(by issuer: Certificate) -> Bool {
        guard let handle = try? X509Handle(der: der), let issuerHandle = try? X509Handle(der: issuer.der) else {
            return false
        }
        defer { OpenSSLErrorQueue.clear() }
        return Self.isIssued(handle, by: issuerHandle)
    }

    /// True when a subjectAltName covers `name` (RFC 6125 §6.4): DNS names compare
    /// case-insensitively, ignoring one trailing dot, with dNSName entries only; a SAN `*.a.b` covers exactly one
    /// extra leftmost label (`x.a.b`, not `a.b` or `y.x.a.b`); an IP literal is covered by an iPAddress entry with the
    /// same octets (RFC 8738 §3), never by a dNSName spelling it.
    public func covers(_ name: String) -> Bool {
        if let address = IPAddress(name) {
            return ipAddresses.contains(address)
        }
        let wanted = Certificate.normalized(name)
        guard !wanted.isEmpty else { return false }
        for san in dnsNames {
            let pattern = Certificate.normalized(san)
            if pattern == wanted { return true }
            if pattern.hasPrefix("*."), pattern.count > 2 {
                let suffix = pattern.dropFirst()  // ".a.b"
                guard wanted.hasSuffix(suffix) else { continue }
                let label = wanted.dropLast(suffix.count)
                if !label.isEmpty, !label.contains("."), !label.contains("*") { return true }
            }
        }
        return false
    }

    /// The subjectAltName entries (DNS names and IP addresses) that are not among `requested` — names the
    /// certificate carries that were never asked for. DNS names compare case-insensitively, ignoring one trailing dot;
    /// a wildcard SAN must be requested as that same wildcard; IP addresses compare by address (RFC 8738 §3).
    /// A CA must issue exactly the CSR's names (RFC 8555 §7.4); anything this returns means it did not.
    public func namesNotRequested(_ requested: [String]) -> [String] {
        let requestedAddresses = Set(requested.compactMap(IPAddress.init))
        let requestedNames = Set(requested.filter { IPAddress($0) == nil }.map(Certificate.normalized))
        return dnsNames.filter { !requestedNames.contains(Certificate.normalized($0)) }
            + ipAddresses.filter { !requestedAddresses.contains($0) }.map(\.text)
    }

    private static func normalized(_ name: String) -> String {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }
}

extension Certificate {
    /// True when both certificates carry the same subject public key (`EVP_PKEY_eq` on their public keys).
    public func hasSamePublicKey(as other: Certificate) -> Bool {
        guard let mine = try? X509Handle(der: der), let theirs = try? X509Handle(der: other.der),
              let a = X509_get0_pubkey(mine.pointer), let b = X509_get0_pubkey(theirs.pointer) else { return false }
        defer { OpenSSLErrorQueue.clear() }
        return EVP_PKEY_eq(a, b) == 1
    }
}
