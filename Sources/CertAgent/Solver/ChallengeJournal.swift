import ACME
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Remembers, on disk, which challenge files are published, so that files left by a crash or `kill -9` in the
/// middle of an order are removed at the next start (RFC 8555 §8.3 files must not outlive their order).
public final class ChallengeJournal: Sendable {
    public let path: String
    private let entries = Mutex<[String]>([])

    public init(path: String) {
        self.path = path
    }

    func added(_ file: String) {
        entries.withLock { entries in
            entries.append(file)
            try? AtomicFile.makeDirectory((path as NSString).deletingLastPathComponent)
            try? AtomicFile.write(entries.joined(separator: "\n") + "\n", to: path)
        }
    }

    func removed(_ file: String) {
        entries.withLock { entries in
            entries.removeAll { $0 == file }
            if entries.isEmpty { unlink(path) } else { try? AtomicFile.write(entries.joined(separator: "\n") + "\n", to: path) }
        }
    }

    /// Removes the challenge files a previous run left published, then the journal. Only files named like a token
    /// directly inside `<webroot>/.well-known/acme-challenge/` of one of `webroots` are touched. Returns what it removed.
    @discardableResult
    public static func removeLeftovers(journal path: String, webroots: [String]) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let allowed = Set(webroots.map { PathSafety.canonical($0 + "/.well-known/acme-challenge") })
        var removed: [String] = []
        for file in text.split(separator: "\n").map(String.init) {
            let directory = PathSafety.canonical((file as NSString).deletingLastPathComponent)
            guard allowed.contains(directory), ChallengeToken.isValid((file as NSString).lastPathComponent) else { continue }
            if unlink(file) == 0 { removed.append(file) }
            rmdir(directory)   // only when empty, as the solver does
        }
        unlink(path)
        return removed
    }
}
