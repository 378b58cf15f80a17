import FoundationEssentials
import Logging
import Synchronization

/// Writes the metrics file (`metricsFile`) after every daemon pass, the way node_exporter's textfile collector expects:
/// the text goes to a temporary file in the same directory (named `.<name>.tmp-…`, which the collector ignores as it
/// reads only `*.prom`), then is renamed over the target, so a scrape sees the old file or the new one, never half.
/// Mode 0644: the file holds certificate names and times — what anyone can read from the served certificates and
/// Certificate Transparency logs — and no secret, and the collector usually runs as another user.
public final class MetricsWriter: Sendable {
    /// One write at a time (two renewals may end together); the last pass's text wins.
    private let writing = Mutex<Void>(())

    public init() {}

    /// Writes the exposition of every configured certificate in `session`'s store to its `metricsFile` (nothing when
    /// none is configured). A failure is logged as a warning: metrics never hold up a renewal.
    public func write(session: AgentSession, lastPass: Date, notificationDeliveryFailures: Int? = nil, logger: Logger) {
        guard let path = session.config.metricsFile else { return }
        let text = Self.exposition(config: session.config, store: session.store, now: session.clock.now(), lastPass: lastPass,
                                   notificationDeliveryFailures: notificationDeliveryFailures)
        writing.withLock { _ in
            do { try AtomicFile.write(Array(text.utf8), to: path, mode: 0o644) } catch {
                logger.warning("cannot write the metrics file: \(error)", metadata: ["metricsFile": "\(path)"])
            }
        }
    }

    /// The exposition text for `config`'s certificates now, with the process values given (nil ones left out).
    public static func exposition(config: AgentConfig, store: CertificateStore, now: Date, lastPass: Date?,
                                  notificationDeliveryFailures: Int?) -> String {
        PrometheusExposition.render(MetricsSnapshot(certificates: MetricsSnapshot.gather(config: config, store: store, now: now),
                                                    lastPass: lastPass, notificationDeliveryFailures: notificationDeliveryFailures))
    }

    /// The process values the daemon last published in the metrics file at `path` (each nil when absent): what
    /// `certagent metrics`, which is not the daemon, reports for them.
    public static func publishedProcessValues(path: String) -> (lastPass: Date?, notificationDeliveryFailures: Int?) {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else { return (nil, nil) }
        var lastPass: Date?
        var failures: Int?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]), value.isFinite, value >= 0 else { continue }
            if parts[0] == PrometheusExposition.Name.lastPass { lastPass = Date(timeIntervalSince1970: value) }
            if parts[0] == PrometheusExposition.Name.notificationDeliveryFailures, value <= Double(Int.max / 2) { failures = Int(value) }
        }
        return (lastPass, failures)
    }
}
