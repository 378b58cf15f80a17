@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// certbot's and lego's directories as those clients leave them, with certificates signed by a `ScriptedIssuingCA`
/// (openssl) and certbot's account key made by Python's `cryptography`, as certbot makes it.
final class ImportFixtures {
    let temporary: TemporaryDirectory
    let ca: ScriptedIssuingCA
    private var nextSerial = 0x10

    init() throws {
        temporary = try TemporaryDirectory()
        ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
    }

    /// A new key of `keyType` and a leaf for `domains` signed by the CA.
    func issue(_ domains: [String], keyType: KeyType = .ec256) throws -> (key: PrivateKey, leafPEM: String) {
        let key = try PrivateKey.generate(keyType)
        nextSerial += 1
        let csr = try CertificateSigningRequest.make(key: key, domains: domains)
        return (key, try ca.sign(csrDER: csr.der, serialHex: String(nextSerial, radix: 16), days: 90))
    }

    /// The CA's certificate: the chain after every leaf.
    var chainPEM: String { ca.certificatePEM }

    /// Writes certbot lineage `name` below `root` as certbot 2.x does (archive/NAME/*1.pem, live/NAME/ links to them,
    /// renewal/NAME.conf with `params` as its [renewalparams] lines after `server` and `account`).
    @discardableResult
    func certbotLineage(root: String, name: String, domains: [String], server: String, account: String, params: String,
                        keyType: KeyType = .ec256) throws -> (key: PrivateKey, leafPEM: String) {
        let (key, leaf) = try issue(domains, keyType: keyType)
        let archive = root + "/archive/" + name
        let live = root + "/live/" + name
        for directory in [archive, live, root + "/renewal"] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let files = ["cert": leaf, "chain": chainPEM, "fullchain": leaf + chainPEM, "privkey": try key.pkcs8PEM()]
        for (file, text) in files {
            try text.write(toFile: archive + "/\(file)1.pem", atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: live + "/\(file).pem", withDestinationPath: "../../archive/\(name)/\(file)1.pem")
        }
        try """
            # renew_before_expiry = 30 days
            version = 2.1.0
            archive_dir = \(archive)
            cert = \(live)/cert.pem
            privkey = \(live)/privkey.pem
            chain = \(live)/chain.pem
            fullchain = \(live)/fullchain.pem

            # Options used in the renewal process
            [renewalparams]
            account = \(account)
            server = \(server)
            \(params)

            """.write(toFile: root + "/renewal/\(name).conf", atomically: true, encoding: .utf8)
        return (key, leaf)
    }

    /// Writes certbot's account `id` at `server` below `root` (private_key.json, regr.json, meta.json) and returns its key.
    @discardableResult
    func certbotAccount(root: String, server: String, id: String, uri: String) throws -> PrivateKey {
        let directory = root + "/accounts/" + server.replacing("https://", with: "") + "/" + id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (jwk, pem) = try Self.pythonRSAKey()
        try jwk.write(toFile: directory + "/private_key.json", atomically: true, encoding: .utf8)
        try "{\"body\": {}, \"uri\": \"\(uri)\"}".write(toFile: directory + "/regr.json", atomically: true, encoding: .utf8)
        try "{\"creation_dt\": \"2026-01-01T00:00:00Z\", \"creation_host\": \"localhost\"}".write(toFile: directory + "/meta.json", atomically: true, encoding: .utf8)
        return try PrivateKey(pem: pem)
    }

    /// An RSA 2048 key by Python's `cryptography`: certbot's `private_key.json` text and the key's PEM.
    static func pythonRSAKey() throws -> (jwk: String, pem: String) {
        let script = """
            import base64, json
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.hazmat.primitives import serialization
            def b64(n):
                return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
            key = rsa.generate_private_key(65537, 2048)
            p = key.private_numbers()
            jwk = {"n": b64(p.public_numbers.n), "e": b64(p.public_numbers.e), "d": b64(p.d), "p": b64(p.p), "q": b64(p.q),
                   "dp": b64(p.dmp1), "dq": b64(p.dmq1), "qi": b64(p.iqmp), "kty": "RSA"}
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            print(json.dumps({"jwk": json.dumps(jwk), "pem": pem}))
            """
        let result = try Subprocess.run(["python3", "-c", script])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String],
              let jwk = object["jwk"], let pem = object["pem"] else {
            throw ScriptedIssuingCA.OpenSSLFailure(description: "python3 could not make a key: \(result.stderr)")
        }
        return (jwk, pem)
    }

    /// Writes lego's account `email` at `hostDirectory` (lego's `host_port` name) below `root` and returns its key.
    @discardableResult
    func legoAccount(root: String, hostDirectory: String, email: String, uri: String, key: PrivateKey? = nil) throws -> PrivateKey {
        let directory = root + "/accounts/\(hostDirectory)/\(email)"
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        let key = try key ?? PrivateKey.generate(.ec256)
        try key.pkcs8PEM().write(toFile: directory + "/keys/\(email).key", atomically: true, encoding: .utf8)
        try """
            {
            \t"email": "\(email)",
            \t"registration": {
            \t\t"body": {"status": "valid", "contact": ["mailto:\(email)"]},
            \t\t"uri": "\(uri)"
            \t}
            }
            """.write(toFile: directory + "/account.json", atomically: true, encoding: .utf8)
        return key
    }

    /// Writes lego's certificate resource for `domains` below `root` (bundled .crt, .issuer.crt, .key, .json).
    @discardableResult
    func legoCertificate(root: String, domains: [String], material: (key: PrivateKey, leafPEM: String, chainPEM: String)? = nil) throws -> (key: PrivateKey, leafPEM: String) {
        let directory = root + "/certificates"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (key, leaf) = try material.map { ($0.key, $0.leafPEM) } ?? issue(domains)
        let chain = material?.chainPEM ?? chainPEM
        let base = directory + "/" + domains[0].replacing("*", with: "_")
        try (leaf + chain).write(toFile: base + ".crt", atomically: true, encoding: .utf8)
        try chain.write(toFile: base + ".issuer.crt", atomically: true, encoding: .utf8)
        try key.pkcs8PEM().write(toFile: base + ".key", atomically: true, encoding: .utf8)
        try "{\n\t\"domain\": \"\(domains[0])\",\n\t\"certUrl\": \"https://ca.test/cert/1\"\n}".write(toFile: base + ".json", atomically: true, encoding: .utf8)
        return (key, leaf)
    }
}
