@testable import CertAgent
import Foundation
import XCTest

/// `discover` reads Apache's virtual hosts where `apachectl -S` says they are, with Apache's syntax: continuation
/// lines, comments, quotes, conditional and scoped sections.
final class ApacheConfigParserTests: XCTestCase {
    func testTheVirtualHostDumpGivesEachHostItsFileLineAndDefault() {
        let dump = ApacheVirtualHostDump(output: """
            VirtualHost configuration:
            *:443                  is a NameVirtualHost
                     default server a.test (/etc/apache2/sites-enabled/a.conf:2)
                     port 443 namevhost a.test (/etc/apache2/sites-enabled/a.conf:2)
                             alias www.a.test
                     port 443 namevhost b.test (/etc/apache2/sites-enabled/b conf.conf:1)
            127.0.0.1:80           c.test (/etc/apache2/sites-enabled/c.conf:10)
            ServerRoot: "/etc/apache2"
            Main DocumentRoot: "/var/www/html"
            Main ErrorLog: "/var/log/apache2/error.log"
            """)
        XCTAssertEqual(dump.definitions, [.init(file: "/etc/apache2/sites-enabled/a.conf", line: 2),
                                          .init(file: "/etc/apache2/sites-enabled/b conf.conf", line: 1),
                                          .init(file: "/etc/apache2/sites-enabled/c.conf", line: 10)])
        XCTAssertEqual(dump.defaults, [.init(file: "/etc/apache2/sites-enabled/a.conf", line: 2), .init(file: "/etc/apache2/sites-enabled/c.conf", line: 10)])
        XCTAssertEqual(dump.serverRoot, "/etc/apache2")
        XCTAssertEqual(dump.mainDocumentRoot, "/var/www/html")
    }

    func testArgumentsSplitOnBlanksWithQuotes() {
        XCTAssertEqual(ApacheConfigParser.arguments(#"ServerAlias "with space.test"  plain.test 'single quoted'"#),
                       ["ServerAlias", "with space.test", "plain.test", "single quoted"])
        XCTAssertEqual(ApacheConfigParser.arguments(#"Header set X "a \"b\" c""#), ["Header", "set", "X", #"a "b" c"#])
    }

    func testAVirtualHostBlockIsReadFromItsLineToItsEnd() throws {
        let text = """
            # sites-enabled/a.conf
            <VirtualHost *:443 [::]:443>
                ServerName https://Shop.test:443
                ServerAlias www.shop.test \\
                            static.shop.test
                # ServerAlias commented.test
                <IfModule mod_ssl.c>
                    SSLEngine on
                    SSLCertificateFile "/etc/ssl/shop chain.pem"
                    SSLCertificateKeyFile ssl/shop.key
                </IfModule>
                <Location /private>
                    DocumentRoot /not/the/site
                </Location>
                DocumentRoot ${SITE_ROOT}/shop
            </VirtualHost>
            <VirtualHost *:80>
                ServerName other.test
            </VirtualHost>
            """
        let host = try ApacheConfigParser.virtualHost(in: text, file: "/a.conf", line: 2)
        XCTAssertEqual(host.addresses, ["*:443", "[::]:443"])
        let site = ApacheSites.site(host, definition: .init(file: "/a.conf", line: 2), isDefault: false, mainDocumentRoot: "/var/www/html") {
            ApacheSites.resolvePath($0, serverRoot: "/etc/apache2", environment: ["SITE_ROOT": "/srv"])
        }
        XCTAssertEqual(site.names, ["shop.test", "www.shop.test", "static.shop.test"], "scheme and port dropped, the continued line joined, the comment skipped")
        XCTAssertEqual(site.listeners, [.init(port: 443, tls: true), .init(port: 443, tls: true)])
        XCTAssertEqual(site.certificates, [.init(certificate: "/etc/ssl/shop chain.pem", key: "/etc/apache2/ssl/shop.key")],
                       "directives inside <IfModule> are the host's; a relative path is below ServerRoot")
        XCTAssertEqual(site.challengePath, .webroot("/srv/shop", fromChallengeLocation: false), "not the DocumentRoot inside <Location>; ${SITE_ROOT} from the environment")

        let other = try ApacheConfigParser.virtualHost(in: text, file: "/a.conf", line: 17)
        XCTAssertEqual(other.directives.map(\.name), ["servername"])
        XCTAssertThrowsError(try ApacheConfigParser.virtualHost(in: text, file: "/a.conf", line: 3)) { error in
            XCTAssertTrue("\(error)".contains("/a.conf:3: is not a <VirtualHost> line"), "\(error)")
        }
        XCTAssertThrowsError(try ApacheConfigParser.virtualHost(in: "<VirtualHost *:80>\nServerName x.test\n", file: "/b.conf", line: 1)) { error in
            XCTAssertTrue("\(error)".contains("has no </VirtualHost>"), "\(error)")
        }
    }

    func testIncludesInsideAVirtualHostAreRead() throws {
        let files = ["/etc/apache2/snippets/tls.conf": "<IfModule mod_ssl.c>\n  SSLCertificateFile /etc/ssl/a.pem\n</IfModule>\nInclude snippets/key.conf\n",
                     "/etc/apache2/snippets/key.conf": "SSLCertificateKeyFile /etc/ssl/a.key\n",
                     "/etc/apache2/names/1.conf": "ServerAlias one.test\n", "/etc/apache2/names/2.conf": "ServerAlias two.test\n",
                     "/etc/apache2/loop.conf": "Include loop.conf\n"]
        let host = try ApacheConfigParser.virtualHost(in: """
            <VirtualHost *:443>
              ServerName a.test
              SSLEngine on
              Include snippets/tls.conf
              IncludeOptional names/*.conf
              IncludeOptional missing/*.conf
              <Location /x>
                Include never-read.conf
              </Location>
            </VirtualHost>
            """, file: "/a.conf", line: 1)
        let resolve = { ApacheSites.resolvePath($0, serverRoot: "/etc/apache2", environment: [:]) }
        let directives = try ApacheSites.expandIncludes(host.directives, resolve: resolve, readFile: { files[$0] }, depth: 0,
                                                        listDirectory: { $0 == "/etc/apache2/names" ? ["2.conf", "1.conf", "readme"] : [] })
        let site = ApacheSites.site((host.addresses, directives), definition: .init(file: "/a.conf", line: 1), isDefault: true, mainDocumentRoot: nil, resolve: resolve)
        XCTAssertEqual(site.certificates, [.init(certificate: "/etc/ssl/a.pem", key: "/etc/ssl/a.key")], "an Include inside an included file too")
        XCTAssertEqual(site.names, ["a.test", "one.test", "two.test"], "a pattern's files in sorted order")

        let missing = try ApacheConfigParser.virtualHost(in: "<VirtualHost *:80>\nInclude gone.conf\n</VirtualHost>", file: "/b.conf", line: 1)
        XCTAssertThrowsError(try ApacheSites.expandIncludes(missing.directives, resolve: resolve, readFile: { files[$0] }, depth: 0)) { error in
            XCTAssertTrue("\(error)".contains("/etc/apache2/gone.conf:0: cannot be read (a virtual host includes it at line 2)"), "\(error)")
        }
        let loop = try ApacheConfigParser.virtualHost(in: "<VirtualHost *:80>\nInclude loop.conf\n</VirtualHost>", file: "/c.conf", line: 1)
        XCTAssertThrowsError(try ApacheSites.expandIncludes(loop.directives, resolve: resolve, readFile: { files[$0] }, depth: 0)) { error in
            XCTAssertTrue("\(error)".contains("nest more than"), "\(error)")
        }
    }

    private func challengePath(_ body: String, mainDocumentRoot: String? = nil) throws -> ServedSite.ChallengePath {
        let host = try ApacheConfigParser.virtualHost(in: "<VirtualHost *:80>\n\(body)\n</VirtualHost>", file: "/v.conf", line: 1)
        return ApacheSites.site(host, definition: .init(file: "/v.conf", line: 1), isDefault: true, mainDocumentRoot: mainDocumentRoot) {
            ApacheSites.resolvePath($0, serverRoot: "/etc/apache2", environment: [:])
        }.challengePath
    }

    func testAliasRedirectProxyAndDocumentRootDecideTheWebroot() throws {
        XCTAssertEqual(try challengePath("DocumentRoot /srv/a\nAlias /.well-known/acme-challenge/ /var/lib/acme/.well-known/acme-challenge/"),
                       .webroot("/var/lib/acme", fromChallengeLocation: true))
        XCTAssertEqual(try challengePath("Alias /.well-known/acme-challenge /var/lib/tokens"), .passedOn("Alias /.well-known/acme-challenge /var/lib/tokens"))
        XCTAssertEqual(try challengePath("DocumentRoot /srv/a\nRedirect permanent / https://A.test:443/"), .redirected(host: "a.test"))
        XCTAssertEqual(try challengePath("RewriteEngine On\nRewriteRule ^(.*)$ https://%{HTTP_HOST}$1 [R=301,L]"), .redirected(host: nil), "the request's own host")
        XCTAssertEqual(try challengePath("DocumentRoot /srv/a\nProxyPass / http://127.0.0.1:8080/"), .passedOn("ProxyPass / http://127.0.0.1:8080/"))
        XCTAssertEqual(try challengePath("DocumentRoot /srv/a\nProxyPass /.well-known/acme-challenge/ !\nProxyPass / http://127.0.0.1:8080/"),
                       .webroot("/srv/a", fromChallengeLocation: false), "excluded from the proxy: served from the DocumentRoot")
        XCTAssertEqual(try challengePath("ServerName a.test", mainDocumentRoot: "/var/www/html"), .webroot("/var/www/html", fromChallengeLocation: false))
        XCTAssertEqual(try challengePath("ServerName a.test"), ServedSite.ChallengePath.none)
    }
}
