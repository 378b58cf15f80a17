import COpenSSL

/// An error from a cryptographic operation.
///
/// `operation` names what was being attempted (for example `"PEM_read_bio_PrivateKey"` or
/// `"CSR: add subjectAltName"`); `detail` carries the text of OpenSSL's thread-local error
/// queue at the time of failure, or a plain explanation when the failure was detected in Swift.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// The operation that failed.
    public let operation: String
    /// OpenSSL's error-queue text, or an explanation of the failure.
    public let detail: String

    /// Creates an error with an explicit detail text.
    public init(operation: String, detail: String) {
        self.operation = operation
        self.detail = detail
    }

    /// `"<operation> failed: <detail>"`.
    public var description: String { "\(operation) failed: \(detail)" }

    /// An error whose detail is the drained OpenSSL error queue (emptied by this call).
    static func openSSL(_ operation: String) -> CryptoError {
        let queue = OpenSSLErrorQueue.drain()
        return CryptoError(operation: operation, detail: queue.isEmpty ? "no OpenSSL error detail" : queue)
    }
}

/// Access to OpenSSL's per-thread error queue.
enum OpenSSLErrorQueue {
    /// Removes every queued error and returns their texts joined by `"; "`.
    static func drain() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            let text = buffer.withUnsafeMutableBufferPointer { storage -> String in
                guard let base = storage.baseAddress else { return "error \(code)" }
                ERR_error_string_n(code, base, storage.count)
                return String(cString: base)
            }
            messages.append(text)
        }
        return messages.joined(separator: "; ")
    }

    /// Discards stale errors so that a later failure reports only its own causes.
    static func clear() {
        ERR_clear_error()
    }
}

/// Throws `CryptoError.openSSL(operation)` unless `result` is positive (OpenSSL's success convention).
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws {
    guard result > 0 else { throw CryptoError.openSSL(operation()) }
}
