@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the secrets tests.
enum SecretsFixtures {
    /// A fixed, recognisable master key for tests.
    static func key(_ seed: UInt8) throws -> MasterKey {
        try MasterKey(bytes: (0 ..< 32).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(seed)) })
    }

    /// Secrets of the kinds the agent stores.
    static let eabKey: [UInt8] = [0x00, 0xff, 0x10, 0x80, 0x7f, 0x00, 0x01, 0xfe] + (0 ..< 24).map { UInt8($0 * 11 % 256) }
    static let apiToken: [UInt8] = Array("dns-api-token-3f9a8b7c6d5e4f3a2b1c".utf8)
    static let mailPassword: [UInt8] = Array("pässwörd-💡-Ωmega \"quoted\"\n".utf8)

    static func chmod(_ path: String, _ mode: mode_t) { _ = Glibc.chmod(path, mode) }
}

/// Reads a file's bytes with POSIX calls (not Foundation's Data, see TemporaryDirectory.readBytes).
func readBytes(_ path: String) throws -> [UInt8] {
    guard case .contents(let contents) = try SecureFileReader.read(path, limit: 64 << 20) else {
        throw FileSystemError("read", path: path, reason: "missing")
    }
    return contents.bytes
}

/// Writes bytes with an exact mode.
func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
    try AtomicFile.write(bytes, to: path, mode: mode)
}
