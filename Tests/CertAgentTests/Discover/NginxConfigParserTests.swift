@testable import CertAgent
import Foundation
import XCTest

/// `discover` reads nginx's configuration from `nginx -T`: the files split at their headers, includes followed through
/// the dump, nginx's tokens (comments, quotes, escapes, variables), and the sites with what they serve.
final class NginxConfigParserTests: XCTestCase {
    /// A dump as `nginx -T` prints it: each file after its header line, a blank line after each.
    private func dump(_ files: [(String, String)]) -> String {
        files.map { "# configuration file \($0.0):\n\($0.1)\n" }.joined(separator: "\n")
    }

    private func sites(_ files: [(String, String)]) throws -> [ServedSite] {
        try WebServerConfigDump.nginxSites(dump: dump(files), prefix: "/usr/share/nginx")
    }

    func testTheDumpSplitsIntoFilesInOrderWithTheirLines() {
        let files = NginxConfigParser.files(inDump: dump([("/etc/nginx/nginx.conf", "events {}\nhttp {\n}"), ("/etc/nginx/mime.types", "types {}")]))
        XCTAssertEqual(files.map(\.path), ["/etc/nginx/nginx.conf", "/etc/nginx/mime.types"])
        XCTAssertTrue(files[0].text.hasPrefix("events {}\nhttp {\n}"), files[0].text)
    }

    func testCommentsQuotesAndEscapesTokenizeAsNginxReadsThem() throws {
        let text = """
            # a comment line with { braces } and ; semicolons
            server_name "quoted name.test" 'single.test' plain.test; # trailing comment
            root "/srv/with space/#not-a-comment";
            return 200 "a \\"quoted\\" word;";
            rewrite ^/(.*)\\.php$ /$1 last;
            set $x "${host}x";
            if ($http_x ~* "^a{2}$") { return 403; }
            """
        let directives = try NginxConfigParser.parse(text: text, file: "/t.conf")
        XCTAssertEqual(directives.map(\.name), ["server_name", "root", "return", "rewrite", "set", "if"])
        XCTAssertEqual(directives[0].arguments, ["quoted name.test", "single.test", "plain.test"])
        XCTAssertEqual(directives[0].line, 2)
        XCTAssertEqual(directives[1].arguments, ["/srv/with space/#not-a-comment"])
        XCTAssertEqual(directives[2].arguments, ["200", "a \"quoted\" word;"])
        XCTAssertEqual(directives[3].arguments, ["^/(.*)\\.php$", "/$1", "last"], "a backslash before another character stays (regular expressions)")
        XCTAssertEqual(directives[4].arguments, ["$x", "${host}x"])
        XCTAssertEqual(directives[5].arguments, ["($http_x", "~*", "^a{2}$", ")"], "braces inside quotes are text")
        XCTAssertEqual(directives[5].block?.map(\.name), ["return"])
        XCTAssertEqual(directives[5].line, 7)
    }

    func testBrokenTextNamesTheFileAndLine() {
        for (text, line, words) in [("http {\n  server {\n", 3, "expecting \"}\""), ("root /a;\n}\n", 2, "unexpected \"}\""),
                                    ("root /a\n", 1, "has no \";\""), ("root \"/a;\n\n", 1, "quoted string")] {
            XCTAssertThrowsError(try NginxConfigParser.parse(text: text, file: "/etc/nginx/x.conf")) { error in
                let error = error as? NginxConfigError
                XCTAssertEqual(error?.file, "/etc/nginx/x.conf")
                XCTAssertEqual(error?.line, line, text)
                XCTAssertTrue(error?.message.contains(words) ?? false, "\(String(describing: error)) for \(text)")
            }
        }
    }

    func testIncludesAreFollowedThroughTheDumpRelativeToTheMainFileAndInGlobOrder() throws {
        let parsed = try NginxConfigParser.parse(dump: dump([
            ("/etc/nginx/nginx.conf", "http {\n  include sites-enabled/*;\n  include /etc/nginx/conf.d/*.conf;\n}"),
            ("/etc/nginx/sites-enabled/b", "server { server_name b.test; include snippets/acme.conf; }"),
            ("/etc/nginx/sites-enabled/a", "server { server_name a.test; }"),
            ("/etc/nginx/snippets/acme.conf", "location /.well-known/acme-challenge/ { root /srv/acme; }"),
            ("/etc/nginx/conf.d/c.conf", "server { server_name c.test; }"),
            ("/etc/nginx/conf.d/c.conf.disabled", "server { server_name disabled.test; }"),
        ]))
        XCTAssertEqual(parsed.mainFile, "/etc/nginx/nginx.conf")
        let servers = parsed.directives[0].children("server")
        XCTAssertEqual(servers.map { $0.children("server_name")[0].arguments }, [["a.test"], ["b.test"], ["c.test"]],
                       "sites-enabled/* in sorted order, then conf.d/*.conf (not the .disabled file)")
        XCTAssertEqual(servers[1].children("location").first?.file, "/etc/nginx/snippets/acme.conf", "an include inside a server block")
        XCTAssertEqual(servers[0].file, "/etc/nginx/sites-enabled/a")
    }

    func testAnIncludeLoopEndsWithAnError() {
        XCTAssertThrowsError(try NginxConfigParser.parse(dump: dump([("/e/nginx.conf", "include /e/loop.conf;"), ("/e/loop.conf", "include /e/loop.conf;")]))) { error in
            XCTAssertTrue("\(error)".contains("nest more than"), "\(error)")
        }
    }

    func testSitesCarryNamesListenersDefaultsAndCertificatesInheritedFromHTTP() throws {
        let found = try sites([("/etc/nginx/nginx.conf", """
            http {
                ssl_certificate     shared/fullchain.pem;   # relative: below the configuration's directory
                ssl_certificate_key shared/key.pem;
                root /srv/default;
                server {
                    listen 80 default_server;
                    listen [::]:80 default_server;
                    server_name _;
                }
                server {
                    listen 443 ssl default_server;
                    listen [::]:443 ssl;
                    server_name Example.TEST www.example.test;
                    server_name "third.example.test";
                }
                server {
                    listen 127.0.0.1:8443 ssl http2;
                    server_name two.test;
                    ssl_certificate     /etc/ssl/rsa.pem;
                    ssl_certificate_key /etc/ssl/rsa.key;
                    ssl_certificate     /etc/ssl/ecdsa.pem;
                    ssl_certificate_key /etc/ssl/ecdsa.key;
                    root html;
                }
                server { server_name plain.test; }
            }
            """)])
        XCTAssertEqual(found.count, 4)
        XCTAssertEqual(found[0].listeners, [.init(port: 80, tls: false, isDefault: true), .init(port: 80, tls: false, isDefault: true)])
        XCTAssertTrue(found[0].certificates.isEmpty, "a plain-HTTP site serves no certificate even though http {} names one")
        XCTAssertEqual(found[1].names, ["example.test", "www.example.test", "third.example.test"])
        XCTAssertEqual(found[1].listeners.map(\.port), [443, 443])
        XCTAssertEqual(found[1].certificates, [.init(certificate: "/etc/nginx/shared/fullchain.pem", key: "/etc/nginx/shared/key.pem")])
        XCTAssertEqual(found[1].challengePath, .webroot("/srv/default", fromChallengeLocation: false), "root inherited from http {}")
        XCTAssertEqual(found[1].location, "/etc/nginx/nginx.conf:10")
        XCTAssertEqual(found[2].listeners, [.init(port: 8443, tls: true)])
        XCTAssertEqual(found[2].certificates.map(\.certificate), ["/etc/ssl/rsa.pem", "/etc/ssl/ecdsa.pem"])
        XCTAssertEqual(found[2].certificates.map(\.key), ["/etc/ssl/rsa.key", "/etc/ssl/ecdsa.key"])
        XCTAssertEqual(found[2].challengePath, .webroot("/usr/share/nginx/html", fromChallengeLocation: false), "a relative root is below nginx's prefix")
        XCTAssertEqual(found[3].listeners, [.init(port: 80, tls: false)], "no listen: port 80")
    }

    func testTheChallengeLocationRedirectsAndProxiesDecideTheWebroot() throws {
        let found = try sites([("/n.conf", """
            http {
                server { listen 80; server_name a.test; root /srv/a;
                         location ^~ /.well-known/acme-challenge/ { root /srv/acme; } location / { return 301 https://$host$request_uri; } }
                server { listen 80; server_name b.test; location /.well-known/acme-challenge/ { alias /srv/b/.well-known/acme-challenge/; } }
                server { listen 80; server_name c.test; location /.well-known/acme-challenge/ { alias /srv/tokens/; } }
                server { listen 80; server_name d.test; root /srv/d; return 301 https://$host$request_uri; }
                server { listen 80; server_name e.test; root /srv/e; location / { proxy_pass http://127.0.0.1:8080; } }
                server { listen 80; server_name f.test; location ~ ^/\\.well-known/acme-challenge/ { default_type text/plain; } root /srv/f; }
                server { listen 80; server_name g.test; root /srv/$host; }
                server { listen 80; server_name h.test; }
                server { listen 80; server_name i.test; return 308 https://www.i.test$request_uri; }
                server { listen 80; server_name j.test www.j.test; rewrite ^ https://$server_name$request_uri? permanent; }
            }
            """)])
        XCTAssertEqual(found.map(\.challengePath), [
            .webroot("/srv/acme", fromChallengeLocation: true),
            .webroot("/srv/b", fromChallengeLocation: true),
            .passedOn("alias /srv/tokens/"),
            .redirected(host: nil),
            .passedOn("proxy_pass http://127.0.0.1:8080"),
            .webroot("/srv/f", fromChallengeLocation: true),
            .passedOn("root /srv/$host (a variable picks the directory)"),
            .none,
            .redirected(host: "www.i.test"),
            .redirected(host: "j.test"),
        ])
    }

    func testTheSiteAnsweringANameFollowsNginxsOrder() throws {
        let found = try sites([("/n.conf", """
            http {
                server { listen 80; server_name first.test; }
                server { listen 80 default_server; server_name fallback.test; }
                server { listen 80; server_name *.example.test; }
                server { listen 80; server_name .example.test; }
                server { listen 80; server_name www.example.test mail.*; }
                server { listen 443 ssl; server_name www.example.test; }
            }
            """)])
        func answering(_ name: String, _ port: Int = 80, tls: Bool = false) -> Int? {
            ServedSite.answering(name, port: port, tls: tls, among: found).flatMap { site in found.firstIndex(of: site) }
        }
        XCTAssertEqual(answering("www.example.test"), 4, "an exact name wins")
        XCTAssertEqual(answering("shop.example.test"), 2, "then the first longest leading wildcard")
        XCTAssertEqual(answering("example.test"), 3, ".example.test also covers the name itself")
        XCTAssertEqual(answering("mail.other.test"), 4, "then a trailing wildcard")
        XCTAssertEqual(answering("unknown.test"), 1, "else the default_server")
        XCTAssertEqual(answering("www.example.test", 443, tls: true), 5)
        XCTAssertNil(answering("www.example.test", 8443, tls: true))
    }
}
