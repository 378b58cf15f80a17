import CGlibcShim
#if canImport(Glibc)
import Glibc
#endif

/// GNU extensions of glibc that Swift's Glibc module does not import (it is built without `_GNU_SOURCE`), the variadic
/// `prctl`, and C's mutable `stdout`: called through the small C target `CGlibcShim`, which compiles them with
/// `_GNU_SOURCE` (glibc 2.34 or later).
public enum GlibcExtensions {
    /// Makes C's standard output line-buffered (`setvbuf(stdout, NULL, _IOLBF, 0)`), even into a pipe or a file, so
    /// each printed line goes out at once and keeps its order with standard error's.
    public static func lineBufferStandardOutput() {
        certagent_line_buffer_stdout()
    }

    /// Sets whether this process may be core-dumped or ptrace-attached by its user (`prctl(PR_SET_DUMPABLE)`).
    @discardableResult
    static func setDumpable(_ dumpable: Bool) -> Bool {
        certagent_set_dumpable(dumpable ? 1 : 0) == 0
    }

    /// Whether this process is dumpable (`prctl(PR_GET_DUMPABLE)`), nil when that cannot be asked.
    static func isDumpable() -> Bool? {
        let result = certagent_get_dumpable()
        return result < 0 ? nil : result != 0
    }

    /// A pipe whose two ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`).
    static func closeOnExecPipe() -> (read: Int32, write: Int32)? {
        var descriptors: [Int32] = [-1, -1]
        let status = descriptors.withUnsafeMutableBufferPointer { certagent_pipe_cloexec($0.baseAddress) }
        return status == 0 ? (descriptors[0], descriptors[1]) : nil
    }

    /// `mkostemp(template, O_CLOEXEC)`: a new temporary file, close-on-exec from the start.
    static func makeCloseOnExecTemporaryFile(_ template: UnsafeMutablePointer<CChar>) -> Int32 {
        certagent_mkostemp_cloexec(template)
    }

    /// Makes the child close every descriptor from `lowest` on (`posix_spawn_file_actions_addclosefrom_np`).
    @discardableResult
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, lowest: Int32) -> Bool {
        certagent_spawn_add_closefrom(&actions, lowest) == 0
    }

    /// Makes the child start in `directory` (`posix_spawn_file_actions_addchdir_np`).
    @discardableResult
    static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) -> Bool {
        certagent_spawn_add_chdir(&actions, directory) == 0
    }
}
