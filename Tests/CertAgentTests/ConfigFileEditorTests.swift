@testable import CertAgent
import Foundation
import XCTest

/// `certagent init` adds and updates certificates in place: every byte outside the change stays as written.
final class ConfigFileEditorTests: XCTestCase {
    private let foundationStyle = """
        {
            "acceptTermsOfService" : true,
            "certificates" : [
                {
                    "domains" : [
                        "a.example"
                    ],
                    "webroot" : "/var/www/a",
                    "name" : "a",
                    "install" : {
                        "fullChain" : "/etc/ssl/a.pem",
                        "privateKey" : "/etc/ssl/a.key"
                    }
                }
            ],
            "email" : "admin@example.com"
        }

        """

    private let entry = CertificateEntry(name: "b", domains: ["b.example", "www.b.example"], webroot: "/var/www/b",
                                         reload: ["/usr/bin/systemctl", "reload", "nginx"])

    func testAddingKeepsEveryByteBeforeItAndFollowsTheFilesLayout() throws {
        let edited = try ConfigFileEditor.adding(entry, to: foundationStyle)
        let lastEntryEnd = try XCTUnwrap(foundationStyle.range(of: "        }\n    ],"))
        let unchangedPrefix = String(foundationStyle[..<lastEntryEnd.upperBound].dropLast(7))
        XCTAssertTrue(edited.hasPrefix(unchangedPrefix), edited)
        XCTAssertTrue(edited.hasSuffix("    ],\n    \"email\" : \"admin@example.com\"\n}\n"), "members after the array stay where they were")
        XCTAssertTrue(edited.contains("""
                    },
                    {
                        "name" : "b",
                        "domains" : ["b.example", "www.b.example"],
                        "webroot" : "/var/www/b",
                        "install" : {
                            "reload" : ["/usr/bin/systemctl", "reload", "nginx"]
                        }
                    }
                ],
            """), edited)
        let entries = try certificates(edited)
        XCTAssertEqual(ConfigFileEditor.names(in: Array(edited.utf8)), ["a", "b"])
        XCTAssertEqual(entries[1]["install"], .object(["reload": .array([.string("/usr/bin/systemctl"), .string("reload"), .string("nginx")])]))
        XCTAssertEqual(entries[0], try certificates(foundationStyle)[0], "the first entry is untouched")
    }

    func testAddingToACompactOrEmptyArray() throws {
        let compact = #"{"certificates": [{"domains": ["a.example"], "webroot": "/var/www/a"}], "storage": "/srv/store"}"#
        let added = try ConfigFileEditor.adding(CertificateEntry(name: "b", domains: ["b.example"], webroot: "/var/www/b"), to: compact)
        XCTAssertTrue(added.hasPrefix(#"{"certificates": [{"domains": ["a.example"], "webroot": "/var/www/a"}, {"#), added)
        XCTAssertTrue(added.hasSuffix(#"], "storage": "/srv/store"}"#), added)
        XCTAssertEqual(ConfigFileEditor.names(in: Array(added.utf8)), ["a.example", "b"])

        let empty = "{\n  \"certificates\": []\n}\n"
        let filled = try ConfigFileEditor.adding(CertificateEntry(name: "b", domains: ["b.example"], webroot: "/var/www/b"), to: empty)
        XCTAssertEqual(filled, "{\n  \"certificates\": [\n    {\n      \"name\": \"b\",\n      \"domains\": [\"b.example\"],\n      \"webroot\": \"/var/www/b\"\n    }\n  ]\n}\n")
    }

    func testUpdatingSetsOnlyTheNamedFieldsAndKeepsTheInstallFiles() throws {
        let updated = try ConfigFileEditor.updating(certificateAt: 0, setting: [
            (["domains"], .strings(["a.example", "www.a.example"])),
            (["install", "reload"], .strings(["/usr/sbin/apachectl", "graceful"])),
        ], in: foundationStyle)
        XCTAssertTrue(updated.contains("\"domains\" : [\"a.example\", \"www.a.example\"],\n            \"webroot\" : \"/var/www/a\",\n            \"name\" : \"a\","), updated)
        XCTAssertTrue(updated.contains("\"privateKey\" : \"/etc/ssl/a.key\",\n                \"reload\" : [\"/usr/sbin/apachectl\", \"graceful\"]\n"), updated)
        XCTAssertEqual(try certificates(updated)[0]["install"], .object([
            "fullChain": .string("/etc/ssl/a.pem"), "privateKey": .string("/etc/ssl/a.key"),
            "reload": .array([.string("/usr/sbin/apachectl"), .string("graceful")]),
        ]))

        // A missing install object is added, holding the reload.
        let bare = "{\"certificates\": [\n  {\"domains\": [\"a.example\"], \"webroot\": \"/var/www/a\"}\n]}"
        let withReload = try ConfigFileEditor.updating(certificateAt: 0, setting: [(["install", "reload"], .strings(["/bin/true"]))], in: bare)
        XCTAssertEqual(withReload, "{\"certificates\": [\n  {\"domains\": [\"a.example\"], \"webroot\": \"/var/www/a\", \"install\": {\"reload\": [\"/bin/true\"]}}\n]}")
    }

    func testNewConfigKeepsTheGivenOrderAndEscapesOnlyWhatJSONNeeds() throws {
        let text = ConfigFileEditor.newConfig(settings: [.init("email", .string("admin@example.com")), .init("acceptTermsOfService", .bool(true)),
                                                         .init("storage", .string("/home/site \"x\"/certagent"))],
                                              certificate: CertificateEntry(name: "a", domains: ["a.example"], webroot: "/home/site/public_html"))
        XCTAssertEqual(text, """
            {
              "email": "admin@example.com",
              "acceptTermsOfService": true,
              "storage": "/home/site \\"x\\"/certagent",
              "certificates": [
                {
                  "name": "a",
                  "domains": ["a.example"],
                  "webroot": "/home/site/public_html"
                }
              ]
            }

            """)
    }

    /// The members of each `certificates` entry of `text`, parsed by the strict parser.
    private func certificates(_ text: String) throws -> [[String: JSONValue]] {
        guard case .object(let root) = try StrictJSONParser.parse(Array(text.utf8)), case .array(let entries)? = root["certificates"] else {
            XCTFail("no certificates array")
            return []
        }
        return entries.compactMap { if case .object(let members) = $0 { members } else { nil } }
    }

    func testTextThatIsNotAConfigObjectIsRefused() {
        XCTAssertThrowsError(try ConfigFileEditor.adding(entry, to: "[1, 2]"))
        XCTAssertThrowsError(try ConfigFileEditor.adding(entry, to: "{\"certificates\": {}}"))
        XCTAssertThrowsError(try ConfigFileEditor.adding(entry, to: "{\"certificates\": [,]}"))
    }
}
