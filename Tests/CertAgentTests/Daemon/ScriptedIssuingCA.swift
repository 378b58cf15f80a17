import ByteEncoding
import Foundation
import TestSupport

/// A small X.509 CA made and driven with the `openssl` CLI: a self-signed EC P-256 root whose subject key identifier
/// ends up as the leaves' authority key identifier, and `openssl x509 -req` to sign CSRs with a chosen serial and
/// lifetime. Independent of CertCrypto, so the ARI identifiers it reports are computed a second, separate way.
final class ScriptedIssuingCA: Sendable {
    struct OpenSSLFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The folder holding the CA's key, certificate and the files of each signing.
    let directory: String
    /// The CA certificate, PEM.
    let certificatePEM: String
    /// The CA's subject key identifier (= the AKI keyIdentifier of every leaf it signs).
    let subjectKeyIdentifier: [UInt8]

    init(directory: String) throws {
        self.directory = directory
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", directory + "/ca.key", "-out", directory + "/ca.pem",
                          "-subj", "/CN=CertAgent Scripted ARI Test CA", "-days", "3650",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        certificatePEM = try String(contentsOfFile: directory + "/ca.pem", encoding: .utf8)
        // "X509v3 Subject Key Identifier: \n    46:BF:...:3B"
        let text = try Self.openssl(["x509", "-in", directory + "/ca.pem", "-noout", "-ext", "subjectKeyIdentifier"])
        guard let line = text.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces),
              let bytes = Self.hexBytes(line.replacingOccurrences(of: ":", with: "")), !bytes.isEmpty else {
            throw OpenSSLFailure(description: "cannot read the CA's subject key identifier from: \(text)")
        }
        subjectKeyIdentifier = bytes
        try """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            authorityKeyIdentifier=keyid:always
            subjectKeyIdentifier=none

            """.write(toFile: directory + "/leaf-extensions.cnf", atomically: true, encoding: .utf8)
    }

    /// Signs a DER CSR: serial `serialHex` (hex digits, no 0x), valid from now for `days` days, the CSR's
    /// subjectAltName copied — or, when `subjectAltNames` is given, those names instead (`DNS:`/`IP:` entries, for a
    /// CA that issues what was not asked) — and an AKI. Returns the leaf certificate, PEM. `openssl x509 -req` checks
    /// the CSR's self-signature first.
    func sign(csrDER: [UInt8], serialHex: String, days: Int, subjectAltNames: [String]? = nil) throws -> String {
        let base = directory + "/leaf-\(serialHex)"
        let body = Data(csrDER).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        try "-----BEGIN CERTIFICATE REQUEST-----\n\(body)\n-----END CERTIFICATE REQUEST-----\n"
            .write(toFile: base + ".csr", atomically: true, encoding: .utf8)
        var extensions = directory + "/leaf-extensions.cnf"
        var copy = ["-copy_extensions", "copy"]
        if let subjectAltNames {
            extensions = base + "-extensions.cnf"
            copy = []
            try (try String(contentsOfFile: directory + "/leaf-extensions.cnf", encoding: .utf8)
                 + "subjectAltName=" + subjectAltNames.joined(separator: ",") + "\n")
                .write(toFile: extensions, atomically: true, encoding: .utf8)
        }
        try Self.openssl(["x509", "-req", "-in", base + ".csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca.key",
                          "-set_serial", "0x" + serialHex, "-days", String(days)] + copy
                         + ["-extfile", extensions, "-out", base + ".pem"])
        return try String(contentsOfFile: base + ".pem", encoding: .utf8)
    }

    /// The RFC 9773 §4.1 identifier of the leaf with serial `serialHex`, computed from the CA's SKI and the serial's
    /// DER INTEGER content octets (a 0x00 is prepended when the high bit is set) with Foundation's base64.
    func ariCertificateID(serialHex: String) -> String {
        var serial = Self.hexBytes(serialHex) ?? []
        if let first = serial.first, first & 0x80 != 0 { serial.insert(0, at: 0) }
        return Self.base64url(subjectKeyIdentifier) + "." + Self.base64url(serial)
    }

    static func base64url(_ bytes: [UInt8]) -> String { Base64URL.encode(bytes) }

    static func hexBytes(_ hex: String) -> [UInt8]? { Hex.decode(hex) }

    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        let result = try Subprocess.run(["openssl"] + arguments)
        guard result.status == 0 else {
            throw OpenSSLFailure(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }
}
