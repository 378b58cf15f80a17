#if canImport(Glibc)
import Glibc
#endif

/// The config decides what CertAgent runs (`install.reload`), which files it overwrites (install targets), where it keeps
/// keys and which CA it trusts: whoever can change it acts as the user CertAgent runs as. Like sshd's `StrictModes`, the
/// config file and every directory on its path (symbolic links followed, and the directories holding those links) must
/// be writable by no one but the running user (`euid`) or root: owned by one of them and not group- or other-writable.
/// A directory with the sticky bit (like `/tmp`) may be writable by all, since its entries can only be replaced by their
/// owners — but then a symbolic link in it must belong to the running user or root as well.
///
/// The rule holds for every user, not only root: even without commands, a config another user can change lets them make
/// CertAgent overwrite any file the running user can write (install paths) or trust their CA. The fix is one command,
/// and it is printed.
public struct ConfigPermissions: Sendable {
    /// The user the check protects: files owned by this uid or by root are trusted.
    public let euid: uid_t

    /// `euid` is injectable for tests; it defaults to the process's effective user.
    public init(euid: uid_t = geteuid()) {
        self.euid = euid
    }

    /// The identity of the config file that was checked (to make sure it is the file that was read).
    public struct CheckedFile: Equatable, Sendable {
        public let path: String
        public let device: UInt64
        public let inode: UInt64
    }

    /// Every problem with the permissions of the config at `path` and of its directories, each with the exact fix,
    /// and the file the path resolves to. Throws when the path cannot be walked (a loop, a missing part).
    public func check(_ path: String) throws(ConfigError) -> (problems: [ConfigProblem], file: CheckedFile) {
        let walk: Walk
        do { walk = try Walk(path) } catch { throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: error.message)]) }
        var problems: [ConfigProblem] = []
        var ancestors: [String] = ["/"]
        for component in walk.components.dropLast() {
            ancestors.append((ancestors.count == 1 ? "" : ancestors.last!) + "/" + component)
        }
        var directories = ancestors
        // Every directory the kernel passed through, those above a link's directory included: whoever can rename one
        // of them can put a config of their own in its place.
        for directory in walk.passedDirectories where !directories.contains(directory) { directories.append(directory) }
        for directory in directories {
            var info = stat()
            guard lstat(directory, &info) == 0 else { continue }
            if let problem = problem(with: info, at: directory, isDirectory: true) { problems.append(problem) }
        }
        for link in walk.links {
            // In a directory all may write to (sticky), only the owner of an entry can replace it: the link's owner counts.
            let sharedDirectory = link.directoryMode & 0o022 != 0
            if sharedDirectory, !isTrusted(link.owner) {
                problems.append(ConfigProblem(field: "", value: nil, message: "the config path passes through the symbolic link \(link.path), owned by \(Self.userName(link.owner)) in the shared directory \(link.directory): that user can point it at a config of their own. Fix: \(trustedFix(owner: true, writable: false, path: link.path, isLink: true))"))
            }
        }
        let file = "/" + walk.components.joined(separator: "/")
        var info = stat()
        guard lstat(file, &info) == 0 else {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: ConfigFileProblem(openFailure: errno, path: path).message)])
        }
        if let problem = problem(with: info, at: file, isDirectory: false) { problems.append(problem) }
        return (problems, CheckedFile(path: file, device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }

    private func isTrusted(_ owner: uid_t) -> Bool { owner == 0 || owner == euid }

    private func problem(with info: stat, at path: String, isDirectory: Bool) -> ConfigProblem? {
        let mode = info.st_mode & 0o7777
        let untrustedOwner = !isTrusted(info.st_uid)
        let sticky = isDirectory && mode & mode_t(S_ISVTX) != 0
        let writable = mode & 0o022 != 0 && !sticky
        guard untrustedOwner || writable else { return nil }
        var reasons: [String] = []
        if untrustedOwner { reasons.append("it is owned by \(Self.userName(info.st_uid))") }
        if writable {
            let who = mode & 0o022 == 0o022 ? "its group and all other users" : (mode & 0o020 != 0 ? "its group" : "all other users")
            reasons.append("its mode \(octal(mode)) lets \(who) write to it")
        }
        let runner = euid == 0 ? "root" : Self.userName(euid)
        let what = isDirectory ? "the directory \(path) on the config's path" : "the config file \(path)"
        let consequence = isDirectory ? "could replace the config in it" : "could change it"
        return ConfigProblem(field: "", value: nil, message: "\(what) is not safe: \(reasons.joined(separator: ", and ")); someone other than \(runner) \(consequence), and CertAgent runs what the config says as \(runner). Fix: \(trustedFix(owner: untrustedOwner, writable: writable, path: path, isLink: false))")
    }

    /// The exact command that makes `path` trusted: owned by the running user (root: `root:root`), not writable by others.
    private func trustedFix(owner: Bool, writable: Bool, path: String, isLink: Bool) -> String {
        let quoted = Self.shellQuoted(path)
        var commands: [String] = []
        if owner {
            let account = euid == 0 ? "root:root" : Self.userName(euid, bare: true)
            commands.append("chown \(isLink ? "-h " : "")\(account) \(quoted)")
        }
        if writable { commands.append("chmod go-w \(quoted)") }
        return commands.joined(separator: " && ") + (owner && euid != 0 ? " (as root)" : "")
    }

    /// `path` as a shell word: as is when it holds only safe characters, else in single quotes.
    static func shellQuoted(_ path: String) -> String {
        let safe = path.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || "/._-+:@,".unicodeScalars.contains(scalar)
        }
        return safe ? path : "'" + path.replacing("'", with: "'\\''") + "'"
    }

    /// "nobody (uid 65534)", or "uid 4321" when the password database does not know it; `bare` gives the name (or id) alone.
    static func userName(_ uid: uid_t, bare: Bool = false) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
            return bare ? String(uid) : "uid \(uid)"
        }
        let text = String(cString: name)
        return bare ? text : "\(text) (uid \(uid))"
    }

    /// The config path resolved one component at a time (as the kernel does), remembering every symbolic link on the
    /// way and the directory it sits in, so a link in a directory others may write to is not overlooked.
    private struct Walk {
        struct Link {
            let path: String
            let owner: uid_t
            let directory: String
            let directoryMode: mode_t
        }

        /// The real path's components, the file last.
        private(set) var components: [String] = []
        private(set) var links: [Link] = []
        /// Every directory passed through on the way, in order (before and after following links).
        private(set) var passedDirectories: [String] = []

        init(_ path: String) throws(ConfigFileProblem) {
            var pending = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            if !path.hasPrefix("/") {
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                guard getcwd(&buffer, buffer.count) != nil else { throw ConfigFileProblem("the working directory cannot be found, and the config path is relative: give an absolute path") }
                let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                pending = cwd.split(separator: "/").map(String.init) + pending
            }
            var hops = 0
            while !pending.isEmpty {
                let component = pending.removeFirst()
                if component == "." { continue }
                if component == ".." {
                    if !components.isEmpty { components.removeLast() }
                    continue
                }
                let directory = "/" + components.joined(separator: "/")
                if !passedDirectories.contains(directory) { passedDirectories.append(directory) }
                let candidate = (components.isEmpty ? "" : directory) + "/" + component
                var info = stat()
                guard lstat(candidate, &info) == 0 else { throw ConfigFileProblem(openFailure: errno, path: path) }
                guard info.st_mode & S_IFMT == S_IFLNK else {
                    components.append(component)
                    continue
                }
                hops += 1
                guard hops <= 40, let target = FileErrorWords.linkTarget(candidate) else {
                    throw ConfigFileProblem(openFailure: ELOOP, path: path)
                }
                var directoryInfo = stat()
                _ = lstat(directory, &directoryInfo)
                links.append(Link(path: candidate, owner: info.st_uid, directory: directory, directoryMode: directoryInfo.st_mode & 0o7777))
                if target.hasPrefix("/") { components = [] }
                pending = target.split(separator: "/", omittingEmptySubsequences: true).map(String.init) + pending
            }
        }
    }
}
