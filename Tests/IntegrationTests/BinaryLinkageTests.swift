import Foundation
import TestSupport
import XCTest

/// The built `certagent` binary stays lean: it never links full Foundation or its internationalization/ICU libraries
/// (about 10 MB of memory in every command), neither directly nor through a dependency.
final class BinaryLinkageTests: XCTestCase {
    /// Foundation itself and its ICU-backed parts: FoundationEssentials is what the sources import.
    private static func isForbidden(_ library: String) -> Bool {
        library.hasPrefix("libFoundation.so") || library.hasPrefix("libFoundationInternationalization")
            || library.hasPrefix("lib_FoundationICU") || library.hasPrefix("libicu")
            || library.hasPrefix("libFoundationNetworking") || library.hasPrefix("libFoundationXML")
    }

    /// The ELF's own DT_NEEDED entries, as `readelf -d` prints them: `(NEEDED) Shared library: [libcurl.so.4]`.
    func testTheBinaryNeedsNoFoundationOrICULibrary() throws {
        let result = try runCommand("/usr/bin/readelf", ["--dynamic", "--wide", ProjectPaths.certagentBinary])
        XCTAssertEqual(result.status, 0, result.output)
        let needed = result.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]"), open < close else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        // The entries were read: the binary needs libcurl and the C library whatever else it links.
        XCTAssertTrue(needed.contains { $0.hasPrefix("libcurl.so") }, "needed: \(needed)")
        XCTAssertTrue(needed.contains { $0.hasPrefix("libc.so") }, "needed: \(needed)")
        XCTAssertEqual(needed.filter(Self.isForbidden), [], "needed: \(needed)")
    }

    /// Everything the dynamic loader brings in, through every dependency, as `ldd` lists it.
    func testNoDependencyBringsInFoundationOrICU() throws {
        let result = try runCommand("/usr/bin/ldd", [ProjectPaths.certagentBinary])
        XCTAssertEqual(result.status, 0, result.output)
        let libraries = result.stdout.split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        XCTAssertTrue(libraries.contains { $0.hasPrefix("libssl.so") }, "ldd: \(result.stdout)")
        XCTAssertFalse(result.stdout.contains("not found"), result.stdout)
        XCTAssertEqual(libraries.filter(Self.isForbidden), [], "ldd: \(result.stdout)")
    }
}
