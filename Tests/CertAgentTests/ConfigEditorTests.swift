import ACME
@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `certagent init` adds and updates certificates, `certagent delete` removes one, in place: every byte outside the
/// change stays as written, and the file is replaced atomically keeping what it was.
final class ConfigEditorTests: XCTestCase {
    /// As `JSONSerialization` pretty-prints it (the tests' and `init`'s format), with members in an unsorted order.
    private let pretty = """
        {
          "email" : "admin@example.com",
          "certificates" : [
            {
              "name" : "first",
              "domains" : [ "first.test" ],
              "webroot" : "/srv/first"
            },
            {
              "domains" : [ "Second.test", "www.second.test" ],
              "webroot" : "/srv/a],{\\"odd\\": [1, 2]}"
            },
            {
              "name" : "third",
              "domains" : [ "third.test" ],
              "webroot" : "/srv/third"
            }
          ],
          "acceptTermsOfService" : true
        }

        """

    private func removing(_ name: String, from text: String) throws -> String {
        String(decoding: try ConfigEditor.removingCertificate(named: name, from: Array(text.utf8), file: "config.json"), as: UTF8.self)
    }

    func testRemovingTheMiddleEntryKeepsEveryOtherByteInPlace() throws {
        let edited = try removing("second.test", from: pretty)   // named by its first domain, lower-cased as the loader does
        XCTAssertEqual(edited, """
            {
              "email" : "admin@example.com",
              "certificates" : [
                {
                  "name" : "first",
                  "domains" : [ "first.test" ],
                  "webroot" : "/srv/first"
                },
                {
                  "name" : "third",
                  "domains" : [ "third.test" ],
                  "webroot" : "/srv/third"
                }
              ],
              "acceptTermsOfService" : true
            }

            """)
    }

    func testRemovingTheFirstOrTheLastLeavesNoStrayComma() throws {
        let withoutFirst = try removing("first", from: pretty)
        XCTAssertTrue(withoutFirst.contains("\"certificates\" : [\n    {\n      \"domains\" : [ \"Second.test\""), withoutFirst)
        XCTAssertNoThrow(try StrictJSONParser.parse(Array(withoutFirst.utf8)))
        let withoutLast = try removing("third", from: pretty)
        XCTAssertTrue(withoutLast.contains("\"webroot\" : \"/srv/a],{\\\"odd\\\": [1, 2]}\"\n    }\n  ],\n  \"acceptTermsOfService\""), withoutLast)
        XCTAssertFalse(withoutLast.contains("third"))
        // Member order outside the array is the file's, not sorted.
        XCTAssertLessThan(withoutLast.range(of: "email")!.lowerBound, withoutLast.range(of: "acceptTermsOfService")!.lowerBound)
    }

    func testCompactTextAndEscapedKeysAreEditedToo() throws {
        let compact = #"{"certificates":[{"name":"a","domains":["a.test"],"webroot":"/w"},{"name":"b","domains":["b.test"],"webroot":"/w"}],"storage":"/s"}"#
        XCTAssertEqual(try removing("a", from: compact), #"{"certificates":[{"name":"b","domains":["b.test"],"webroot":"/w"}],"storage":"/s"}"#)
        XCTAssertEqual(try removing("b", from: compact), #"{"certificates":[{"name":"a","domains":["a.test"],"webroot":"/w"}],"storage":"/s"}"#)
        // A key written with an escape is still the "certificates" member; a nested "certificates" key is not.
        let escaped = #"{"x":{"certificates":[1]},"certific\u0061tes":[{"name":"a","domains":["a"]},{"name":"b","domains":["b"]}]}"#
        XCTAssertEqual(try removing("b", from: escaped), #"{"x":{"certificates":[1]},"certific\u0061tes":[{"name":"a","domains":["a"]}]}"#)
    }

    func testTheOnlyCertificateAndAnUnknownNameAreRefusedInWords() {
        let single = #"{"certificates": [{"name": "only", "domains": ["only.test"]}]}"#
        XCTAssertThrowsError(try removing("only", from: single)) { error in
            XCTAssertEqual(error as? ConfigEditError, .onlyCertificate(name: "only", file: "config.json"))
            XCTAssertTrue("\(error)".contains("only is the only certificate in config.json, and a config lists at least one"), "\(error)")
        }
        XCTAssertThrowsError(try removing("nope", from: pretty)) { error in
            XCTAssertEqual(error as? ConfigEditError, .noSuchCertificate(name: "nope", file: "config.json"))
        }
    }

    func testTheFileIsReplacedAtomicallyKeepingItsModeAndItsLink() throws {
        let temp = try TemporaryDirectory()
        try temp.make("real")
        let real = try temp.write("real/config.json", pretty)
        XCTAssertEqual(chmod(real, 0o640), 0)
        let link = temp.path("config.json")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let edit = try ConfigEditor.prepareRemoval(ofCertificate: "third", configAt: link)
        try edit.write()
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), real, "the link stays a link")
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), try removing("third", from: pretty))
        var info = stat()
        XCTAssertEqual(lstat(real, &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o640)
        XCTAssertEqual(info.st_uid, geteuid())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path("real")), ["config.json"], "no temporary left")
        guard case .object(let members) = try StrictJSONParser.parse(Array(try String(contentsOfFile: real, encoding: .utf8).utf8)),
              case .array(let items)? = members["certificates"] else { return XCTFail("not a config") }
        XCTAssertEqual(items.map(ConfigEditor.certificateName(of:)), ["first", "second.test"])
    }

    func testAFileChangedSinceItWasReadIsLeftAlone() throws {
        let temp = try TemporaryDirectory()
        let path = try temp.write("config.json", pretty)
        let edit = try ConfigEditor.prepareRemoval(ofCertificate: "first", configAt: path)
        let changed = pretty.replacing("/srv/third", with: "/srv/elsewhere")
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try edit.write()) { error in
            XCTAssertEqual(error as? ConfigEditError, .changedMeanwhile(file: path))
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), changed)
    }

    // MARK: Adding and updating (init)

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
        let edited = try ConfigEditor.adding(entry, to: foundationStyle, file: "config.json")
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
        XCTAssertEqual(ConfigEditor.names(in: Array(edited.utf8)), ["a", "b"])
        XCTAssertEqual(entries[1]["install"], .object(["reload": .array([.string("/usr/bin/systemctl"), .string("reload"), .string("nginx")])]))
        XCTAssertEqual(entries[0], try certificates(foundationStyle)[0], "the first entry is untouched")
    }

    func testAddingToACompactOrEmptyArray() throws {
        let compact = #"{"certificates": [{"domains": ["a.example"], "webroot": "/var/www/a"}], "storage": "/srv/store"}"#
        let added = try ConfigEditor.adding(CertificateEntry(name: "b", domains: ["b.example"], webroot: "/var/www/b"), to: compact, file: "config.json")
        XCTAssertTrue(added.hasPrefix(#"{"certificates": [{"domains": ["a.example"], "webroot": "/var/www/a"}, {"#), added)
        XCTAssertTrue(added.hasSuffix(#"], "storage": "/srv/store"}"#), added)
        XCTAssertEqual(ConfigEditor.names(in: Array(added.utf8)), ["a.example", "b"])

        let empty = "{\n  \"certificates\": []\n}\n"
        let filled = try ConfigEditor.adding(CertificateEntry(name: "b", domains: ["b.example"], webroot: "/var/www/b"), to: empty, file: "config.json")
        XCTAssertEqual(filled, "{\n  \"certificates\": [\n    {\n      \"name\": \"b\",\n      \"domains\": [\"b.example\"],\n      \"webroot\": \"/var/www/b\"\n    }\n  ]\n}\n")
    }

    func testUpdatingSetsOnlyTheNamedFieldsAndKeepsTheInstallFiles() throws {
        let updated = try ConfigEditor.updating(certificateAt: 0, setting: [
            (["domains"], .strings(["a.example", "www.a.example"])),
            (["install", "reload"], .strings(["/usr/sbin/apachectl", "graceful"])),
        ], in: foundationStyle, file: "config.json")
        XCTAssertTrue(updated.contains("\"domains\" : [\"a.example\", \"www.a.example\"],\n            \"webroot\" : \"/var/www/a\",\n            \"name\" : \"a\","), updated)
        XCTAssertTrue(updated.contains("\"privateKey\" : \"/etc/ssl/a.key\",\n                \"reload\" : [\"/usr/sbin/apachectl\", \"graceful\"]\n"), updated)
        XCTAssertEqual(try certificates(updated)[0]["install"], .object([
            "fullChain": .string("/etc/ssl/a.pem"), "privateKey": .string("/etc/ssl/a.key"),
            "reload": .array([.string("/usr/sbin/apachectl"), .string("graceful")]),
        ]))

        // A missing install object is added, holding the reload.
        let bare = "{\"certificates\": [\n  {\"domains\": [\"a.example\"], \"webroot\": \"/var/www/a\"}\n]}"
        let withReload = try ConfigEditor.updating(certificateAt: 0, setting: [(["install", "reload"], .strings(["/bin/true"]))], in: bare, file: "config.json")
        XCTAssertEqual(withReload, "{\"certificates\": [\n  {\"domains\": [\"a.example\"], \"webroot\": \"/var/www/a\", \"install\": {\"reload\": [\"/bin/true\"]}}\n]}")
    }

    func testNewConfigKeepsTheGivenOrderAndEscapesOnlyWhatJSONNeeds() throws {
        let text = ConfigEditor.newConfig(settings: [.init("email", .string("admin@example.com")), .init("acceptTermsOfService", .bool(true)),
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
        XCTAssertThrowsError(try ConfigEditor.adding(entry, to: "[1, 2]", file: "config.json"))
        XCTAssertThrowsError(try ConfigEditor.adding(entry, to: "{\"certificates\": {}}", file: "config.json"))
        XCTAssertThrowsError(try ConfigEditor.adding(entry, to: "{\"certificates\": [,]}", file: "config.json"))
    }

    // MARK: Writing (both commands)

    func testInitsWriteKeepsTheModeMinusGroupWriteAndRefusesAFileChangedSinceItWasRead() throws {
        let temp = try TemporaryDirectory()
        let path = try temp.write("config.json", foundationStyle)
        XCTAssertEqual(chmod(path, 0o660), 0)
        let existing = try XCTUnwrap(try ExistingConfigFile.read(path))
        let added = try ConfigEditor.adding(entry, to: existing.text, file: path)
        try ConfigFileWrite(path: path, previous: existing).write(added)
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o640, "group write is dropped, the rest kept")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), added)

        // A write prepared from the old text does not overwrite what came since.
        XCTAssertThrowsError(try ConfigFileWrite(path: path, previous: existing).write(added)) { error in
            XCTAssertEqual(error as? ConfigEditError, .changedMeanwhile(file: path))
        }
        // A new config is not written over a file that appeared meanwhile.
        let fresh = try ConfigFileWrite(path: temp.path("new.json"), previous: nil)
        try temp.write("new.json", "{}")
        XCTAssertThrowsError(try fresh.write(added)) { error in
            XCTAssertEqual(error as? ConfigEditError, .changedMeanwhile(file: temp.path("new.json")))
        }
        XCTAssertEqual(try String(contentsOfFile: temp.path("new.json"), encoding: .utf8), "{}")
    }
}
