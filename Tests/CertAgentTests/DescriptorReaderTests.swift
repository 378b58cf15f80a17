@testable import CertAgent
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The one read loop behind the config, store and secret readers.
final class DescriptorReaderTests: XCTestCase {
    /// A pipe whose `size` says 0 stands for a file that grows while it is read.
    private func pipeHolding(_ bytes: [UInt8]) throws -> Int32 {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        XCTAssertEqual(bytes.withUnsafeBytes { write(ends[1], $0.baseAddress!, $0.count) }, bytes.count)
        close(ends[1])
        return ends[0]
    }

    func testReadsToTheEndEvenWhenTheFileGrewSinceItsSizeWasTaken() throws {
        let descriptor = try pipeHolding(Array("0123456789".utf8))
        defer { close(descriptor) }
        XCTAssertEqual(try DescriptorReader.readAll(descriptor, size: 0, limit: 10), Array("0123456789".utf8))
    }

    func testMoreThanTheLimitIsRefusedWhetherKnownBeforeOrFoundWhileReading() throws {
        let grown = try pipeHolding([UInt8](repeating: 0x41, count: 20))
        defer { close(grown) }
        XCTAssertThrowsError(try DescriptorReader.readAll(grown, size: 0, limit: 10)) { error in
            guard case DescriptorReader.Failure.tooLarge(nil) = error else { return XCTFail("\(error)") }
        }
        let known = try pipeHolding([])
        defer { close(known) }
        XCTAssertThrowsError(try DescriptorReader.readAll(known, size: 11, limit: 10)) { error in
            guard case DescriptorReader.Failure.tooLarge(11) = error else { return XCTFail("\(error)") }
        }
    }
}
