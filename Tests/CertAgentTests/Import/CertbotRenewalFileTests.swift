@testable import CertAgent
import XCTest

/// certbot's renewal configurations (configobj INI), as certbot 2.x writes them, and files it would never write.
final class CertbotRenewalFileTests: XCTestCase {
    static let written = """
        # renew_before_expiry = 30 days
        version = 2.1.0
        archive_dir = /etc/letsencrypt/archive/example.com
        cert = /etc/letsencrypt/live/example.com/cert.pem
        privkey = /etc/letsencrypt/live/example.com/privkey.pem
        chain = /etc/letsencrypt/live/example.com/chain.pem
        fullchain = /etc/letsencrypt/live/example.com/fullchain.pem

        # Options used in the renewal process
        [renewalparams]
        account = fa5dfb63418002b86644509bdd90e847
        key_type = ecdsa
        elliptic_curve = secp384r1
        server = https://acme-v02.api.letsencrypt.org/directory
        authenticator = webroot
        webroot_path = /var/www/example, /var/www/static,
        reuse_key = True
        post_hook = systemctl reload nginx   # after every renewal
        [[webroot_map]]
        example.com = /var/www/example
        www.example.com = /var/www/example
        static.example.com = "/var/www/static"
        """

    func parse(_ text: String) throws(ImportError) -> CertbotRenewalFile {
        try CertbotRenewalFile.parse(text, path: "/etc/letsencrypt/renewal/example.com.conf")
    }

    func testReadsEveryFieldCertbotWrites() throws {
        let file = try parse(Self.written)
        XCTAssertEqual(file.name, "example.com")
        XCTAssertEqual(file.certificatePath, "/etc/letsencrypt/live/example.com/cert.pem")
        XCTAssertEqual(file.privateKeyPath, "/etc/letsencrypt/live/example.com/privkey.pem")
        XCTAssertEqual(file.chainPath, "/etc/letsencrypt/live/example.com/chain.pem")
        XCTAssertEqual(file.fullChainPath, "/etc/letsencrypt/live/example.com/fullchain.pem")
        XCTAssertEqual(file.server, "https://acme-v02.api.letsencrypt.org/directory")
        XCTAssertEqual(file.account, "fa5dfb63418002b86644509bdd90e847")
        XCTAssertEqual(file.authenticator, "webroot")
        XCTAssertTrue(file.isWebroot)
        XCTAssertEqual(file.webrootPaths, ["/var/www/example", "/var/www/static"])
        XCTAssertEqual(file.webrootMap, ["example.com": "/var/www/example", "www.example.com": "/var/www/example",
                                         "static.example.com": "/var/www/static"], "a quoted value is unquoted")
        XCTAssertEqual(file.keyType, "ecdsa")
        XCTAssertEqual(file.ellipticCurve, "secp384r1")
        XCTAssertNil(file.rsaKeySize)
        XCTAssertTrue(file.reuseKey)
        XCTAssertEqual(file.hooks, ["post_hook": "systemctl reload nginx"], "the comment after the value is not part of it")
        XCTAssertEqual(file.configuredKeyType, .ec384)
    }

    func testWebrootForEachDomainComesFromTheMapElseTheOnlyPath() throws {
        let mapped = try parse(Self.written)
        XCTAssertEqual(mapped.webroot(for: "static.example.com"), "/var/www/static")
        XCTAssertNil(mapped.webroot(for: "other.example.com"), "two webroot_path entries and no map entry: not guessed")

        let single = try parse(Self.written.replacing("webroot_path = /var/www/example, /var/www/static,", with: "webroot_path = /srv/site,")
                                .components(separatedBy: "[[webroot_map]]")[0])
        XCTAssertEqual(single.webrootPaths, ["/srv/site"], "the trailing comma certbot writes makes a one-item list")
        XCTAssertEqual(single.webrootMap, [:])
        XCTAssertEqual(single.webroot(for: "anything.example.com"), "/srv/site")
    }

    func testOtherAuthenticatorsReadWithoutWebroot() throws {
        let text = Self.written.components(separatedBy: "[[webroot_map]]")[0]
            .replacing("authenticator = webroot", with: "authenticator = nginx\ninstaller = nginx")
            .replacing("webroot_path = /var/www/example, /var/www/static,\n", with: "")
        let file = try parse(text)
        XCTAssertEqual(file.authenticator, "nginx")
        XCTAssertFalse(file.isWebroot)
        XCTAssertEqual(file.webrootPaths, [])
        XCTAssertTrue(CertbotImport.authenticatorExplanation("nginx").contains("edits the nginx configuration"))
        XCTAssertTrue(CertbotImport.authenticatorExplanation("dns-cloudflare").contains("DNS-01"))
        XCTAssertTrue(CertbotImport.authenticatorExplanation("standalone").contains("port 80"))
    }

    func testRSAKeySizeAndDefaults() throws {
        let text = Self.written.replacing("key_type = ecdsa\nelliptic_curve = secp384r1", with: "key_type = rsa\nrsa_key_size = 4096")
            .replacing("reuse_key = True\n", with: "")
        let file = try parse(text)
        XCTAssertEqual(file.keyType, "rsa")
        XCTAssertEqual(file.rsaKeySize, 4096)
        XCTAssertFalse(file.reuseKey, "reuse_key absent: false, as certbot's default")
        XCTAssertEqual(file.configuredKeyType, .rsa4096)
        XCTAssertEqual(try parse(text.replacing("rsa_key_size = 4096\n", with: "")).configuredKeyType, .rsa2048, "certbot's default size")
        XCTAssertNil(try parse(text.replacing("rsa_key_size = 4096", with: "rsa_key_size = 1024")).configuredKeyType, "not a size CertAgent makes")
        XCTAssertNil(try parse(Self.written.replacing("elliptic_curve = secp384r1", with: "elliptic_curve = secp521r1")).configuredKeyType)
        XCTAssertEqual(try parse(Self.written.replacing("elliptic_curve = secp384r1\n", with: "")).configuredKeyType, .ec256)
        XCTAssertNil(try parse(Self.written.replacing("key_type = ecdsa\nelliptic_curve = secp384r1\n", with: "")).configuredKeyType,
                     "not written: the current key's type decides")
    }

    /// Each bad file names the file, the field and the value.
    func testBadFilesNameFileFieldAndValue() {
        let cases: [(String, String, String)] = [
            (Self.written.replacing("key_type = ecdsa", with: "key_type = dsa"), "[renewalparams] key_type = \"dsa\"", "must be rsa or ecdsa"),
            (Self.written.replacing("elliptic_curve = secp384r1", with: "elliptic_curve = curve25519"), "[renewalparams] elliptic_curve = \"curve25519\"", "secp256r1"),
            (Self.written.replacing("reuse_key = True", with: "reuse_key = sometimes"), "[renewalparams] reuse_key = \"sometimes\"", "True or False"),
            (Self.written.replacing("server = https://acme-v02.api.letsencrypt.org/directory", with: "server = acme.example"), "[renewalparams] server = \"acme.example\"", "not an ACME directory URL"),
            (Self.written.replacing("account = fa5dfb63418002b86644509bdd90e847", with: "account = ../../etc"), "[renewalparams] account = \"../../etc\"", "not an account id"),
            (Self.written.replacing("webroot_path = /var/www/example,", with: "webroot_path = var/www/example,"), "[renewalparams] webroot_path = \"var/www/example\"", "absolute path"),
            (Self.written.replacing("static.example.com = \"/var/www/static\"", with: "static.example.com = ../static"), "[[webroot_map]] static.example.com = \"../static\"", "absolute path"),
            (Self.written.replacing("www.example.com = /var/www/example", with: "www..example.com = /var/www/example"), "[[webroot_map]] = \"www..example.com\"", "not a domain name"),
            (Self.written.replacing("cert = /etc/letsencrypt/live/example.com/cert.pem\n", with: ""), "cert", "is missing"),
            (Self.written.replacing("privkey = /etc/letsencrypt/live/example.com/privkey.pem", with: "privkey = live/example.com/privkey.pem"), "privkey = \"live/example.com/privkey.pem\"", "absolute path"),
            (Self.written.replacing("[renewalparams]", with: "[renewal]"), "[renewalparams]: is missing", "not a certbot renewal configuration"),
            (Self.written.replacing("version = 2.1.0", with: "version 2.1.0"), "line 2 = \"version 2.1.0\"", "neither `key = value`"),
            (Self.written.replacing("[[webroot_map]]", with: "[[webroot_map]"), "line 19 = \"[[webroot_map]\"", "[section] header"),
            (Self.written + "\nexample.com = /var/www/again", "[renewalparams.webroot_map] example.com", "is given twice"),
            (Self.written.replacing("authenticator = webroot", with: "authenticator ="), "[renewalparams] authenticator = \"\"", "non-empty"),
        ]
        for (text, expected, problem) in cases {
            XCTAssertThrowsError(try parse(text), expected) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("/etc/letsencrypt/renewal/example.com.conf: "), message)
                XCTAssertTrue(message.contains(expected), "\(message) should contain \(expected)")
                XCTAssertTrue(message.contains(problem), "\(message) should contain \(problem)")
            }
        }
    }

    func testConfigObjListsAndQuotes() {
        XCTAssertEqual(ConfigObjText.items("/a, /b,"), ["/a", "/b"])
        XCTAssertEqual(ConfigObjText.items("\"/with, comma\", /b"), ["/with, comma", "/b"])
        XCTAssertEqual(ConfigObjText.items("single"), ["single"])
        XCTAssertEqual(ConfigObjText.items(""), [])
        XCTAssertEqual(ConfigObjText.Value(raw: "/a,").scalar, "/a")
        XCTAssertNil(ConfigObjText.Value(raw: "/a, /b").scalar, "two items are not one value")
    }
}
