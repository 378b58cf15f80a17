import Foundation
import TestSupport
import XCTest

/// Runs the `openssl` command-line tool: an independent implementation to check CertCrypto against.
enum OpenSSLCLI {
    typealias Result = Subprocess.Result

    static func run(_ arguments: [String], stdin: [UInt8]? = nil, in directory: URL? = nil) throws -> Result {
        try Subprocess.run(["openssl"] + arguments, stdin: stdin, in: directory)
    }

    /// Runs and fails the test (throwing) unless the exit status is 0.
    @discardableResult
    static func succeed(_ arguments: [String], stdin: [UInt8]? = nil, in directory: URL? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let result = try run(arguments, stdin: stdin, in: directory)
        guard result.status == 0 else {
            XCTFail("openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)", file: file, line: line)
            throw CLIError(message: result.output)
        }
        return result
    }

    struct CLIError: Error { let message: String }
}

