import ACME
import FoundationEssentials
import Logging
import Synchronization

/// One line per event on standard error. Under systemd (`JOURNAL_STREAM` set) each line starts with the syslog
/// priority prefix (`<3>` … `<7>`) journald reads, and carries no timestamp (the journal adds one);
/// otherwise lines start with an ISO 8601 time and the level. The `certificate` metadata leads every line it is on.
public struct AgentLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journald: Bool
    private let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, journald: Bool, sink: @escaping @Sendable (String) -> Void = AgentLogHandler.writeToStandardError) {
        self.label = label
        self.logLevel = level
        self.journald = journald
        self.sink = sink
    }

    /// True when standard error is connected to the journal.
    public static var underJournald: Bool { ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let certificate = merged.removeValue(forKey: "certificate").map { "[\(Self.singleLine("\($0)"))] " } ?? ""
        let fields = merged.sorted { $0.key < $1.key }.map { "\(Self.singleLine($0.key))=\(Self.quoted("\($0.value)"))" }
        let text = ([certificate + Self.singleLine("\(event.message)")] + fields).joined(separator: " ")
        if journald {
            sink("<\(Self.syslogPriority(event.level))>\(text)")
        } else {
            sink("\(Self.timestamp()) \(event.level.rawValue.uppercased()) \(text)")
        }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The most of one message or metadata value a line carries, in bytes: far more than any message needs, but a
    /// bound whatever a caller passes in.
    static let maximumFieldBytes = 16_384

    /// `text` as part of one log line, the last line of defence against text from outside that was not made safe
    /// where it entered (`UntrustedText`): secrets redacted first (their PEM form has line breaks), then line feeds
    /// shown as ` | `, every other control character (CR, ESC, NUL, DEL, C1 …) escaped, and the length bounded.
    /// A log line is one line, and nothing in it drives the terminal.
    static func singleLine(_ text: String) -> String {
        UntrustedText.display(LogRedaction.scrub(text).replacing("\n", with: " | "), limit: maximumFieldBytes)
    }

    static func quoted(_ value: String) -> String {
        let line = singleLine(value)
        guard line.contains(" ") || line.contains("\"") || line.isEmpty else { return line }
        return "\"" + line.replacing("\"", with: "\\\"") + "\""
    }

    static func timestamp() -> String {
        TimeText.human(Date(), seconds: true)
    }

    private static let lock = Mutex(())

    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in StandardStream.error(line + "\n") }
    }
}
