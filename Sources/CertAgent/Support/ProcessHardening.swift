#if canImport(Glibc)
import Glibc
#endif

/// Process-wide protections applied before anything else runs.
public enum ProcessHardening {
    /// Everything CertAgent creates is private unless it says otherwise (umask 0077), and the process cannot be
    /// core-dumped or ptrace-attached by other processes of the same user (`PR_SET_DUMPABLE` 0), so key material
    /// in memory does not end up in a core file.
    public static func apply() {
        umask(0o077)
        GlibcExtensions.setDumpable(false)
    }

    /// Whether the process may currently be core-dumped (for tests and `certagent check`).
    public static var isDumpable: Bool? { GlibcExtensions.isDumpable() }

    /// Allows core dumps again (tests restore the runner's state with it).
    public static func allowCoreDumps() { GlibcExtensions.setDumpable(true) }
}
