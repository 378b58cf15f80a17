import FoundationEssentials
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

/// The one way a command writes the config: atomically (`AtomicFile`), and undoably — a new file is removed, an edited
/// one gets its old text back.
///
/// An edited file is replaced where its symbolic links lead (the links stay), only while it still holds exactly what
/// was read (else `ConfigEditError.changedMeanwhile`), and keeps its owner, group and mode, minus any group or other
/// write bit (the config must be writable by no one else: `ConfigPermissions`). A new one is 0600, owned by the user
/// running the command, and is not written over a file that appeared meanwhile. What is written must be a JSON text
/// `StrictJSONParser` accepts; `ConfigEditor` has checked an edit gives the expected document.
public struct ConfigFileWrite: Sendable {
    /// The file written: the resolved path of an existing config.
    public let path: String
    public let previous: ExistingConfigFile?

    /// The mode a new config gets.
    public static let newFileMode: mode_t = 0o600

    public init(path: String, previous: ExistingConfigFile?) throws {
        self.path = previous?.resolvedPath ?? path
        self.previous = previous
        if previous == nil {
            // Its directory, when missing, is made as /etc/certagent is: 0755, writable by its owner only.
            try AtomicFile.makeDirectory(PathText.parent(path), mode: 0o755)
        }
    }

    /// Rewrites the existing config `existing`.
    init(existing: ExistingConfigFile) {
        path = existing.resolvedPath
        previous = existing
    }

    /// The mode the written file gets.
    public var mode: mode_t { previous.map { $0.mode & ~0o022 } ?? Self.newFileMode }

    /// Replaces the config with `text`.
    public func write(_ text: String) throws(ConfigEditError) {
        try write(Array(text.utf8))
    }

    /// Replaces the config with `bytes`.
    func write(_ bytes: [UInt8]) throws(ConfigEditError) {
        let shown = previous?.path ?? path
        guard (try? StrictJSONParser.parse(bytes)) != nil else {
            throw .unexpectedShape(file: shown, reason: "the text to write is not valid JSON")
        }
        try refuseIfChanged(since: previous?.bytes)
        try replace(with: bytes)
    }

    /// Puts things back as they were: removes a new file, restores an edited one's text.
    public func undo() {
        if let previous {
            try? replace(with: previous.bytes)
        } else {
            unlink(path)
            AtomicFile.syncDirectory(PathText.parent(path))
        }
    }

    /// Throws `changedMeanwhile` unless the file holds exactly `original` (nil: unless there is no file).
    private func refuseIfChanged(since original: [UInt8]?) throws(ConfigEditError) {
        let shown = previous?.path ?? path
        guard let original else {
            var info = stat()
            if lstat(path, &info) == 0 { throw .changedMeanwhile(file: shown) }
            return
        }
        let current: RegularFileReader.File
        do { current = try RegularFileReader.read(path, limit: ConfigFileReader.maximumSize) } catch {
            if case .open(let code) = error { throw .fileSystem(file: shown, reason: "it cannot be read again: \(FileErrorWords.reason(code))") }
            throw .changedMeanwhile(file: shown)
        }
        guard current.bytes == original else { throw .changedMeanwhile(file: shown) }
    }

    private func replace(with bytes: [UInt8]) throws(ConfigEditError) {
        // Owner and group stay as they were, or the write fails with nothing changed: only root can give a file away,
        // and anyone else may only pick a group they are in. A new file is the running user's.
        let owner = previous.flatMap { $0.owner == geteuid() ? nil : $0.owner }
        let group = previous.flatMap { $0.group == getegid() ? nil : $0.group }
        do {
            try AtomicFile.write(bytes, to: path, mode: mode, owner: owner, group: group)
        } catch {
            throw .fileSystem(file: previous?.path ?? path, reason: "\(error)")
        }
    }

    /// The name of the user running the command (for the steps printed to them).
    public static func currentUserName() -> String { ConfigPermissions.userName(geteuid(), bare: true) }

    /// `text` as a shell word, for messages.
    public static func shellQuoted(_ text: String) -> String { ConfigPermissions.shellQuoted(text) }
}
