import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Whose directory the configured store is, as found when it is opened.
public enum StoreOwnership: Sendable, Equatable {
    /// It does not exist yet (CertAgent creates and marks it).
    case missing
    /// An empty directory (CertAgent marks it and uses it).
    case empty
    /// CertAgent's: it holds the marker `.certagent-store`.
    case marked
    /// A store of an earlier version, without the marker: every entry is one of CertAgent's own (it gets marked).
    case legacy
}

/// Why a directory is not accepted as CertAgent's store.
public enum StoreOwnershipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// It holds entries CertAgent did not create and no marker: someone else's directory.
    case foreign(path: String, entries: [String], total: Int)
    case notADirectory(path: String)
    case badMarker(path: String, reason: String)
    case cannotInspect(path: String, reason: String)

    public var description: String {
        switch self {
        case .foreign(let path, let entries, let total):
            let more = total > entries.count ? " and \(total - entries.count) more" : ""
            return "refusing to use \(path) as the store: it holds things CertAgent did not create (\(entries.joined(separator: ", "))\(more)) "
                + "and no \(StoreLayout.markerName) marks it as a CertAgent store. CertAgent makes everything in its store private "
                + "to itself, which would break whatever uses these files: set \"storage\" to a new or empty directory"
        case .notADirectory(let path):
            return "refusing to use \(path) as the store: it is not a directory (set \"storage\" to a new or empty directory)"
        case .badMarker(let path, let reason):
            return "refusing to use the store marked by \(path): \(reason)"
        case .cannotInspect(let path, let reason):
            return "cannot inspect the store \(path): \(reason)"
        }
    }
}

/// The marker a store carries, `<root>/.certagent-store`: a small JSON file naming the format and its version,
/// written atomically when CertAgent creates (or adopts) the directory. Only a marked directory is ever treated as
/// CertAgent's own.
public enum StoreMarker {
    /// The format name written in the marker.
    public static let format = "certagent-store"
    /// The layout version this CertAgent writes and reads.
    public static let version = 1
    /// How many of a foreign directory's entries an error names.
    static let namedEntries = 5

    private struct Contents: Codable {
        var format: String
        var version: Int
    }

    /// What `root` is, changing nothing. Throws `StoreOwnershipError` when it is not (and cannot become) a store.
    /// `extraRootFiles` are more names CertAgent may keep at the root (the master key file).
    public static func inspect(root: String, extraRootFiles: Set<String> = []) throws -> StoreOwnership {
        var info = stat()
        guard stat(root, &info) == 0 else {
            if errno == ENOENT { return .missing }
            throw StoreOwnershipError.cannotInspect(path: root, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw StoreOwnershipError.notADirectory(path: root) }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: root).sorted() } catch {
            throw StoreOwnershipError.cannotInspect(path: root, reason: "its entries cannot be listed")
        }
        if entries.isEmpty { return .empty }
        let marker = StoreKeys(root: root).marker
        if let bytes = try readMarker(marker) {
            guard let contents = try? StoreJSON.decode(Contents.self, from: bytes), contents.format == format else {
                throw StoreOwnershipError.badMarker(path: marker, reason: "it is not a CertAgent store marker (expected {\"format\": \"\(format)\", …}); "
                    + "if this directory is not CertAgent's, set \"storage\" to a new or empty directory")
            }
            guard contents.version <= version else {
                throw StoreOwnershipError.badMarker(path: marker, reason: "the store has layout version \(contents.version), written by a newer "
                    + "CertAgent (this one reads version \(version)): use that version")
            }
            return .marked
        }
        let foreign = entries.filter { StoreLayout.entry($0, in: .root, extraRootFiles: extraRootFiles) == nil }
        guard foreign.isEmpty else {
            let shown = foreign.prefix(namedEntries).map { name in PathSafety.isDirectory(root + "/" + name) ? name + "/" : name }
            throw StoreOwnershipError.foreign(path: root, entries: Array(shown), total: foreign.count)
        }
        // Names alone are not enough (an application's directory may hold just `certificates/`): an earlier version's
        // store belongs to the running user and holds something only CertAgent writes (its lock, its account, secrets).
        let onlyCertAgents: Set<String> = [StoreLock.fileName, StoreLayout.accounts, StoreLayout.secretsFile]
        guard info.st_uid == geteuid(), entries.contains(where: onlyCertAgents.contains) else {
            let shown = entries.prefix(namedEntries).map { name in PathSafety.isDirectory(root + "/" + name) ? name + "/" : name }
            throw StoreOwnershipError.foreign(path: root, entries: Array(shown), total: entries.count)
        }
        return .legacy
    }

    /// Writes the marker into `root` (atomically, mode 0600).
    public static func write(root: String) throws {
        try AtomicFile.write(try StoreJSON.encode(Contents(format: format, version: version), compact: true), to: StoreKeys(root: root).marker, mode: 0o600)
    }

    private static func readMarker(_ path: String) throws -> [UInt8]? {
        do { return try StoreFileReader.readFile(path, limit: 4096) } catch {
            throw StoreOwnershipError.badMarker(path: path, reason: "\(error)")
        }
    }
}
