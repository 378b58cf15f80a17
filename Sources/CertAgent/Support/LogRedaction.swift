import Synchronization

/// The last line of defence for logs: once secrets are opened, every log line is scrubbed of their values
/// (and of the account key's PEM) before it is written. Code must not log secrets in the first place.
public enum LogRedaction {
    private static let current = Mutex<SecretRedaction?>(nil)

    /// Installs the values to scrub from every later log line.
    public static func install(_ redaction: SecretRedaction) {
        current.withLock { $0 = redaction }
    }

    /// `text` with every known secret replaced.
    public static func scrub(_ text: String) -> String {
        guard let redaction = current.withLock({ $0 }), !redaction.isEmpty else { return text }
        return redaction.redact(text)
    }
}
