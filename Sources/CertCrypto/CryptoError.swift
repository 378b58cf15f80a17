import COpenSSL

/// An error from a cryptographic operation.
///
/// It speaks to two readers. `summary` says what went wrong in words a person understands ("the data is not a valid
/// X.509 certificate") and is the error's `description`: what reaches the terminal and the normal log. `operation`
/// names what was being attempted (for example `"PEM_read_bio_PrivateKey"` or `"CSR: add subjectAltName"`) and
/// `detail` carries the text of OpenSSL's thread-local error queue at the time of failure (or a plain explanation
/// when the failure was detected in Swift): `lowLevelDetail` and `debugDescription` give them, for `--debug` logs
/// and bug reports, never for the admin's first reading.
public struct CryptoError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// The operation that failed.
    public let operation: String
    /// OpenSSL's error-queue text, or an explanation of the failure.
    public let detail: String
    /// What went wrong, in words (no OpenSSL function names or error codes).
    public let summary: String

    /// Creates an error with an explicit detail text; `summary` defaults to one derived from `operation`.
    public init(operation: String, detail: String, summary: String? = nil) {
        self.operation = operation
        self.detail = detail
        self.summary = summary ?? CryptoError.summary(of: operation)
    }

    /// The summary, in words: what a person reads.
    public var description: String { summary }

    /// `"<operation> failed: <detail>"`: the low-level cause (OpenSSL's own text), for debug logs.
    public var lowLevelDetail: String { "\(operation) failed: \(detail)" }

    /// The summary followed by the low-level cause.
    public var debugDescription: String { "\(summary) [\(lowLevelDetail)]" }

    /// An error whose detail is the drained OpenSSL error queue (emptied by this call).
    static func openSSL(_ operation: String, summary: String? = nil) -> CryptoError {
        let queue = OpenSSLErrorQueue.drain()
        return CryptoError(operation: operation, detail: queue.isEmpty ? "no OpenSSL error detail" : queue, summary: summary)
    }

    /// The summary of an error in `operation`, by what the operation works on.
    static func summary(of operation: String) -> String {
        let certificateOperations = ["d2i_X509", "X509_get0_serialNumber", "X509_NAME_print_ex", "serialNumber",
                                     "i2d_ASN1_INTEGER(serial)", "ASN1_TIME_to_tm", "Certificate"]
        if certificateOperations.contains(where: { operation.hasPrefix($0) }) {
            return "the data is not a valid X.509 certificate (neither PEM nor DER that can be parsed)"
        }
        if operation.hasPrefix("PEM_read_bio_PrivateKey") || operation.hasPrefix("PrivateKey") {
            return operation.contains("passphrase")
                ? "the private key cannot be read: the passphrase is wrong, or the file is not a PEM private key"
                : "the private key cannot be read: not a PEM private key (or it is encrypted)"
        }
        if operation.hasPrefix("CSR") || operation.contains("X509_REQ") {
            return "the certificate signing request cannot be made"
        }
        return "a cryptographic operation failed (\(operation))"
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
