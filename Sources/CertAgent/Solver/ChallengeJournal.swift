import ACME
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Remembers, on disk, which challenge files are published and which `.well-known` directories the solver created for
/// them, so that what a crash or `kill -9` in the middle of an order left behind is removed at the next start
/// (RFC 8555 §8.3 files must not outlive their order; directories CertAgent made must not outlive their files).
///
/// One line per entry: a published file's absolute path, or `directory <absolute path>` for a directory the solver
/// created (journals written before directories were recorded hold file lines only).
public final class ChallengeJournal: Sendable {
    public let path: String
    private let entries = Mutex<[String]>([])
    static let directoryPrefix = "directory "

    public init(path: String) {
        self.path = path
    }

    func added(_ file: String) { record(adding: file) }

    func removed(_ file: String) { record(removing: file) }

    /// Records a directory the solver has just created (so a crash recovery removes it when empty).
    func createdDirectory(_ directory: String) { record(adding: Self.directoryPrefix + directory) }

    /// Forgets a created directory (removed, or no longer CertAgent's to remove).
    func removedDirectory(_ directory: String) { record(removing: Self.directoryPrefix + directory) }

    private func record(adding line: String) {
        entries.withLock { entries in
            entries.append(line)
            try? AtomicFile.makeDirectory(PathText.parent(path))
            try? AtomicFile.write(entries.joined(separator: "\n") + "\n", to: path)
        }
    }

    private func record(removing line: String) {
        entries.withLock { entries in
            entries.removeAll { $0 == line }
            if entries.isEmpty { unlink(path) } else { try? AtomicFile.write(entries.joined(separator: "\n") + "\n", to: path) }
        }
    }

    /// Removes the challenge files a previous run left published, then the directories it recorded as created (only
    /// when empty, deepest first), then the journal. Only files named like a token directly inside
    /// `<webroot>/.well-known/acme-challenge/` of one of `webroots`, and only those two directories of a webroot, are
    /// touched; the journal itself is never read through a symbolic link. Returns what it removed (directories with a
    /// trailing `/`).
    @discardableResult
    public static func removeLeftovers(journal path: String, webroots: [String]) -> [String] {
        guard let bytes = try? StoreFileReader.readFile(path) else {
            unlink(path)   // a link (never followed) or an unreadable journal: nothing in it can be trusted
            return []
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let challengeDirectories = Set(webroots.map { PathSafety.canonical($0 + "/.well-known/acme-challenge") })
        let createdDirectories = challengeDirectories.union(webroots.map { PathSafety.canonical($0 + "/.well-known") })
        var removed: [String] = []
        var directories: [String] = []
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix(directoryPrefix) {
                directories.append(String(line.dropFirst(directoryPrefix.count)))
                continue
            }
            let directory = PathSafety.canonical(PathText.parent(line))
            guard challengeDirectories.contains(directory), ChallengeToken.isValid(PathText.lastComponent(line)) else { continue }
            if unlink(line) == 0 { removed.append(line) }
        }
        // Deepest first, so `.well-known` goes after the `acme-challenge` inside it; rmdir removes only empty ones.
        // Under the process's webroot lock: a solver of another certificate sharing the webroot may be publishing there.
        SharedWebrootDirectories.lock.withLock { _ in
            for directory in directories.sorted(by: { $0.count > $1.count }) where createdDirectories.contains(PathSafety.canonical(directory)) {
                var info = stat()
                guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                if rmdir(directory) == 0 { removed.append(directory + "/") }
            }
        }
        unlink(path)
        return removed
    }
}
