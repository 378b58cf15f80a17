import COpenSSL

/// PKCS#10 certificate signing requests (RFC 2986) for ACME finalization (RFC 8555 §7.4).
public enum CertificateSigningRequest {
    /// CSR (RFC 2986) with every domain as a subjectAltName DNS entry (IP literals as IP entries,
    /// RFC 5280 §4.2.1.6, RFC 8738), subject CN = the first DNS name when it has at most 64 characters (the
    /// `ub-common-name` bound of RFC 5280 Appendix A.1); with no DNS name (only addresses, as Let's Encrypt
    /// issues them) or a longer one, an empty subject. Signed with SHA-256 by `key`.
    ///
    /// Exact duplicates are dropped (first occurrence kept). Names must be non-empty printable
    /// ASCII without spaces (IDNs in their A-label form); anything else throws `CryptoError`.
    /// Returns the DER (for the ACME `csr` field, base64url-encoded by the caller) and the PEM
    /// (`BEGIN CERTIFICATE REQUEST`, RFC 7468 §7).
    public static func make(key: PrivateKey, domains: [String]) throws -> (der: [UInt8], pem: String) {
        var names: [String] = []
        for domain in domains where !names.contains(domain) {
            guard !domain.isEmpty, domain.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw CryptoError(operation: "CSR", detail: "invalid identifier \(String(reflecting: domain))",
                                  summary: "the certificate signing request cannot be made: \(String(reflecting: domain)) is not a valid name")
            }
            names.append(domain)
        }
        guard !names.isEmpty else {
            throw CryptoError(operation: "CSR", detail: "at least one domain is required",
                              summary: "the certificate signing request cannot be made: it needs at least one name")
        }
        OpenSSLErrorQueue.clear()
        guard let request = X509_REQ_new() else { throw CryptoError.openSSL("X509_REQ_new") }
        defer { X509_REQ_free(request) }
        try check(X509_REQ_set_version(request, 0), "X509_REQ_set_version")  // v1 is 0 (RFC 2986 §4.1)

        if let commonName = names.first(where: { IPAddress($0) == nil }), commonName.utf8.count <= 64 {
            guard let subject = X509_REQ_get_subject_name(request) else { throw CryptoError.openSSL("X509_REQ_get_subject_name") }
            let bytes = Array(commonName.utf8)
            // Pass the length: a [UInt8] is not NUL-terminated.
            try check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, bytes, Int32(bytes.count), -1, 0),
                      "X509_NAME_add_entry_by_txt(CN)")
        }
        try check(X509_REQ_set_pubkey(request, key.pkey), "X509_REQ_set_pubkey")
        try addSubjectAltNames(names, to: request)
        try check(X509_REQ_sign(request, key.pkey, EVP_sha256()), "X509_REQ_sign")  // returns the signature size

        let der = try encodeDER("i2d_X509_REQ") { output in i2d_X509_REQ(request, output) }
        return (der, PEMEncoding.encode(der, label: "CERTIFICATE REQUEST"))
    }

    /// Adds an extensionRequest attribute (RFC 2985 §5.4.2) holding the subjectAltName extension.
    private static func addSubjectAltNames(_ names: [String], to request: OpaquePointer) throws {
        guard let generalNames = GENERAL_NAMES_new() else { throw CryptoError.openSSL("GENERAL_NAMES_new") }
        defer { GENERAL_NAMES_free(generalNames) }  // frees the stack and every GENERAL_NAME on it
        for name in names {
            let entry = try makeGeneralName(name)
            guard OPENSSL_sk_push(generalNames, entry) > 0 else {
                GENERAL_NAME_free(entry)
                throw CryptoError.openSSL("OPENSSL_sk_push(GENERAL_NAME)")
            }
        }
        guard let extensionValue = X509V3_EXT_i2d(NID_subject_alt_name, 0, UnsafeMutableRawPointer(generalNames)) else {
            throw CryptoError.openSSL("X509V3_EXT_i2d(subjectAltName)")
        }
        defer { X509_EXTENSION_free(extensionValue) }
        guard let extensions = OPENSSL_sk_new_null() else { throw CryptoError.openSSL("OPENSSL_sk_new_null") }
        defer { OPENSSL_sk_free(extensions) }  // the extension itself is freed above
        guard OPENSSL_sk_push(extensions, UnsafeRawPointer(extensionValue)) > 0 else {
            throw CryptoError.openSSL("OPENSSL_sk_push(X509_EXTENSION)")
        }
        try check(X509_REQ_add_extensions(request, extensions), "X509_REQ_add_extensions")  // copies (encodes)
    }

    /// A `dNSName` or `iPAddress` GeneralName (RFC 5280 §4.2.1.6) owned by the caller.
    private static func makeGeneralName(_ name: String) throws -> UnsafeMutablePointer<GENERAL_NAME> {
        guard let entry = GENERAL_NAME_new() else { throw CryptoError.openSSL("GENERAL_NAME_new") }
        if let octets = IPAddress(name)?.octets {
            guard let value = ASN1_OCTET_STRING_new() else {
                GENERAL_NAME_free(entry)
                throw CryptoError.openSSL("ASN1_OCTET_STRING_new")
            }
            guard ASN1_OCTET_STRING_set(value, octets, Int32(octets.count)) > 0 else {
                ASN1_OCTET_STRING_free(value)
                GENERAL_NAME_free(entry)
                throw CryptoError.openSSL("ASN1_OCTET_STRING_set")
            }
            GENERAL_NAME_set0_value(entry, GEN_IPADD, UnsafeMutableRawPointer(value))  // takes value
        } else {
            guard let value = ASN1_IA5STRING_new() else {
                GENERAL_NAME_free(entry)
                throw CryptoError.openSSL("ASN1_IA5STRING_new")
            }
            let bytes = Array(name.utf8)
            guard ASN1_STRING_set(value, bytes, Int32(bytes.count)) > 0 else {
                ASN1_IA5STRING_free(value)
                GENERAL_NAME_free(entry)
                throw CryptoError.openSSL("ASN1_STRING_set")
            }
            GENERAL_NAME_set0_value(entry, GEN_DNS, UnsafeMutableRawPointer(value))  // takes value
        }
        return entry
    }
}
