@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Removing one certificate from the config's text keeps everything else exactly as written.
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
            XCTAssertEqual(error as? ConfigRemovalError, .onlyCertificate(name: "only", file: "config.json"))
            XCTAssertTrue("\(error)".contains("only is the only certificate in config.json, and a config lists at least one"), "\(error)")
        }
        XCTAssertThrowsError(try removing("nope", from: pretty)) { error in
            XCTAssertEqual(error as? ConfigRemovalError, .noSuchCertificate(name: "nope", file: "config.json"))
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
            XCTAssertEqual(error as? ConfigRemovalError, .changedMeanwhile(file: path))
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), changed)
    }
}
