import CertAgent
import Foundation
import TestSupport
import XCTest

/// `config.example.json` must stay a config the loader accepts: only its paths are moved to a temporary directory.
final class ConfigExampleTests: XCTestCase {
    func testTheShippedExampleConfigLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        var text = try String(contentsOfFile: root + "/config.example.json", encoding: .utf8)
        let temp = try TemporaryDirectory()
        for (original, directory) in [("/var/www/", "www/"), ("/etc/nginx/certs/", "nginx/"), ("/etc/ssl/private/", "private/"), ("/etc/ssl/certs/", "certs/")] {
            text = text.replacing(original, with: temp.path + "/" + directory)
        }
        for directory in ["www/example", "www/shop", "www/static", "nginx/example", "private", "certs"] { try temp.make(directory) }
        // Programs and groups that a test machine may lack.
        text = text.replacing("/usr/sbin/apachectl", with: "/bin/true").replacing("\"ssl-cert\"", with: "\"root\"")
        let config = try ConfigLoader.parse(Data(text.utf8), path: temp.path + "/config.json")
        XCTAssertEqual(config.certificates.map(\.name), ["example", "shop"])
        XCTAssertNotNil(config.certificates[0].install?.reload)
        XCTAssertEqual(config.certificates[1].install?.privateKey?.mode, 0o640)
        XCTAssertEqual(config.certificates.map(\.profile), [nil, "tlsserver"])
        XCTAssertEqual(config.directoryURL, KnownDirectory.letsencrypt.url)
        XCTAssertEqual(config.notify?.email?.port, 587)
        XCTAssertEqual(config.notify?.webhook?.format, .ntfy)
        XCTAssertEqual(config.referencedSecrets, ["zerossl-eab-hmac", "smtp-password", "ntfy-token"])
        XCTAssertEqual(config.fallbackAuthorities.map(\.directoryURL), ["https://acme.zerossl.com/v2/DV90"], "a fallback CA with its own EAB")
        XCTAssertEqual(config.fallbackAuthorities.first?.externalAccountBinding?.hmacKeySecret, "zerossl-eab-hmac")
    }

    /// `config.fleet.example.json`, a fleet node's config (README "Several servers behind a load balancer"), loads too.
    func testTheFleetExampleConfigLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        var text = try String(contentsOfFile: root + "/config.fleet.example.json", encoding: .utf8)
        let temp = try TemporaryDirectory()
        for (original, directory) in [("/var/www/", "www/"), ("/etc/nginx/certs/", "nginx/"), ("/etc/certagent/", "etc/")] {
            text = text.replacing(original, with: temp.path + "/" + directory)
        }
        for directory in ["www/shop", "nginx/shop", "etc"] { try temp.make(directory) }
        let bundle = try String(contentsOfFile: "/etc/ssl/certs/ca-certificates.crt", encoding: .utf8)
        for file in ["etc/etcd-ca.pem", "etc/etcd-client.pem", "etc/etcd-client-key.pem"] { _ = try temp.write(file, bundle) }
        let config = try ConfigLoader.parse(Data(text.utf8), path: temp.path + "/config.json")
        XCTAssertEqual(config.certificates.map(\.name), ["shop"])
        XCTAssertEqual(config.cluster?.node, "web1")
        XCTAssertEqual(config.cluster?.endpoints.count, 3)
        XCTAssertEqual(config.cluster?.prefix, "/certagent/shop/")
        XCTAssertEqual(config.cluster?.leaseSeconds, 15)
    }
}
