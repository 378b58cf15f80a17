@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `discover` puts the sites together into the certificates they serve, tells which client manages each, finds a
/// webroot per name, and proposes config entries for the unmanaged ones — over injected files.
final class HostDiscoveryTests: XCTestCase {
    private static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A self-signed certificate for `names` (openssl), valid 30 days from now.
    private func certificate(_ names: [String]) throws -> Certificate {
        let san = names.map { "DNS:\($0)" }.joined(separator: ",")
        let result = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                         "-keyout", "/dev/null", "-subj", "/CN=\(names[0])", "-days", "30", "-addext", "subjectAltName=\(san)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try Certificate(pem: result.stdout)
    }

    private func files(_ certificates: [String: Certificate], links: [String: String] = [:], directories: Set<String>,
                       store: StoreKeys? = nil, installed: [String: String] = [:]) -> DiscoveryFiles {
        DiscoveryFiles(readCertificates: { path in
            let target = links[path] ?? path
            return certificates[target].map { .success([$0]) } ?? .failure(.missing)
        }, resolve: { links[$0] ?? (certificates[$0] != nil ? $0 : nil) }, isDirectory: { directories.contains($0) }, store: store, installed: installed)
    }

    private func site(_ names: [String], tls: Bool, certificate: String? = nil, key: String? = nil, path: ServedSite.ChallengePath = .none,
                      line: Int, server: WebServerKind = .nginx) -> ServedSite {
        ServedSite(server: server, file: "/etc/nginx/sites-enabled/all", line: line, names: names,
                   listeners: [.init(port: tls ? 443 : 80, tls: tls)],
                   certificates: certificate.map { [.init(certificate: $0, key: key)] } ?? [], challengePath: path)
    }

    func testEveryServedCertificateIsFoundOnceClassifiedAndGivenItsWebroots() throws {
        let store = StoreKeys(root: "/var/lib/certagent")
        let sites = [
            site(["shop.test", "www.shop.test"], tls: true, certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", path: .webroot("/srv/shop", fromChallengeLocation: false), line: 1),
            site(["static.shop.test"], tls: true, certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", line: 2),
            site(["shop.test", "www.shop.test"], tls: false, path: .webroot("/srv/acme", fromChallengeLocation: true), line: 3),
            site(["static.shop.test"], tls: false, path: .webroot("/srv/static", fromChallengeLocation: false), line: 4),
            site(["bot.test"], tls: true, certificate: "/etc/letsencrypt/live/bot.test/fullchain.pem", key: "/etc/letsencrypt/live/bot.test/privkey.pem", line: 5),
            site(["bot.test"], tls: false, path: .redirected(host: nil), line: 6),
            site(["lego.test"], tls: true, certificate: "/root/.lego/certificates/lego.test.crt", key: "/root/.lego/certificates/lego.test.key", path: .webroot("/srv/lego", fromChallengeLocation: false), line: 7),
            site(["sh.test"], tls: true, certificate: "/root/.acme.sh/sh.test_ecc/fullchain.cer", line: 8),
            site(["mine.test"], tls: true, certificate: "/var/lib/certagent/certificates/mine/current/fullchain.pem", line: 9),
            site(["copy.test"], tls: true, certificate: "/etc/nginx/certs/copy/fullchain.pem", line: 10),
            site(["gone.test"], tls: true, certificate: "/etc/ssl/gone.pem", line: 11),
        ]
        let certificates = try [
            "/etc/ssl/shop.pem": certificate(["shop.test", "www.shop.test", "static.shop.test"]),
            "/etc/letsencrypt/archive/bot.test/fullchain3.pem": certificate(["bot.test"]),
            "/root/.lego/certificates/lego.test.crt": certificate(["lego.test", "*.lego.test"]),
            "/root/.acme.sh/sh.test_ecc/fullchain.cer": certificate(["sh.test"]),
            "/var/lib/certagent/certificates/mine/versions/1/fullchain.pem": certificate(["mine.test"]),
            "/etc/nginx/certs/copy/fullchain.pem": certificate(["copy.test"]),
        ]
        let links = ["/etc/letsencrypt/live/bot.test/fullchain.pem": "/etc/letsencrypt/archive/bot.test/fullchain3.pem",
                     "/var/lib/certagent/certificates/mine/current/fullchain.pem": "/var/lib/certagent/certificates/mine/versions/1/fullchain.pem"]
        let found = HostDiscovery.certificates(sites: sites, files: files(certificates, links: links, directories: ["/srv/shop", "/srv/acme", "/srv/static"],
                                                                          store: store, installed: ["/etc/nginx/certs/copy/fullchain.pem": "copy"]), now: Self.now)
        XCTAssertEqual(found.map(\.certificateFile), ["/etc/ssl/shop.pem", "/etc/letsencrypt/live/bot.test/fullchain.pem", "/root/.lego/certificates/lego.test.crt",
                                                      "/root/.acme.sh/sh.test_ecc/fullchain.cer", "/var/lib/certagent/certificates/mine/current/fullchain.pem",
                                                      "/etc/nginx/certs/copy/fullchain.pem", "/etc/ssl/gone.pem"])
        XCTAssertEqual(found.map(\.managedBy), [.none, .certbot(lineage: "bot.test"), .lego, .acmeSh, .certagent(name: "mine", installedCopy: false),
                                                .certagent(name: "copy", installedCopy: true), .none])

        let shop = found[0]
        XCTAssertEqual(shop.sites.map(\.location), ["/etc/nginx/sites-enabled/all:1", "/etc/nginx/sites-enabled/all:2"], "one certificate shared by two sites")
        XCTAssertEqual(shop.servedNames, ["shop.test", "www.shop.test", "static.shop.test"])
        XCTAssertEqual(shop.certificateNames, ["shop.test", "www.shop.test", "static.shop.test"])
        XCTAssertEqual(shop.webroots.mapValues(\.path), ["shop.test": "/srv/acme", "www.shop.test": "/srv/acme", "static.shop.test": "/srv/static"])
        XCTAssertEqual(shop.webroots["shop.test"]?.via, "acme-challenge location")
        XCTAssertEqual(shop.webroots["static.shop.test"]?.site, "/etc/nginx/sites-enabled/all:4")
        XCTAssertTrue(shop.selfSigned)

        XCTAssertEqual(found[1].noWebroot["bot.test"], "the site at /etc/nginx/sites-enabled/all:6 redirects it to https://bot.test, where the site at /etc/nginx/sites-enabled/all:5 names no root for its files")
        XCTAssertEqual(found[2].webroots["lego.test"]?.site, "/etc/nginx/sites-enabled/all:3", "no port-80 site names it: the first one on port 80 answers")
        XCTAssertTrue(found[2].noWebroot["*.lego.test"]?.contains("wildcard") ?? false)
        XCTAssertEqual(found[6].problem, "does not exist (the web server would refuse to start)")
        XCTAssertNil(found[6].issuer)
    }

    func testARedirectLeadsToTheHTTPSSitesWebrootAndAMissingDirectoryIsNamed() throws {
        let sites = [
            site(["a.test"], tls: false, path: .redirected(host: nil), line: 1),
            site(["a.test"], tls: true, certificate: "/c/a.pem", key: "/c/a.key", path: .webroot("/srv/a", fromChallengeLocation: false), line: 2),
            site(["b.test"], tls: true, certificate: "/c/b.pem", key: "/c/b.key", line: 3),
            site(["b.test"], tls: false, path: .webroot("/srv/missing", fromChallengeLocation: false), line: 4),
        ]
        let found = HostDiscovery.certificates(sites: sites, files: files(["/c/a.pem": try certificate(["a.test"]), "/c/b.pem": try certificate(["b.test", "b2.test"])],
                                                                          directories: ["/srv/a"]), now: Self.now)
        XCTAssertEqual(found[0].webroots["a.test"], .init(path: "/srv/a", site: "/etc/nginx/sites-enabled/all:2", via: "root behind the redirect to https://a.test"))
        XCTAssertEqual(found[1].noWebroot["b.test"], "the root of the site at /etc/nginx/sites-enabled/all:4 is /srv/missing, which is not an existing directory")
        XCTAssertEqual(found[1].names, ["b.test", "b2.test"])
    }

    func testConfigEntriesCoverTheUnmanagedCertificatesNamesWithAWebroot() throws {
        let sites = [
            site(["shop.test", "www.shop.test", "bad.test"], tls: true, certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", line: 1),
            site(["shop.test", "www.shop.test"], tls: false, path: .webroot("/srv/shop", fromChallengeLocation: false), line: 2),
            site(["static.shop.test"], tls: false, path: .webroot("/srv/static", fromChallengeLocation: false), line: 3),
            site(["bad.test"], tls: false, path: .passedOn("proxy_pass http://127.0.0.1:8000"), line: 4),
            site(["*.one.test"], tls: true, certificate: "/etc/ssl/one.pem", line: 5),
            site(["bot.test"], tls: true, certificate: "/etc/letsencrypt/live/bot.test/fullchain.pem", key: "/k", line: 6),
        ]
        let found = HostDiscovery.certificates(sites: sites, files: files([
            "/etc/ssl/shop.pem": try certificate(["shop.test", "www.shop.test", "static.shop.test"]),
            "/etc/ssl/one.pem": try certificate(["*.one.test"]),
            "/etc/letsencrypt/live/bot.test/fullchain.pem": try certificate(["bot.test"]),
        ], directories: ["/srv/shop", "/srv/static"]), now: Self.now)
        XCTAssertEqual(found[0].uncoveredNames, ["bad.test"])
        let (entries, leftOut) = DiscoveryReport.configEntries(found, takenNames: ["shop.test"], reload: [.nginx: ["/usr/bin/systemctl", "reload", "nginx"]])
        XCTAssertEqual(entries, [DiscoveryReport.ProposedEntry(
            name: "shop.test-2", domains: ["shop.test", "www.shop.test", "static.shop.test"], webroot: "/srv/shop", webroots: ["static.shop.test": "/srv/static"],
            installFullChain: "/etc/ssl/shop.pem", installPrivateKey: "/etc/ssl/shop.key", reload: ["/usr/bin/systemctl", "reload", "nginx"])])
        XCTAssertTrue(leftOut.contains { $0.contains("bad.test left out: the site at /etc/nginx/sites-enabled/all:4 on port 80 passes the requests on (proxy_pass http://127.0.0.1:8000)") }, "\(leftOut)")
        XCTAssertTrue(leftOut.contains("/etc/ssl/one.pem: no entry, no name has a webroot"), "\(leftOut)")

        // A name the config has already is not proposed again.
        let (again, _) = DiscoveryReport.configEntries(found, configured: ["static.shop.test": "static"])
        XCTAssertEqual(again.first?.domains, ["shop.test", "www.shop.test"])
        XCTAssertEqual(again.first?.webroots, [:])

        // The text is a config `check` reads: the same layout and encoding init writes.
        let text = DiscoveryReport.configText(entries)
        XCTAssertTrue(text.hasPrefix("{\n  \"certificates\": [\n    {\n      \"name\": \"shop.test-2\",\n      \"domains\": [\"shop.test\", \"www.shop.test\", \"static.shop.test\"],\n      \"webroot\": \"/srv/shop\",\n      \"webroots\": {\n        \"static.shop.test\": \"/srv/static\"\n      },"), text)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let entry = try XCTUnwrap((parsed["certificates"] as? [[String: Any]])?.first)
        let install = try XCTUnwrap(entry["install"] as? [String: Any])
        XCTAssertEqual(install["fullChain"] as? String, "/etc/ssl/shop.pem", "CertAgent replaces the files the server reads")
        XCTAssertEqual(install["privateKey"] as? String, "/etc/ssl/shop.key")
        XCTAssertEqual(install["reload"] as? [String], ["/usr/bin/systemctl", "reload", "nginx"])
    }

    func testTextFromTheServerIsEscapedWhenShown() throws {
        let hostile = "evil.test\u{1b}[2J\nforged line"
        let sites = [site([hostile], tls: true, certificate: "/etc/ssl/x\u{7}.pem", line: 1)]
        let found = HostDiscovery.certificates(sites: sites, files: files([:], directories: []), now: Self.now)
        let text = DiscoveryReport.text(found, now: Self.now)
        XCTAssertFalse(text.contains("\u{1b}"), text)
        XCTAssertFalse(text.contains("\u{7}"), text)
        XCTAssertTrue(text.contains("evil.test\\x1b[2J\\nforged line"), text)
        XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("forged") }, text)
        XCTAssertTrue(try DiscoveryReport.json(found).contains("\\u001b"), "JSON escapes it too")
    }
}
