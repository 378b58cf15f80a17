import ACME
import CertCrypto
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Errors of the webroot solver, naming the domain and file involved.
public enum WebrootSolverError: Error, Sendable, CustomStringConvertible {
    case invalidToken(domain: String, token: String)
    case noWebroot(domain: String)
    case cannotWrite(domain: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidToken(let domain, let token):
            return "refused the challenge token \"\(UntrustedText.display(token, limit: 40))\" for \(UntrustedText.display(domain, limit: 300)): "
                + "a token must be base64url (A-Z a-z 0-9 - _)"
        case .noWebroot(let domain):
            return "no webroot is configured for \(domain)"
        case .cannotWrite(let domain, let path, let reason):
            return "cannot publish the HTTP-01 response for \(domain) at \(path): \(reason)"
        }
    }
}

/// Publishes HTTP-01 key authorizations as files in each domain's (DNS name's or IP address's) webroot (RFC 8555 §8.3):
/// `<webroot>/.well-known/acme-challenge/<token>`, readable by the web server, and removes them afterwards —
/// along with the `.well-known/acme-challenge` directories it had to create.
public final class WebrootSolver: HTTP01Solver {
    private let webroots: [String: String]
    private let journal: ChallengeJournal?
    private let state = Mutex(State())

    private struct State {
        var published: [String: String] = [:]      // "domain token" -> file path
        var createdDirectories: [String] = []     // deepest last
        var lastWritten: [String: String] = [:]   // domain -> the last file published for it (kept after clean-up)
    }

    /// `webroots` maps each domain to the directory its web server serves; `journal` records published files on
    /// disk so a crashed run's files can be removed later.
    public init(webroots: [String: String], journal: ChallengeJournal? = nil) {
        self.webroots = webroots
        self.journal = journal
    }

    /// The last file published for `domain` (kept after it was removed), so a failed validation can say where the
    /// token was: nil when none was.
    public func lastWrittenFile(for domain: String) -> String? { state.withLock { $0.lastWritten[domain] } }

    /// Files currently published and not yet cleaned up.
    public var publishedFiles: [String] { state.withLock { Array($0.published.values) } }

    public func present(domain: String, token: String, keyAuthorization: String) throws {
        // Checked here as well as in the ACME client: this is the code that turns the token into a file name.
        guard ChallengeToken.isValid(token) else { throw WebrootSolverError.invalidToken(domain: domain, token: token) }
        guard let webroot = webroot(for: domain) else { throw WebrootSolverError.noWebroot(domain: domain) }
        let wellKnown = webroot + "/.well-known"
        let challengeDirectory = wellKnown + "/acme-challenge"
        let path = challengeDirectory + "/" + token
        // Under the process's webroot lock: another certificate's solver, sharing this webroot, never removes the
        // directories between their check here and the file's creation.
        do { try SharedWebrootDirectories.lock.withLock { _ in
            for directory in [wellKnown, challengeDirectory] where !PathSafety.isDirectory(directory) {
                // World-readable so a web server running as another user can serve the token. Only a directory made
                // here has its mode set: one that appeared meanwhile (perhaps a symbolic link) is left as it is.
                if mkdir(directory, 0o755) == 0 {
                    state.withLock { $0.createdDirectories.append(directory) }
                    journal?.createdDirectory(directory)
                    guard chmod(directory, 0o755) == 0 else { throw FileSystemError("set the mode of", path: directory) }
                } else if errno != EEXIST {
                    throw FileSystemError("create", path: directory)
                }
            }
            journal?.added(path)
            unlink(path)  // a leftover of an interrupted run with the same token
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw FileSystemError("create", path: path) }
            defer { close(descriptor) }
            guard fchmod(descriptor, 0o644) == 0 else { throw FileSystemError("set the mode of", path: path) }
            try AtomicFile.writeAll(Array(keyAuthorization.utf8), to: descriptor, path: path)
        } } catch let error as FileSystemError {
            unlink(path)
            journal?.removed(path)
            removeCreatedDirectoriesWhenIdle()
            throw WebrootSolverError.cannotWrite(domain: domain, path: path, reason: error.description)
        }
        state.withLock {
            $0.published["\(domain) \(token)"] = path
            $0.lastWritten[domain] = path
        }
    }

    /// The webroot of a name, or of an address in whatever text the CA wrote it (RFC 8738 §3 asks for the canonical
    /// one; the config holds that form).
    private func webroot(for domain: String) -> String? {
        webroots[domain] ?? IPAddress(domain).flatMap { webroots[$0.text] }
    }

    /// Removes the directories this solver created (deepest first; `rmdir` removes only empty ones, so anything the
    /// site keeps there stays) once no file of it is published, and forgets them in the journal.
    /// A directory that still holds another solver's file (a certificate sharing the webroot, issued at the same time)
    /// is handed over to `SharedWebrootDirectories`, and removed by whichever solver of the process cleans up last.
    private func removeCreatedDirectoriesWhenIdle() {
        let directories: [String] = state.withLock { state in
            guard state.published.isEmpty else { return [] }
            defer { state.createdDirectories.removeAll() }
            return state.createdDirectories.reversed()
        }
        SharedWebrootDirectories.lock.withLock { handedOver in
            for directory in directories {
                if rmdir(directory) != 0, errno == ENOTEMPTY || errno == EEXIST { handedOver.append(directory) }
                journal?.removedDirectory(directory)
            }
            // Directories handed over earlier, deepest first: those emptied since go now.
            handedOver.removeAll { directory in rmdir(directory) == 0 || errno == ENOENT }
        }
    }

    public func cleanUp(domain: String, token: String) {
        let file = state.withLock { $0.published.removeValue(forKey: "\(domain) \(token)") }
        if let file {
            unlink(file)
            journal?.removed(file)
        }
        removeCreatedDirectoriesWhenIdle()
    }
}

/// The `.well-known/acme-challenge` directories that solvers of this process share when certificates with a common
/// webroot are issued at the same time: created, filled and removed under one lock, so a solver never removes one
/// between another's check and its file's creation. The lock's value: directories a solver made but could not remove
/// because another solver's file was still in them, deepest first (removed once empty).
enum SharedWebrootDirectories {
    static let lock = Mutex<[String]>([])
}
