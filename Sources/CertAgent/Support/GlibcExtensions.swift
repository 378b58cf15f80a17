#if canImport(Glibc)
import Glibc
#endif

/// GNU extensions of glibc that Swift's Glibc module does not import (it is built without `_GNU_SOURCE`),
/// looked up once with `dlsym`. Each has a portable fallback for a libc that lacks it.
public enum GlibcExtensions {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    private typealias MakeTemporary = @convention(c) (UnsafeMutablePointer<CChar>?, Int32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias AddChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    /// `prctl` is variadic in C; with integer arguments the x86-64 and AArch64 calling conventions pass them as here.
    private typealias ProcessControl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let processControlFunction: ProcessControl? = symbol("prctl")
    private static let prSetDumpable: Int32 = 4   // PR_SET_DUMPABLE, linux/prctl.h
    private static let prGetDumpable: Int32 = 3   // PR_GET_DUMPABLE

    private static let pipe2Function: Pipe2? = symbol("pipe2")
    private static let mkostempFunction: MakeTemporary? = symbol("mkostemp")
    private static let addCloseFromFunction: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let addChangeDirectoryFunction: AddChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }

    /// Makes C's standard output line-buffered (`setvbuf(stdout, NULL, _IOLBF, 0)`), even into a pipe or a file, so
    /// each printed line goes out at once and keeps its order with standard error's. The `stdout` variable is found
    /// with `dlsym`: Swift 6 refuses a reference to C's mutable global.
    public static func lineBufferStandardOutput() {
        guard let address = dlsym(nil, "stdout"),
              let file = address.assumingMemoryBound(to: UnsafeMutablePointer<FILE>?.self).pointee else { return }
        setvbuf(file, nil, _IOLBF, 0)
    }

    /// Sets whether this process may be core-dumped or ptrace-attached by its user (`prctl(PR_SET_DUMPABLE)`).
    @discardableResult
    static func setDumpable(_ dumpable: Bool) -> Bool {
        processControlFunction?(prSetDumpable, dumpable ? 1 : 0, 0, 0, 0) == 0
    }

    /// Whether this process is dumpable (`prctl(PR_GET_DUMPABLE)`), nil when that cannot be asked.
    static func isDumpable() -> Bool? {
        guard let result = processControlFunction?(prGetDumpable, 0, 0, 0, 0), result >= 0 else { return nil }
        return result != 0
    }

    /// A pipe whose two ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`), or with FD_CLOEXEC set right after.
    static func closeOnExecPipe() -> (read: Int32, write: Int32)? {
        var descriptors: [Int32] = [-1, -1]
        let status = descriptors.withUnsafeMutableBufferPointer { buffer in
            if let pipe2Function { return pipe2Function(buffer.baseAddress, O_CLOEXEC) }
            let status = pipe(buffer.baseAddress!)
            if status == 0 { for descriptor in buffer { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) } }
            return status
        }
        return status == 0 ? (descriptors[0], descriptors[1]) : nil
    }

    /// `mkostemp(template, O_CLOEXEC)`, or `mkstemp` followed by FD_CLOEXEC.
    static func makeCloseOnExecTemporaryFile(_ template: UnsafeMutablePointer<CChar>) -> Int32 {
        if let mkostempFunction { return mkostempFunction(template, O_CLOEXEC) }
        let descriptor = mkstemp(template)
        if descriptor >= 0 { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        return descriptor
    }

    /// Makes the child close every descriptor from `lowest` on; false when this libc cannot.
    @discardableResult
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, lowest: Int32) -> Bool {
        guard let addCloseFromFunction else { return false }
        return addCloseFromFunction(&actions, lowest) == 0
    }

    /// Makes the child start in `directory`; false when this libc cannot.
    @discardableResult
    static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) -> Bool {
        guard let addChangeDirectoryFunction else { return false }
        return addChangeDirectoryFunction(&actions, directory) == 0
    }
}
