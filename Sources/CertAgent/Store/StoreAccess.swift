import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Whether the running user may use the store at all: a non-root command against root's store (mode 0700) is told
/// so in words — "cannot read /var/lib/certagent (permission denied): run with sudo" — before anything else reads
/// the store and mistakes what it cannot see for what is not there.
public enum StoreAccess {
    /// What a command needs of the store.
    public enum Need: Sendable {
        /// Reading (`status`, `check`).
        case read
        /// Reading and writing (`issue`, `renew`, and every command that changes a certificate).
        case write
    }

    /// The message when the running user lacks `need` on the store at `root`; nil when it has it, or when the store
    /// does not exist yet (whoever creates it reports its own errors).
    public static func denied(_ root: String, need: Need) -> String? {
        var info = stat()
        guard stat(root, &info) == 0 else {
            // A directory above it that may not be searched hides the store itself.
            return errno == EACCES ? message(root, verb: "read", owner: nil) : nil
        }
        let mode = need == .read ? R_OK | X_OK : R_OK | W_OK | X_OK
        guard access(root, mode) != 0, errno == EACCES || errno == EROFS else { return nil }
        if errno == EROFS { return "cannot write to \(root): the file system is read-only" }
        let verb = access(root, R_OK | X_OK) == 0 ? "write to" : "read"
        return message(root, verb: verb, owner: info.st_uid)
    }

    private static func message(_ root: String, verb: String, owner: uid_t?) -> String {
        let fix: String
        if let owner, owner != 0, owner != geteuid() {
            let name = getpwuid(owner).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(owner)"
            fix = "run it as \(name), the store's owner (sudo -u \(name) certagent …)"
        } else {
            fix = "run with sudo"
        }
        return "cannot \(verb) \(root) (permission denied): \(fix)"
    }
}
