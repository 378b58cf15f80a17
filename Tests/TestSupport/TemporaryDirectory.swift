import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory removed when the test case ends.
public final class TemporaryDirectory {
    public let url: URL
    /// The directory itself.
    public var path: String { url.path }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("certagent-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Creates a subdirectory (and its parents) and returns its path.
    @discardableResult
    public func make(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
        return path(name)
    }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    /// Reads a file with POSIX calls: FoundationEssentials' `Data(contentsOf:)` leaks its read
    /// buffer for some files (valgrind shows 4 KiB blocks lost per call), which would hide real leaks.
    public func read(_ name: String) throws -> String {
        String(decoding: try readBytes(name), as: UTF8.self)
    }

    public func readBytes(_ name: String) throws -> [UInt8] {
        let descriptor = open(path(name), O_RDONLY)
        guard descriptor >= 0 else { throw Subprocess.SpawnError(description: "open \(name): errno \(errno)") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Subprocess.SpawnError(description: "read \(name): errno \(errno)") }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}


/// The permission bits of `path`, or -1 when it cannot be read.
public func fileMode(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
}
