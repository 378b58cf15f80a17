import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One mode the audit tightened, for the caller to log.
public struct PermissionFix: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let oldMode: mode_t
    public let newMode: mode_t

    public init(path: String, oldMode: mode_t, newMode: mode_t) {
        self.path = path
        self.oldMode = oldMode
        self.newMode = newMode
    }

    public var description: String { "tightened \(path) from \(octal(oldMode)) to \(octal(newMode))" }
}

/// Problems the audit could not fix. The fixes it did make before are in `fixes`.
public struct PermissionAuditError: Error, Sendable, CustomStringConvertible {
    /// One line per problem, each naming the path.
    public let problems: [String]
    /// Modes tightened before the audit gave up.
    public let fixes: [PermissionFix]

    public var description: String {
        "the store has \(problems.count) permission problem(s) CertAgent cannot fix: " + problems.joined(separator: "; ")
    }
}

/// Makes the store readable by nobody but its owner: every directory 0700 and every file 0600, all owned by the
/// running user (effective uid).
///
/// Symbolic links are never followed (the store's `current`/`previous` links point at version directories that the
/// walk reaches directly), only the root is taken as given, links and all. A mode with any group, other, setuid,
/// setgid or sticky bit is set to exactly 0700 / 0600; a stricter one (0400, 0500) is left alone. Entries owned by
/// another user, and entries that are neither files, directories nor links, are reported as errors (after the
/// whole walk, so every fixable mode is still fixed).
public enum PermissionAudit {
    /// Audits and fixes the store at `storeRoot`; returns the fixes made, in walk order (parents before children,
    /// names sorted).
    public static func run(storeRoot: String) throws -> [PermissionFix] {
        var fixes: [PermissionFix] = []
        var problems: [String] = []
        var info = stat()
        guard stat(storeRoot, &info) == 0 else {
            throw PermissionAuditError(problems: ["cannot inspect the store \(storeRoot): \(String(cString: strerror(errno)))"], fixes: [])
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw PermissionAuditError(problems: ["the store \(storeRoot) is not a directory"], fixes: [])
        }
        audit(storeRoot, fixes: &fixes, problems: &problems, followLink: true)
        guard problems.isEmpty else { throw PermissionAuditError(problems: problems, fixes: fixes) }
        return fixes
    }

    private static func audit(_ path: String, fixes: inout [PermissionFix], problems: inout [String], followLink: Bool = false) {
        var info = stat()
        guard (followLink ? stat(path, &info) : lstat(path, &info)) == 0 else {
            problems.append("cannot inspect \(path): \(String(cString: strerror(errno)))")
            return
        }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFLNK { return }
        guard kind == S_IFDIR || kind == S_IFREG else {
            problems.append("\(path) is neither a file nor a directory (remove it from the store)")
            return
        }
        let isDirectory = kind == S_IFDIR
        // Open without following a link swapped in since lstat, and work on the descriptor from here on.
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (isDirectory ? O_DIRECTORY : 0))
        guard descriptor >= 0 else {
            problems.append("cannot open \(path): \(String(cString: strerror(errno)))")
            return
        }
        defer { close(descriptor) }
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == kind else {
            problems.append("\(path) changed while it was being checked")
            return
        }
        guard info.st_uid == geteuid() else {
            problems.append("\(path) is owned by uid \(info.st_uid), not by the running user (uid \(geteuid())): "
                + "fix with chown \(geteuid()) \(path)")
            return
        }
        let mode = info.st_mode & 0o7777
        let target: mode_t = isDirectory ? 0o700 : 0o600
        if mode & ~0o700 != 0 {
            if fchmod(descriptor, target) == 0 {
                fixes.append(PermissionFix(path: path, oldMode: mode, newMode: target))
            } else {
                problems.append("cannot change the mode of \(path) from \(octal(mode)) to \(octal(target)): \(String(cString: strerror(errno)))")
            }
        }
        guard isDirectory else { return }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            problems.append("cannot list \(path)")
            return
        }
        for entry in entries.sorted() {
            audit(path + "/" + entry, fixes: &fixes, problems: &problems)
        }
    }
}
