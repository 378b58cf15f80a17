import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One mode the audit tightened (or, reporting only, would tighten), for the caller to log.
public struct PermissionFix: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let oldMode: mode_t
    public let newMode: mode_t
    /// False when the audit only reported it (`PermissionAudit.Mode.reportOnly`): the mode is unchanged.
    public let applied: Bool

    public init(path: String, oldMode: mode_t, newMode: mode_t, applied: Bool = true) {
        self.path = path
        self.oldMode = oldMode
        self.newMode = newMode
        self.applied = applied
    }

    public var description: String {
        applied ? "tightened \(path) from \(octal(oldMode)) to \(octal(newMode))"
            : "would tighten \(path) from \(octal(oldMode)) to \(octal(newMode)): certagent issue or run fixes it"
    }
}

/// An entry of the store the audit left alone, and why.
public struct StoreFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not a name of CertAgent's layout: someone else's file or directory (`what` says which).
        case foreign(what: String)
        /// A symbolic link where the layout has a file or directory of CertAgent's own (never followed).
        case link(target: String)
        /// `current` or `previous` that is not a link to one of the certificate's versions (never followed).
        case badVersionLink(target: String)
    }

    public let path: String
    public let kind: Kind

    /// True for a link where CertAgent keeps its own files: the files cannot be trusted (not just an extra file).
    public var isLink: Bool { if case .foreign = kind { false } else { true } }

    public var description: String {
        switch kind {
        case .foreign(let what):
            return "\(path) (\(what)) is not part of CertAgent's store: left as it is; move it out of the store"
        case .link(let target):
            return StoreFileError.symbolicLink(path: path, target: target).description
        case .badVersionLink(let target):
            return StoreFileError.badVersionLink(path: path, target: target).description
        }
    }
}

/// What one audit found: modes tightened (or to tighten) and entries left alone.
public struct PermissionAuditReport: Sendable, Equatable {
    public var fixes: [PermissionFix]
    public var findings: [StoreFinding]

    public init(fixes: [PermissionFix] = [], findings: [StoreFinding] = []) {
        self.fixes = fixes
        self.findings = findings
    }
}

/// Problems the audit could not fix. The fixes it did make before are in `fixes`.
public struct PermissionAuditError: Error, Sendable, CustomStringConvertible {
    /// One line per problem, each naming the path.
    public let problems: [String]
    /// Modes tightened before the audit gave up.
    public let fixes: [PermissionFix]
    /// Entries left alone (see `StoreFinding`).
    public var findings: [StoreFinding] = []

    public var description: String {
        "the store has \(problems.count) permission problem(s) CertAgent cannot fix: " + problems.joined(separator: "; ")
    }
}

/// Makes the store readable by nobody but its owner: every directory 0700 and every file 0600, all owned by the
/// running user (effective uid) — but only the entries of CertAgent's own layout (`StoreLayout`).
///
/// The walk goes by the layout: at each level only the names CertAgent writes there are inspected; anything else is
/// reported as a finding and neither walked into nor changed. Symbolic links are never followed: the certificates'
/// `current`/`previous` are checked to point at one of their versions, and a link anywhere else is reported. Only the
/// root is taken as given, links and all. A mode with any group, other, setuid, setgid or sticky bit is set to exactly
/// 0700 / 0600 (in `.fix` mode; `.reportOnly` changes nothing and reports what it would do); a stricter one (0400,
/// 0500) is left alone. Own entries owned by another user, and entries that are neither files, directories nor links,
/// are errors (after the whole walk, so every fixable mode is still fixed).
public enum PermissionAudit {
    /// Whether the audit changes modes or only says what it would change (`certagent check`).
    public enum Mode: Sendable { case fix, reportOnly }

    /// Audits the store; returns the fixes and findings, in walk order (parents before children, names sorted).
    public static func run(store: CertificateStore, mode: Mode = .fix) throws -> PermissionAuditReport {
        try run(storeRoot: store.root, extraRootFiles: store.extraRootFiles, mode: mode)
    }

    /// Audits the store at `storeRoot` (see `run(store:mode:)`).
    public static func run(storeRoot: String, extraRootFiles: Set<String> = [], mode: Mode = .fix) throws -> PermissionAuditReport {
        var walk = Walk(mode: mode, extraRootFiles: extraRootFiles)
        var info = stat()
        guard stat(storeRoot, &info) == 0 else {
            throw PermissionAuditError(problems: ["cannot inspect the store \(storeRoot): \(String(cString: strerror(errno)))"], fixes: [])
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw PermissionAuditError(problems: ["the store \(storeRoot) is not a directory"], fixes: [])
        }
        walk.audit(storeRoot, as: .directory(.root), followLink: true)
        guard walk.problems.isEmpty else {
            throw PermissionAuditError(problems: walk.problems, fixes: walk.report.fixes, findings: walk.report.findings)
        }
        return walk.report
    }

    private struct Walk {
        let mode: Mode
        let extraRootFiles: Set<String>
        var report = PermissionAuditReport()
        var problems: [String] = []

        init(mode: Mode, extraRootFiles: Set<String>) {
            self.mode = mode
            self.extraRootFiles = extraRootFiles
        }

        mutating func audit(_ path: String, as entry: StoreLayout.Entry, followLink: Bool = false) {
            var info = stat()
            guard (followLink ? stat(path, &info) : lstat(path, &info)) == 0 else {
                problems.append("cannot inspect \(path): \(String(cString: strerror(errno)))")
                return
            }
            let kind = info.st_mode & S_IFMT
            switch (entry, kind) {
            case (.tolerated, _):
                return
            case (.versionLink, S_IFLNK):
                let target = StoreFileReader.linkTarget(path)
                if CertificateStore.versionName(linkTarget: target) == nil {
                    report.findings.append(StoreFinding(path: path, kind: .badVersionLink(target: target)))
                }
                return
            case (.versionLink, _):
                report.findings.append(StoreFinding(path: path, kind: .badVersionLink(target: "(\(StoreFileReader.kindName(kind)), not a link)")))
                return
            case (_, S_IFLNK):
                report.findings.append(StoreFinding(path: path, kind: .link(target: StoreFileReader.linkTarget(path))))
                return
            case (.directory, S_IFDIR), (.file, S_IFREG), (.temporary, S_IFREG):
                break
            default:
                problems.append("\(path) is \(StoreFileReader.kindName(kind)) where CertAgent keeps a \(entry == .file || entry == .temporary ? "file" : "directory") (remove it from the store)")
                return
            }
            let isDirectory = kind == S_IFDIR
            // Open without following a link swapped in since lstat, and work on the descriptor from here on.
            // The store's root is taken as configured, links and all (`followLink`); nothing below it is followed.
            let descriptor = open(path, O_RDONLY | (followLink ? 0 : O_NOFOLLOW) | O_CLOEXEC | O_NONBLOCK | (isDirectory ? O_DIRECTORY : 0))
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
            let current = info.st_mode & 0o7777
            let target: mode_t = isDirectory ? 0o700 : 0o600
            if current & ~0o700 != 0 {
                switch mode {
                case .reportOnly:
                    report.fixes.append(PermissionFix(path: path, oldMode: current, newMode: target, applied: false))
                case .fix:
                    if fchmod(descriptor, target) == 0 {
                        report.fixes.append(PermissionFix(path: path, oldMode: current, newMode: target))
                    } else {
                        problems.append("cannot change the mode of \(path) from \(octal(current)) to \(octal(target)): \(String(cString: strerror(errno)))")
                    }
                }
            }
            guard case .directory(let level) = entry else { return }
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else {
                problems.append("cannot list \(path)")
                return
            }
            for name in entries.sorted() {
                let child = path + "/" + name
                if let childEntry = StoreLayout.entry(name, in: level, extraRootFiles: level == .root ? extraRootFiles : []) {
                    audit(child, as: childEntry)
                } else {
                    var childInfo = stat()
                    let what = lstat(child, &childInfo) == 0 ? StoreFileReader.kindName(childInfo.st_mode & S_IFMT) : "unreadable"
                    report.findings.append(StoreFinding(path: child, kind: .foreign(what: what)))
                }
            }
        }
    }
}
