import ACME
import CertAgent
import Foundation
import TestSupport
import XCTest

final class WebrootSolverTests: XCTestCase {
    func testTokensOtherThanBase64URLAreRefusedBeforeTouchingTheDisk() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let solver = WebrootSolver(webroots: ["a.example": webroot])
        for token in ["", "../escape", "a/b", "..", "a.b", "tok=", "a b", "a\0b", "é", String(repeating: "a", count: 300)] {
            XCTAssertFalse(ChallengeToken.isValid(token), token)
            XCTAssertThrowsError(try solver.present(domain: "a.example", token: token, keyAuthorization: "x")) { error in
                guard case WebrootSolverError.invalidToken = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/.well-known"), "nothing was created")
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path + "/escape"))
        XCTAssertTrue(ChallengeToken.isValid("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"))
    }

    func testPresentWritesAReadableFileAndCleanUpRemovesWhatItCreated() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let solver = WebrootSolver(webroots: ["a.example": webroot, "www.a.example": webroot])
        let previousUmask = umask(0o077)
        defer { umask(previousUmask) }
        try solver.present(domain: "a.example", token: "tok_1-A", keyAuthorization: "tok_1-A.thumb")
        try solver.present(domain: "www.a.example", token: "tok2", keyAuthorization: "tok2.thumb")
        let file = webroot + "/.well-known/acme-challenge/tok_1-A"
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "tok_1-A.thumb")
        XCTAssertEqual(fileMode(file), 0o644, "the web server must be able to read it, whatever the umask")
        XCTAssertEqual(fileMode(webroot + "/.well-known/acme-challenge"), 0o755)
        XCTAssertEqual(solver.publishedFiles.count, 2)
        solver.cleanUp(domain: "a.example", token: "tok_1-A")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        XCTAssertTrue(FileManager.default.fileExists(atPath: webroot + "/.well-known/acme-challenge/tok2"))
        solver.cleanUp(domain: "www.a.example", token: "tok2")
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/.well-known"), "directories it created are removed")
    }

    func testExistingWellKnownContentIsKept() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        try temp.make("public_html/.well-known")
        _ = try temp.write("public_html/.well-known/security.txt", "Contact: mailto:sec@example.com")
        let solver = WebrootSolver(webroots: ["a.example": webroot])
        try solver.present(domain: "a.example", token: "abc", keyAuthorization: "abc.x")
        solver.cleanUp(domain: "a.example", token: "abc")
        XCTAssertTrue(FileManager.default.fileExists(atPath: webroot + "/.well-known/security.txt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/.well-known/acme-challenge"))
    }

    func testUnknownDomainAndUnwritableWebrootAreClearErrors() throws {
        let temp = try TemporaryDirectory()
        let solver = WebrootSolver(webroots: ["a.example": temp.path + "/missing"])
        XCTAssertThrowsError(try solver.present(domain: "b.example", token: "abc", keyAuthorization: "x")) { error in
            XCTAssertEqual("\(error)", "no webroot is configured for b.example")
        }
        XCTAssertThrowsError(try solver.present(domain: "a.example", token: "abc", keyAuthorization: "x")) { error in
            XCTAssertTrue("\(error)".contains("a.example"), "\(error)")
            XCTAssertTrue("\(error)".contains("/missing/.well-known"), "\(error)")
        }
        XCTAssertTrue(solver.publishedFiles.isEmpty)
    }
}
