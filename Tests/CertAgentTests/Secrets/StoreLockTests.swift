import CertAgent
import Foundation
import TestSupport
import XCTest

final class StoreLockTests: XCTestCase {
    func testExclusiveExcludesSharedAndSharedExcludesExclusive() throws {
        let directory = try TemporaryDirectory()
        do {
            let shared = try StoreLock(storeRoot: directory.path, mode: .shared)
            let another = try StoreLock(storeRoot: directory.path, mode: .shared)
            XCTAssertThrowsError(try StoreLock(storeRoot: directory.path, mode: .exclusive)) { error in
                guard case StoreLockError.busy(let path, .exclusive) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(path, directory.path + "/.lock")
                XCTAssertTrue("\(error)".contains("stop the daemon first"), "\(error)")
            }
            withExtendedLifetime((shared, another)) {}
        }
        XCTAssertEqual(fileMode(directory.path + "/.lock"), 0o600)
        do {
            let exclusive = try StoreLock(storeRoot: directory.path, mode: .exclusive)
            XCTAssertThrowsError(try StoreLock(storeRoot: directory.path, mode: .shared)) { error in
                guard case StoreLockError.busy(_, .shared) = error else { return XCTFail("\(error)") }
            }
            withExtendedLifetime(exclusive) {}
        }
        // Released when the value goes away.
        _ = try StoreLock(storeRoot: directory.path, mode: .exclusive)
    }
}
