import CertAgent
import Foundation
import XCTest

final class ProcessHardeningTests: XCTestCase {
    func testApplySetsAPrivateUmaskAndMakesTheProcessUndumpable() throws {
        let previousUmask = umask(0o022)
        defer {
            umask(previousUmask)
            ProcessHardening.allowCoreDumps()
        }
        XCTAssertEqual(ProcessHardening.isDumpable, true)
        ProcessHardening.apply()
        XCTAssertEqual(ProcessHardening.isDumpable, false, "no core dump can hold key material")
        let current = umask(0o077)
        XCTAssertEqual(current, 0o077)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("umask-\(UUID())").path
        defer { unlink(path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int, 0o600)
    }
}
