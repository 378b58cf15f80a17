@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `CertbotImport`, `LegoImport` and `ImportApplication` on directories laid out as those clients leave them.
final class ImportPlanTests: XCTestCase {
    static let server = "https://acme.test/directory"
    static let accountID = "fa5dfb63418002b86644509bdd90e847"
    static let accountURL = "https://acme.test/acct/7"

    /// certbot and lego share one answer to "can CertAgent renew this at all", each reason in its own words.
    func testUnsupportedCertificatesAreExplainedAlikeForBothClients() throws {
        let fixtures = try ImportFixtures()
        let leaf = try Certificate(pem: fixtures.issue(["a.example", "b.example"]).leafPEM)
        XCTAssertNil(ImportFiles.unsupportedReason(leaf: leaf, domains: ["a.example", "b.example"], client: "lego"))
        let wildcard = try XCTUnwrap(ImportFiles.unsupportedReason(leaf: leaf, domains: ["*.a.example"], client: "lego"))
        XCTAssertTrue(wildcard.contains("wildcard name *.a.example") && wildcard.contains("keep renewing it with lego"), wildcard)
        XCTAssertEqual(ImportFiles.unsupportedReason(leaf: leaf, domains: [], client: "lego"), "its certificate names no DNS name",
                       "no DNS name is not called an IP-address certificate")
        let bad = try XCTUnwrap(ImportFiles.unsupportedReason(leaf: leaf, domains: ["bad_name.example"], client: "certbot (webroot)"))
        XCTAssertTrue(bad.hasPrefix("bad_name.example "), bad)
    }

    func testCertbotWebrootLineagesAreTakenOverAndOthersExplained() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        let accountKey = try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        let (key, leaf) = try fixtures.certbotLineage(
            root: root, name: "example.com", domains: ["example.com", "www.example.com", "static.example.com"], server: Self.server,
            account: Self.accountID, params: """
                authenticator = webroot
                webroot_path = /var/www/example, /var/www/static,
                reuse_key = True
                [[webroot_map]]
                example.com = /var/www/example
                www.example.com = /var/www/example
                static.example.com = /var/www/static
                """, keyType: .rsa2048)
        try fixtures.certbotLineage(root: root, name: "shop.example.com", domains: ["shop.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = nginx\ninstaller = nginx")
        try fixtures.certbotLineage(root: root, name: "wild.example.com", domains: ["*.wild.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = dns-cloudflare")

        let plan = try CertbotImport.plan(directory: root) { name, _ in name == "shop.example.com" ? "/srv/shop" : nil }

        XCTAssertEqual(plan.client, "certbot")
        XCTAssertEqual(plan.certificates.map(\.name), ["example.com"])
        let imported = try XCTUnwrap(plan.certificates.first)
        XCTAssertEqual(imported.domains, ["example.com", "www.example.com", "static.example.com"])
        XCTAssertEqual(imported.webroots, ["example.com": "/var/www/example", "www.example.com": "/var/www/example", "static.example.com": "/var/www/static"])
        XCTAssertEqual(imported.sharedWebroot, "/var/www/example")
        XCTAssertEqual(imported.keyType, .rsa2048, "the key's own type")
        XCTAssertTrue(imported.reuseKey, "reuse_key = True")
        XCTAssertEqual(try imported.key.pkcs8PEM(), try key.pkcs8PEM(), "the same key")
        XCTAssertEqual(imported.leaf.pem, leaf)
        XCTAssertEqual(imported.chain.map(\.pem), [fixtures.chainPEM])
        XCTAssertEqual(imported.directoryURL, Self.server)
        XCTAssertEqual(imported.accountURL, Self.accountURL)
        let entry = imported.entry(configKeyType: "ec256", reload: nil).json.parsed
        XCTAssertEqual(entry, try StrictJSONParser.parse(Array("""
            {"name": "example.com", "domains": ["example.com", "www.example.com", "static.example.com"], "webroot": "/var/www/example",
             "webroots": {"static.example.com": "/var/www/static"}, "keyType": "rsa2048", "reuseKey": true}
            """.utf8)))

        XCTAssertEqual(plan.accounts.count, 1)
        XCTAssertEqual(plan.accounts.first?.url, Self.accountURL)
        XCTAssertEqual(try plan.accounts.first?.key.jwkThumbprint(), try accountKey.jwkThumbprint(), "the account key read from its JWK")

        XCTAssertEqual(plan.skipped.map(\.name), ["shop.example.com", "wild.example.com"])
        let shop = plan.skipped[0]
        XCTAssertTrue(shop.reason.contains("nginx plugin"), shop.reason)
        XCTAssertTrue(shop.suggestion?.contains("--webroot shop.example.com=/srv/shop") == true, "\(shop.suggestion ?? "")")
        XCTAssertTrue(plan.skipped[1].reason.contains("wildcard name *.wild.example.com"), plan.skipped[1].reason)
        XCTAssertTrue(plan.switchOff[0].contains("systemctl disable --now certbot.timer"))
    }

    func testWebrootOptionTakesOverAnotherAuthenticatorsLineage() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        try fixtures.certbotLineage(root: root, name: "shop", domains: ["shop.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = standalone")

        let plan = try CertbotImport.plan(directory: root, webroots: try ImportWebroots.parse(["shop=/srv/shop"]))

        XCTAssertEqual(plan.certificates.map(\.name), ["shop"])
        XCTAssertEqual(plan.certificates.first?.webroots, ["shop.example.com": "/srv/shop"])
        XCTAssertEqual(plan.certificates.first?.notes, ["webroot /srv/shop from --webroot (certbot renewed it with standalone)"])
        XCTAssertEqual(plan.skipped, [])
    }

    func testBadCertbotFilesAreErrorsNamingTheFile() throws {
        let fixtures = try ImportFixtures()
        func lineage() throws -> String {
            let root = try fixtures.temporary.make("le-\(UUID().uuidString.prefix(6))")
            try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
            try fixtures.certbotLineage(root: root, name: "site", domains: ["site.example.com"], server: Self.server, account: Self.accountID,
                                        params: "authenticator = webroot\nwebroot_path = /var/www/site,")
            return root
        }
        func expectError(_ root: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try CertbotImport.plan(directory: root), file: file, line: line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)", file: file, line: line)
            }
        }
        let empty = try fixtures.temporary.make("nothing")
        expectError(empty, "\(empty)/renewal: does not exist")

        var root = try lineage()
        try fixtures.issue(["site.example.com"]).key.pkcs8PEM().write(toFile: root + "/archive/site/privkey1.pem", atomically: true, encoding: .utf8)
        expectError(root, "\(root)/live/site/privkey.pem: is not the private key of the certificate in \(root)/live/site/cert.pem")

        root = try lineage()
        try fixtures.issue(["site.example.com"]).leafPEM.write(toFile: root + "/archive/site/fullchain1.pem", atomically: true, encoding: .utf8)
        expectError(root, "\(root)/live/site/fullchain.pem: is not \(root)/live/site/cert.pem followed by \(root)/live/site/chain.pem")

        root = try lineage()
        try "not a certificate".write(toFile: root + "/archive/site/cert1.pem", atomically: true, encoding: .utf8)
        expectError(root, "\(root)/live/site/cert.pem: ")

        root = try lineage()
        try FileManager.default.removeItem(atPath: root + "/accounts")
        expectError(root, "\(root)/renewal/site.conf: [renewalparams] account = \"\(Self.accountID)\": names no account")

        root = try lineage()
        let keyFile = root + "/accounts/acme.test/directory/\(Self.accountID)/private_key.json"
        try "{\"kty\": \"RSA\", \"n\": \"AQAB\"}".write(toFile: keyFile, atomically: true, encoding: .utf8)
        expectError(root, "\(keyFile): the JWK is not a usable private key: it has no \"e\" member")

        root = try lineage()
        let registration = root + "/accounts/acme.test/directory/\(Self.accountID)/regr.json"
        try "{\"body\": {}}".write(toFile: registration, atomically: true, encoding: .utf8)
        expectError(root, "\(registration): uri: is missing")

        root = try lineage()
        try "[renewalparams]\naccount = x\n".write(toFile: root + "/renewal/site.conf", atomically: true, encoding: .utf8)
        expectError(root, "\(root)/renewal/site.conf: [renewalparams] server: is missing")
    }

    func testApplyWritesConfigAccountAndCertificatesAndDryRunPreparesWithoutWriting() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        let (key, leaf) = try fixtures.certbotLineage(root: root, name: "site", domains: ["site.example.com"], server: Self.server,
                                                      account: Self.accountID, params: "authenticator = webroot\nwebroot_path = /var/www/site,")
        let configPath = fixtures.temporary.path("config.json")
        let storage = fixtures.temporary.path("store")
        let webroot = try fixtures.temporary.make("site")
        let plan = try CertbotImport.plan(directory: root, webroots: ImportWebroots(byName: ["site": webroot]))

        let application = try ImportApplication.prepare(plan: plan, configPath: configPath, existing: nil,
                                                        settings: .init(storage: storage, email: "admin@example.com"), reload: ["true"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: configPath), "prepare (--dry-run) writes no config")
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage), "nor a store")
        let report = ImportReport.plan(application, dryRun: true)
        XCTAssertTrue(report.contains("Would import from certbot (\(root)) into a new config \(configPath)"), report)
        XCTAssertTrue(report.contains("certificate site: site.example.com; ec256;"), report)
        XCTAssertTrue(report.hasSuffix("Nothing was written (--dry-run)."), report)

        try application.write(environment: [:])

        let config = try ConfigLoader.load(path: configPath, environment: [:])
        XCTAssertEqual(config.directoryURL, Self.server)
        XCTAssertEqual(config.emails, ["admin@example.com"])
        XCTAssertEqual(config.certificates.map(\.name), ["site"])
        XCTAssertEqual(config.certificates.first?.webroots, ["site.example.com": webroot])
        XCTAssertEqual(config.certificates.first?.install?.reload?.arguments, ["true"])
        let store = try CertificateStore(config: config, create: false)
        let files = try XCTUnwrap(store.currentFiles("site"))
        XCTAssertEqual(try String(contentsOfFile: files.certificate, encoding: .utf8), leaf, "byte for byte")
        XCTAssertEqual(try String(contentsOfFile: files.chain, encoding: .utf8), fixtures.chainPEM)
        XCTAssertEqual(try String(contentsOfFile: files.fullChain, encoding: .utf8), leaf + fixtures.chainPEM)
        XCTAssertEqual(try PrivateKey(pem: String(contentsOfFile: files.privateKey, encoding: .utf8)).pkcs8PEM(), try key.pkcs8PEM())
        XCTAssertEqual(store.issuanceFacts(of: "site"), IssuanceFacts(directoryURL: Self.server, accountURL: Self.accountURL))
        guard case .valid = StoredCertificateState.inspect(try XCTUnwrap(config.certificate(named: "site")), in: store, now: Date()) else {
            return XCTFail("the imported certificate is usable")
        }
        let record = try XCTUnwrap(store.accountRecord(directoryURL: Self.server))
        XCTAssertEqual(record.url, Self.accountURL)
        let accountKeyFile = store.keys.accountKey(directoryURL: Self.server)
        XCTAssertTrue(try String(contentsOfFile: accountKeyFile, encoding: .utf8).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "sealed")
        let store2 = try CertificateStore(config: config)
        let secrets = try AgentSecrets.open(config: config, store: store2, create: false, environment: [:])
        XCTAssertEqual(try AccountKeyFile.read(accountKeyFile, masterKey: secrets.masterKey).jwkThumbprint(), try plan.accounts[0].key.jwkThumbprint())
        XCTAssertEqual(record.keyThumbprint, try plan.accounts[0].key.jwkThumbprint())

        // Importing again: everything is there already, so nothing can be imported and nothing changes.
        let before = try String(contentsOfFile: configPath, encoding: .utf8)
        XCTAssertThrowsError(try ImportApplication.prepare(plan: plan, configPath: configPath, existing: try ExistingConfigFile.read(configPath),
                                                           settings: .init(), reload: nil)) { error in
            let refusal = error as? ImportRefusal
            XCTAssertEqual(refusal?.skipped.map(\.reason), ["\(configPath) already has a certificate named site"])
        }
        XCTAssertEqual(try String(contentsOfFile: configPath, encoding: .utf8), before)
    }

    func testExistingConfigGetsTheEntryAddedAfterItsOwn() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        let site = try fixtures.temporary.make("site")
        let old = try fixtures.temporary.make("old")
        try fixtures.certbotLineage(root: root, name: "site", domains: ["site.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = webroot\nwebroot_path = \(site),")
        try fixtures.certbotLineage(root: root, name: "taken", domains: ["old.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = webroot\nwebroot_path = \(old),")
        try fixtures.certbotLineage(root: root, name: "gone", domains: ["gone.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = webroot\nwebroot_path = \(old)/gone,")
        let configPath = try fixtures.temporary.write("config.json", """
            {
                "directory": "\(Self.server)",
                "storage": "\(fixtures.temporary.path("store"))",
                "certificates": [
                    { "name": "old", "domains": ["old.example.com"], "webroot": "\(old)" }
                ]
            }

            """)
        let existing = try XCTUnwrap(try ExistingConfigFile.read(configPath))
        let application = try ImportApplication.prepare(plan: try CertbotImport.plan(directory: root), configPath: configPath,
                                                        existing: existing, settings: .init(), reload: nil)
        XCTAssertEqual(application.certificates.map(\.name), ["site"])
        XCTAssertEqual(application.skipped.map(\.reason), ["its webroot \(old)/gone is not an existing directory", "old.example.com is already in the certificate old"])
        XCTAssertEqual(application.configText, """
            {
                "directory": "\(Self.server)",
                "storage": "\(fixtures.temporary.path("store"))",
                "certificates": [
                    { "name": "old", "domains": ["old.example.com"], "webroot": "\(old)" },
                    {
                        "name": "site",
                        "domains": ["site.example.com"],
                        "webroot": "\(site)"
                    }
                ]
            }

            """, "added by ConfigEditor after the entry there, the file's own indentation kept")
    }

    /// The config changed between the plan and the write (the last step): what the import wrote is removed again.
    func testAFailedWriteLeavesConfigAndStoreAsTheyWere() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        let site = try fixtures.temporary.make("site")
        try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        try fixtures.certbotLineage(root: root, name: "site", domains: ["site.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = webroot\nwebroot_path = \(site),")
        let storage = fixtures.temporary.path("store")
        let configPath = try fixtures.temporary.write("config.json", """
            {"directory": "\(Self.server)", "storage": "\(storage)", "masterKeyFile": "\(fixtures.temporary.path("master.key"))",
             "certificates": [{"name": "old", "domains": ["old.example.com"], "webroot": "\(site)"}]}
            """)
        let application = try ImportApplication.prepare(plan: try CertbotImport.plan(directory: root), configPath: configPath,
                                                        existing: try ExistingConfigFile.read(configPath), settings: .init(), reload: nil)
        let edited = try String(contentsOfFile: configPath, encoding: .utf8) + "\n"
        try edited.write(toFile: configPath, atomically: true, encoding: .utf8)

        XCTAssertThrowsError(try application.write(environment: [:])) { error in
            XCTAssertEqual(error as? ConfigEditError, .changedMeanwhile(file: configPath))
        }
        XCTAssertEqual(try String(contentsOfFile: configPath, encoding: .utf8), edited)
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage), "the store this import made is gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixtures.temporary.path("master.key")), "and the master key it made")
    }

    func testCertificatesOfAnotherCAThanTheConfigsAreLeftOut() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("letsencrypt")
        try fixtures.certbotAccount(root: root, server: Self.server, id: Self.accountID, uri: Self.accountURL)
        try fixtures.certbotLineage(root: root, name: "site", domains: ["site.example.com"], server: Self.server,
                                    account: Self.accountID, params: "authenticator = webroot\nwebroot_path = /var/www/site,")
        let old = try fixtures.temporary.make("old")
        let configPath = try fixtures.temporary.write("config.json", """
            {"directory": "https://other.test/dir", "storage": "\(fixtures.temporary.path("store"))",
             "certificates": [{"name": "old", "domains": ["old.example.com"], "webroot": "\(old)"}]}
            """)
        XCTAssertThrowsError(try ImportApplication.prepare(plan: try CertbotImport.plan(directory: root), configPath: configPath,
                                                           existing: try ExistingConfigFile.read(configPath), settings: .init(), reload: nil)) { error in
            let skipped = (error as? ImportRefusal)?.skipped ?? []
            XCTAssertEqual(skipped.count, 1)
            XCTAssertTrue(skipped.first?.reason.contains("issued through \(Self.server), which \(configPath) does not name in \"directory\"") == true, "\(skipped)")
        }
    }

    func testLegoNeedsTheServerForAnUnknownHostAndAWebroot() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("lego")
        let accountKey = try fixtures.legoAccount(root: root, hostDirectory: "acme.test_14000", email: "admin@example.com", uri: "https://acme.test:14000/my-account/1")
        let (key, leaf) = try fixtures.legoCertificate(root: root, domains: ["site.example.com", "www.site.example.com"])
        try fixtures.legoCertificate(root: root, domains: ["*.wild.example.com"])

        XCTAssertThrowsError(try LegoImport.plan(directory: root, webroots: ImportWebroots())) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(root)/accounts/acme.test_14000: lego keeps only the server's host"), "\(error)")
            XCTAssertTrue("\(error)".contains("pass --server"), "\(error)")
        }
        XCTAssertThrowsError(try LegoImport.plan(directory: root, webroots: ImportWebroots(), server: "https://other.test/dir")) { error in
            XCTAssertTrue("\(error)".contains("--server = \"https://other.test/dir\": lego has no account at this server (it would be in other.test/; there is acme.test_14000)"), "\(error)")
        }

        let server = "https://acme.test:14000/dir"
        let unplaced = try LegoImport.plan(directory: root, webroots: ImportWebroots(), server: server) { _, _ in "/srv/site" }
        XCTAssertEqual(unplaced.certificates.count, 0)
        XCTAssertEqual(unplaced.skipped.map(\.name), ["_.wild.example.com", "site.example.com"])
        XCTAssertTrue(unplaced.skipped[1].suggestion?.contains("--webroot site.example.com=/srv/site") == true, "\(unplaced.skipped)")

        let plan = try LegoImport.plan(directory: root, webroots: try ImportWebroots.parse(["/var/www/site"]), server: server)
        XCTAssertEqual(plan.certificates.map(\.name), ["site.example.com"])
        let imported = try XCTUnwrap(plan.certificates.first)
        XCTAssertEqual(imported.domains, ["site.example.com", "www.site.example.com"])
        XCTAssertEqual(imported.webroots, ["site.example.com": "/var/www/site", "www.site.example.com": "/var/www/site"])
        XCTAssertEqual(imported.leaf.pem, leaf)
        XCTAssertEqual(try imported.key.pkcs8PEM(), try key.pkcs8PEM())
        XCTAssertFalse(imported.reuseKey)
        XCTAssertEqual(plan.accounts.map(\.url), ["https://acme.test:14000/my-account/1"])
        XCTAssertEqual(plan.accounts.map(\.directoryURL), [server])
        XCTAssertEqual(plan.accounts.first?.contact, ["mailto:admin@example.com"])
        XCTAssertEqual(try plan.accounts.first?.key.jwkThumbprint(), try accountKey.jwkThumbprint())
    }

    func testBadLegoFilesAreErrorsNamingTheFile() throws {
        let fixtures = try ImportFixtures()
        let root = try fixtures.temporary.make("lego")
        try fixtures.legoAccount(root: root, hostDirectory: "acme-v02.api.letsencrypt.org", email: "a@example.com", uri: "https://acme-v02.api.letsencrypt.org/acme/acct/1")
        try fixtures.legoCertificate(root: root, domains: ["site.example.com"])
        let webroots = ImportWebroots(shared: "/var/www/site")
        let plan = try LegoImport.plan(directory: root, webroots: webroots)
        XCTAssertEqual(plan.accounts.first?.directoryURL, "https://acme-v02.api.letsencrypt.org/directory", "Let's Encrypt's host is known")

        try "{\"domain\": \"other.example.com\"}".write(toFile: root + "/certificates/site.example.com.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LegoImport.plan(directory: root, webroots: webroots)) { error in
            XCTAssertTrue("\(error)".contains("site.example.com.json: domain = \"other.example.com\": is not a name of the certificate"), "\(error)")
        }
        try "{\"domain\": \"site.example.com\"}".write(toFile: root + "/certificates/site.example.com.json", atomically: true, encoding: .utf8)
        try PrivateKey.generate(.ec256).pkcs8PEM().write(toFile: root + "/certificates/site.example.com.key", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LegoImport.plan(directory: root, webroots: webroots)) { error in
            XCTAssertTrue("\(error)".contains("site.example.com.key: is not the private key of the certificate in site.example.com.crt"), "\(error)")
        }
        let accountFile = root + "/accounts/acme-v02.api.letsencrypt.org/a@example.com/account.json"
        try "{\"email\": \"a@example.com\", \"registration\": null}".write(toFile: accountFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LegoImport.plan(directory: root, webroots: webroots)) { error in
            XCTAssertEqual("\(error)", "\(accountFile): registration.uri: is missing: the account was never registered")
        }
        XCTAssertThrowsError(try ImportWebroots.parse(["relative/path"])) { error in
            XCTAssertEqual("\(error)", "the command line: --webroot = \"relative/path\": must be an absolute path, or NAME=/absolute/path")
        }
    }

    func testWebServerRootsFromNginxAndApacheSites() throws {
        let temporary = try TemporaryDirectory()
        let nginx = try temporary.make("sites-enabled")
        _ = try temporary.write("sites-enabled/example", """
            server {
                listen 80;
                server_name example.com www.example.com; # the site
                root /var/www/example;
                location /static/ { root /var/www/static; }
            }
            server {
                server_name shop.example.com;
                root "/srv/shop";
            }
            """)
        let apache = try temporary.make("apache")
        _ = try temporary.write("apache/blog.conf", """
            <VirtualHost *:80>
                ServerName blog.example.com
                ServerAlias news.example.com
                DocumentRoot "/var/www/blog"
            </VirtualHost>
            """)
        let roots = WebServerRoots.scan(directories: [nginx, apache, temporary.path("missing")])
        XCTAssertEqual(roots.roots, ["example.com": "/var/www/example", "www.example.com": "/var/www/example", "shop.example.com": "/srv/shop",
                                     "blog.example.com": "/var/www/blog", "news.example.com": "/var/www/blog"])
        XCTAssertEqual(roots.suggestion(for: ["other.example.com", "news.example.com"]), "/var/www/blog")
        XCTAssertNil(roots.suggestion(for: ["other.example.com"]))
    }
}
