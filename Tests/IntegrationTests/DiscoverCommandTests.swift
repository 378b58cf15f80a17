import Foundation
import TestSupport
import XCTest

/// `certagent discover` against Debian's real nginx (`nginx -c FILE -T`) and Apache (`apache2 -f FILE -S`), each
/// configured by the test with several TLS sites: certificates under a fake certbot `live/` path, a lego one, one in
/// CertAgent's store, an unmanaged one, one shared between two sites, includes, and acme-challenge locations. Neither
/// server is started: both only read and check their configuration.
final class DiscoverCommandTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var root: String { directory.path }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
    }

    /// A self-signed certificate for `names` at `certificate`, its key at `key` (openssl).
    private func makeCertificate(_ names: [String], certificate: String, key: String) throws {
        for path in [certificate, key] {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let result = try runCommand("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                         "-keyout", key, "-out", certificate, "-subj", "/CN=\(names[0])", "-days", "30",
                                                         "-addext", "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",")])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    private func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The certificates of the host the test describes, and CertAgent's config (whose store holds `mine`).
    private func makeHost() throws {
        try makeCertificate(["plain.test", "www.plain.test"], certificate: "\(root)/ssl/plain.pem", key: "\(root)/ssl/plain.key")
        try makeCertificate(["one.test", "two.test"], certificate: "\(root)/ssl/shared.pem", key: "\(root)/ssl/shared.key")
        try makeCertificate(["bot.test"], certificate: "\(root)/etc/letsencrypt/archive/bot.test/fullchain1.pem", key: "\(root)/etc/letsencrypt/archive/bot.test/privkey1.pem")
        try FileManager.default.createDirectory(atPath: "\(root)/etc/letsencrypt/live/bot.test", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/etc/letsencrypt/live/bot.test/fullchain.pem", withDestinationPath: "../../archive/bot.test/fullchain1.pem")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/etc/letsencrypt/live/bot.test/privkey.pem", withDestinationPath: "../../archive/bot.test/privkey1.pem")
        try makeCertificate(["lego.test"], certificate: "\(root)/home/.lego/certificates/lego.test.crt", key: "\(root)/home/.lego/certificates/lego.test.key")
        try makeCertificate(["mine.test"], certificate: "\(root)/store/certificates/mine/current/fullchain.pem", key: "\(root)/store/certificates/mine/current/privkey.pem")
        for site in ["plain", "one", "two", "mine"] { _ = try directory.make("www/\(site)") }
        _ = try directory.make("acme/.well-known/acme-challenge")
        try write("\(root)/certagent/config.json", """
            {"storage": "\(root)/store", "certificates": [{"name": "mine", "domains": ["mine.test"], "webroot": "\(root)/www/mine"}]}
            """)
    }

    private func makeNginxConfig() throws -> String {
        let main = "\(root)/nginx/nginx.conf"
        try write(main, """
            pid \(root)/nginx.pid;
            error_log \(root)/nginx-error.log;
            events {}
            http {
                access_log off;
                include sites/*.conf;   # relative: below this file's directory
            }
            """)
        try write("\(root)/nginx/snippets/shared-tls.conf", """
            ssl_certificate     \(root)/ssl/shared.pem;
            ssl_certificate_key \(root)/ssl/shared.key;
            """)
        try write("\(root)/nginx/sites/plain.conf", """
            server {
                listen 80;
                server_name plain.test www.plain.test;
                location /.well-known/acme-challenge/ { root \(root)/acme; }
                location / { return 301 https://$host$request_uri; }
            }
            server {
                listen 443 ssl default_server;
                server_name "plain.test" www.plain.test;   # quoted, and a comment
                ssl_certificate     \(root)/ssl/plain.pem;
                ssl_certificate_key \(root)/ssl/plain.key;
                root \(root)/www/plain;
            }
            """)
        try write("\(root)/nginx/sites/shared.conf", """
            server { listen 443 ssl; server_name one.test; include snippets/shared-tls.conf; root \(root)/www/one; }
            server { listen 443 ssl; server_name two.test; include snippets/shared-tls.conf; root \(root)/www/two; }
            server { listen 80 default_server; server_name one.test; root \(root)/www/one; }
            server { listen 80; server_name two.test; root \(root)/www/two; }
            """)
        try write("\(root)/nginx/sites/managed.conf", """
            server {
                listen 443 ssl; server_name bot.test;
                ssl_certificate \(root)/etc/letsencrypt/live/bot.test/fullchain.pem; ssl_certificate_key \(root)/etc/letsencrypt/live/bot.test/privkey.pem;
            }
            server {
                listen 443 ssl; server_name lego.test;
                ssl_certificate \(root)/home/.lego/certificates/lego.test.crt; ssl_certificate_key \(root)/home/.lego/certificates/lego.test.key;
            }
            server {
                listen 443 ssl; server_name mine.test;
                ssl_certificate \(root)/store/certificates/mine/current/fullchain.pem; ssl_certificate_key \(root)/store/certificates/mine/current/privkey.pem;
            }
            """)
        return main
    }

    private func makeApacheConfig() throws -> String {
        let main = "\(root)/apache/apache2.conf"
        for name in ["run", "lock", "log"] { _ = try directory.make("apache-\(name)") }
        try write(main, """
            ServerRoot \(root)/apache
            DefaultRuntimeDir ${APACHE_RUN_DIR}
            PidFile ${APACHE_PID_FILE}
            Mutex file:${APACHE_LOCK_DIR} default
            ErrorLog ${APACHE_LOG_DIR}/error.log
            ServerName localhost
            LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
            LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
            LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
            LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
            Listen 80
            Listen 443
            IncludeOptional sites/*.conf
            """)
        try write("\(root)/apache/sites/plain.conf", """
            <VirtualHost *:443>
                ServerName plain.test
                ServerAlias www.plain.test
                SSLEngine on
                SSLCertificateFile "\(root)/ssl/plain.pem"
                SSLCertificateKeyFile \(root)/ssl/plain.key
                DocumentRoot ${DISCOVER_SITES}/plain
            </VirtualHost>
            <VirtualHost *:80>
                ServerName plain.test
                ServerAlias www.plain.test
                Redirect permanent / https://plain.test/
            </VirtualHost>
            """)
        try write("\(root)/apache/snippets/shared-tls.conf", """
            # Included inside a virtual host (relative to ServerRoot).
            SSLCertificateFile \(root)/ssl/shared.pem
            SSLCertificateKeyFile \(root)/ssl/shared.key
            """)
        try write("\(root)/apache/sites/shared.conf", """
            # One certificate for two hosts, and a letsencrypt one.
            <VirtualHost *:443>
                ServerName one.test
                <IfModule mod_ssl.c>
                    SSLEngine on
                    SSLCertificateFile \(root)/ssl/shared.pem
                    SSLCertificateKeyFile \(root)/ssl/shared.key
                </IfModule>
            </VirtualHost>
            <VirtualHost *:443>
                ServerName two.test
                SSLEngine on
                Include snippets/shared-tls.conf
            </VirtualHost>
            <VirtualHost *:80>
                ServerName one.test
                ServerAlias two.test
                DocumentRoot ${DISCOVER_SITES}/one
                Alias /.well-known/acme-challenge/ \(root)/acme/.well-known/acme-challenge/
            </VirtualHost>
            <VirtualHost *:443>
                ServerName bot.test
                SSLEngine on
                SSLCertificateFile \(root)/etc/letsencrypt/live/bot.test/fullchain.pem
                SSLCertificateKeyFile \(root)/etc/letsencrypt/live/bot.test/privkey.pem
            </VirtualHost>
            """)
        return main
    }

    /// The environment Apache's own program needs (Debian's apache2ctl reads it from /etc/apache2/envvars).
    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["APACHE_RUN_DIR"] = "\(root)/apache-run"
        environment["APACHE_PID_FILE"] = "\(root)/apache-run/apache2.pid"
        environment["APACHE_LOCK_DIR"] = "\(root)/apache-lock"
        environment["APACHE_LOG_DIR"] = "\(root)/apache-log"
        environment["APACHE_RUN_USER"] = "www-data"
        environment["APACHE_RUN_GROUP"] = "www-data"
        environment["DISCOVER_SITES"] = "\(root)/www"
        return environment
    }

    private func discover(_ arguments: [String], nginx: String, apache: String) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, ["discover", "--config", "\(root)/certagent/config.json", "--nginx-config", nginx,
                                                      "--apache", "/usr/sbin/apache2", "--apache-config", apache] + arguments, environment: environment)
    }

    func testEveryServedCertificateIsFoundAndClassifiedWithItsWebrootsAndTheProposedConfigChecks() throws {
        try makeHost()
        let nginx = try makeNginxConfig()
        let apache = try makeApacheConfig()

        let result = try discover(["--json"], nginx: nginx, apache: apache)
        XCTAssertEqual(result.status, 0, result.output)
        let certificates = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], result.stdout)
        func entries(_ server: String) -> [String: [String: Any]] {
            var found: [String: [String: Any]] = [:]
            for certificate in certificates where ((certificate["sites"] as? [[String: Any]])?.first?["server"] as? String) == server {
                found[certificate["certificateFile"] as? String ?? ""] = certificate
            }
            return found
        }
        func client(_ entry: [String: Any]?) -> String? { (entry?["managedBy"] as? [String: Any])?["client"] as? String }
        func webroots(_ entry: [String: Any]?) -> [String: String] {
            ((entry?["webroots"] as? [String: [String: Any]]) ?? [:]).compactMapValues { $0["path"] as? String }
        }

        let botFile = "\(root)/etc/letsencrypt/live/bot.test/fullchain.pem"
        let servedByNginx = entries("nginx")
        XCTAssertEqual(Set(servedByNginx.keys), ["\(root)/ssl/plain.pem", "\(root)/ssl/shared.pem", botFile,
                                                 "\(root)/home/.lego/certificates/lego.test.crt", "\(root)/store/certificates/mine/current/fullchain.pem"])
        XCTAssertEqual(client(servedByNginx["\(root)/ssl/plain.pem"]), "none")
        XCTAssertEqual(client(servedByNginx[botFile]), "certbot")
        XCTAssertEqual((servedByNginx[botFile]?["managedBy"] as? [String: Any])?["lineage"] as? String, "bot.test")
        XCTAssertEqual(client(servedByNginx["\(root)/home/.lego/certificates/lego.test.crt"]), "lego")
        XCTAssertEqual(client(servedByNginx["\(root)/store/certificates/mine/current/fullchain.pem"]), "certagent", "CertAgent's own store, from its config")
        XCTAssertEqual(webroots(servedByNginx["\(root)/ssl/plain.pem"]), ["plain.test": "\(root)/acme", "www.plain.test": "\(root)/acme"],
                       "the acme-challenge location of the port-80 site")
        let shared = try XCTUnwrap(servedByNginx["\(root)/ssl/shared.pem"])
        XCTAssertEqual((shared["sites"] as? [[String: Any]])?.count, 2, "one certificate shared by two sites (through an include)")
        XCTAssertEqual(webroots(shared), ["one.test": "\(root)/www/one", "two.test": "\(root)/www/two"])
        XCTAssertEqual(shared["certificateNames"] as? [String], ["one.test", "two.test"])
        XCTAssertEqual(shared["issuer"] as? String, "CN=one.test")
        XCTAssertNotNil(shared["notAfter"] as? String)

        let servedByApache = entries("apache")
        XCTAssertEqual(Set(servedByApache.keys), ["\(root)/ssl/plain.pem", "\(root)/ssl/shared.pem", botFile])
        XCTAssertEqual(client(servedByApache[botFile]), "certbot")
        XCTAssertEqual(client(servedByApache["\(root)/ssl/shared.pem"]), "none")
        XCTAssertEqual(webroots(servedByApache["\(root)/ssl/plain.pem"]), ["plain.test": "\(root)/www/plain", "www.plain.test": "\(root)/www/plain"],
                       "port 80 redirects: the HTTPS host's DocumentRoot (${DISCOVER_SITES} from the environment)")
        XCTAssertEqual(webroots(servedByApache["\(root)/ssl/shared.pem"]), ["one.test": "\(root)/acme", "two.test": "\(root)/acme"], "the Alias of the acme-challenge path")
        XCTAssertEqual((servedByApache["\(root)/ssl/shared.pem"]?["sites"] as? [[String: Any]])?.count, 2, "the second through an Include inside its <VirtualHost>")

        // The text for people says the same.
        let text = try discover([], nginx: nginx, apache: apache)
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.stdout.contains("managed by   certbot (lineage bot.test)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("take over    certagent init --name plain.test --domain plain.test --domain www.plain.test --webroot \(root)/acme"), text.stdout)
        XCTAssertTrue(text.stdout.contains("8 certificates served, 4 managed by no known client"), text.stdout)

        // --as-config: entries for the unmanaged ones, which `check` accepts as a config of their own.
        let proposed = try discover(["--as-config"], nginx: nginx, apache: apache)
        XCTAssertEqual(proposed.status, 0, proposed.output)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(proposed.stdout.utf8)) as? [String: Any], proposed.stdout)
        let proposedEntries = try XCTUnwrap(config["certificates"] as? [[String: Any]])
        XCTAssertEqual(proposedEntries.map { $0["name"] as? String }, ["plain.test", "one.test"], "one entry per set of names, whichever server serves them")
        XCTAssertEqual(proposedEntries[0]["domains"] as? [String], ["plain.test", "www.plain.test"])
        XCTAssertEqual((proposedEntries[0]["install"] as? [String: Any])?["fullChain"] as? String, "\(root)/ssl/plain.pem")
        XCTAssertEqual(proposedEntries[1]["webroots"] as? [String: String], ["two.test": "\(root)/www/two"])
        XCTAssertTrue(proposed.stderr.contains("its names are in an entry above already"), proposed.stderr)
        let file = "\(root)/proposed/config.json"
        try write(file, proposed.stdout)
        var checkEnvironment = environment
        checkEnvironment["STATE_DIRECTORY"] = "\(root)/new-store"
        let checked = try runCommand(ProjectPaths.certagentBinary, ["check", "--config", file], environment: checkEnvironment)
        XCTAssertEqual(checked.status, 0, checked.output)
        XCTAssertTrue(checked.stdout.contains("\(file): OK"), checked.stdout)
        XCTAssertTrue(checked.stdout.contains("plain.test: plain.test, www.plain.test"), checked.stdout)
    }

    func testAFailingNginxIsNamedWithTheEndOfWhatItSaid() throws {
        try makeHost()
        let broken = "\(root)/nginx/broken.conf"
        try write(broken, "events {}\nhttp { server { listen 80; no_such_\u{1b}[31mdirective red; } }\n")
        let result = try runCommand(ProjectPaths.certagentBinary, ["discover", "--config", "\(root)/certagent/config.json", "--nginx-config", broken, "--no-apache"],
                                    environment: environment)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("nginx: cannot read its configuration: `/usr/sbin/nginx -c \(broken) -T` exited with status 1: "), result.stderr)
        XCTAssertTrue(result.stderr.contains("unknown directive \"no_such_\\x1b[31mdirective\""), "nginx's output, escaped: \(result.stderr)")
        XCTAssertFalse(result.stderr.contains("\u{1b}"), result.stderr)
    }
}
