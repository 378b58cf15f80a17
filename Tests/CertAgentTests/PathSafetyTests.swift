import Foundation
import TestSupport
import XCTest
@testable import CertAgent

/// `PathSafety.canonical` through `realpath(3)` answers as the `URL` way it replaced, links and missing parts included.
final class PathSafetyTests: XCTestCase {
    func testCanonicalMatchesTheURLWay() throws {
        let directory = try TemporaryDirectory()
        let base = PathSafety.canonicalThroughURL(directory.path)
        try FileManager.default.createDirectory(atPath: base + "/real/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: base + "/link", withDestinationPath: base + "/real")
        try FileManager.default.createSymbolicLink(atPath: base + "/relative", withDestinationPath: "real/sub")
        try FileManager.default.createSymbolicLink(atPath: base + "/dangling", withDestinationPath: base + "/nowhere")
        let paths = [
            base, base + "/", base + "//real//sub/", base + "/real/./sub", base + "/real/sub/..", base + "/real/../real/sub",
            base + "/link", base + "/link/sub", base + "/link/sub/missing/deeper", base + "/relative", base + "/relative/..",
            base + "/link/..", base + "/missing/../real", base + "/missing/./x", base + "/dangling", base + "/dangling/x",
            "/", "/..", "/../" + base.dropFirst(),
        ]
        for path in paths {
            XCTAssertEqual(PathSafety.canonical(path), PathSafety.canonicalThroughURL(path), path)
        }
        XCTAssertTrue(PathSafety.isInside(base + "/link/sub/file", directory: base + "/real"))
        XCTAssertFalse(PathSafety.isInside(base + "/realm", directory: base + "/real"))
    }
}
