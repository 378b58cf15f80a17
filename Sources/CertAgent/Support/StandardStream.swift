#if canImport(Glibc)
import Glibc
#endif

/// Text written straight to standard error or standard output (the file descriptor, no stdio buffer), as a prompt or a
/// last message must be.
public enum StandardStream {
    /// Writes `text` to standard error.
    public static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    /// Writes `text` to standard output, ahead of anything still buffered by `print`.
    public static func output(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes all of `text` to `descriptor`, again after an interruption; gives up quietly on an error (a closed pipe).
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
