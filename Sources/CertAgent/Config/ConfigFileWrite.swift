import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A config file as it was before a command changed it: its text, and the owner and mode to keep.
public struct ExistingConfigFile: Sendable, Equatable {
    /// The path as given.
    public let path: String
    /// The file the path resolves to (symbolic links followed), which is what gets replaced.
    public let resolvedPath: String
    public let bytes: [UInt8]
    public let owner: uid_t
    public let group: gid_t
    public let mode: mode_t

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The top-level `keyType` as written (nil when the file sets none or is not an object).
    public var keyType: String? {
        guard case .object(let members)? = try? StrictJSONParser.parse(bytes), case .string(let value)? = members["keyType"] else { return nil }
        return value
    }

    /// The config at `path`, or nil when there is none. Throws `ConfigError` when it exists but cannot be read.
    public static func read(_ path: String) throws(ConfigError) -> ExistingConfigFile? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: ConfigFileProblem(openFailure: errno, path: path).message)])
        }
        let contents: ConfigFileReader.Contents
        do { contents = try ConfigFileReader.read(path) } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: error.message)])
        }
        let resolved = PathSafety.canonical(path)
        guard stat(resolved, &info) == 0 else {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: ConfigFileProblem(openFailure: errno, path: path).message)])
        }
        return ExistingConfigFile(path: path, resolvedPath: resolved, bytes: contents.bytes, owner: info.st_uid, group: info.st_gid, mode: info.st_mode & 0o777)
    }
}

/// Writes a config atomically (`AtomicFile`) and can undo that: a new file is removed, an edited one gets its old text
/// back. An edited file keeps its owner, group and mode, minus any group or other write bit (the config must be
/// writable by no one else: `ConfigPermissions`); a new one is 0600, owned by the user running the command.
public struct ConfigFileWrite: Sendable {
    public let path: String
    public let previous: ExistingConfigFile?

    /// The mode a new config gets.
    public static let newFileMode: mode_t = 0o600

    public init(path: String, previous: ExistingConfigFile?) throws {
        self.path = previous?.resolvedPath ?? path
        self.previous = previous
        if previous == nil {
            // Its directory, when missing, is made as /etc/certagent is: 0755, writable by its owner only.
            try AtomicFile.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o755)
        }
    }

    /// The mode the written file gets.
    public var mode: mode_t { previous.map { $0.mode & ~0o022 } ?? Self.newFileMode }

    /// Replaces the config with `text`.
    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    private func write(_ bytes: [UInt8]) throws {
        // Only root can give a file away; anyone else keeps the file theirs, which is what it already is.
        let keepOwner = previous != nil && geteuid() == 0
        try AtomicFile.write(bytes, to: path, mode: mode, owner: keepOwner ? previous?.owner : nil, group: keepOwner ? previous?.group : nil)
    }

    /// Puts things back as they were: removes a new file, restores an edited one's text.
    public func undo() {
        if let previous {
            try? write(previous.bytes)
        } else {
            unlink(path)
            AtomicFile.syncDirectory((path as NSString).deletingLastPathComponent)
        }
    }

    /// The name of the user running the command (for the steps printed to them).
    public static func currentUserName() -> String { ConfigPermissions.userName(geteuid(), bare: true) }

    /// `text` as a shell word, for messages.
    public static func shellQuoted(_ text: String) -> String { ConfigPermissions.shellQuoted(text) }
}
