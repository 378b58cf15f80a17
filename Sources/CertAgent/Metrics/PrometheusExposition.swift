import FoundationEssentials
import Prometheus

/// The Prometheus text exposition (format 0.0.4) of a `MetricsSnapshot`, made by swift-prometheus's registry.
/// Times are Unix seconds, as Prometheus's own `*_timestamp_seconds` metrics are.
public enum PrometheusExposition {
    /// Metric names, stable: dashboards and alerts refer to them.
    public enum Name {
        public static let expiry = "certagent_certificate_expiry_timestamp_seconds"
        public static let lastRenewal = "certagent_certificate_last_renewal_timestamp_seconds"
        public static let consecutiveFailures = "certagent_certificate_consecutive_failures"
        public static let nextRenewal = "certagent_certificate_next_renewal_timestamp_seconds"
        public static let siteServesCurrent = "certagent_certificate_site_serves_current"
        public static let lastPass = "certagent_last_pass_timestamp_seconds"
        public static let notificationDeliveryFailures = "certagent_notification_delivery_failures_total"
    }

    /// The exposition text of `snapshot`: families in a fixed order (one registry each — a registry emits its families
    /// in no set order), certificates in config order as far as the library keeps it.
    public static func render(_ snapshot: MetricsSnapshot) -> String {
        typealias Sample = MetricsSnapshot.CertificateSample
        let perCertificate: [(MetricNameDescriptor, (Sample) -> Double?)] = [
            (certificate("expiry", "timestamp_seconds", "When the current certificate expires (notAfter), Unix seconds."),
             { $0.notAfter?.timeIntervalSince1970 }),
            (certificate("last_renewal", "timestamp_seconds", "When CertAgent last renewed the certificate successfully, Unix seconds."),
             { $0.lastRenewed?.timeIntervalSince1970 }),
            (certificate("consecutive_failures", "", "Failed renewals in a row (0 after a success)."),
             { Double($0.consecutiveFailures) }),
            (certificate("next_renewal", "timestamp_seconds", "When the next renewal or retry is planned, Unix seconds."),
             { $0.nextRenewal?.timeIntervalSince1970 }),
            (certificate("site_serves_current", "", "1 when every name's site serves the current certificate, 0 when one does not."),
             { $0.siteServesCurrent.map { $0 ? 1.0 : 0.0 } }),
        ]
        var text = ""
        for (descriptor, value) in perCertificate {
            let registry = PrometheusCollectorRegistry()
            for sample in snapshot.certificates {
                guard let value = value(sample) else { continue }   // unknown: no sample (never a made-up 0)
                registry.makeGauge(descriptor: descriptor, labels: [("certificate", sample.name)]).set(value)
            }
            text += registry.emitToString()
        }
        if let lastPass = snapshot.lastPass {
            let registry = PrometheusCollectorRegistry()
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "certagent", metricName: "last_pass", unitName: "timestamp_seconds",
                                                                helpText: "When the daemon last finished a pass over a certificate, Unix seconds."))
                .set(lastPass.timeIntervalSince1970)
            text += registry.emitToString()
        }
        if let failures = snapshot.notificationDeliveryFailures {
            let registry = PrometheusCollectorRegistry()
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "certagent", metricName: "notification_delivery_failures", unitName: "total",
                                                                  helpText: "Notifications not accepted by their channel since the daemon started."))
                .increment(by: Int64(failures))
            text += registry.emitToString()
        }
        return text
    }

    /// A per-certificate metric's name: `certagent_certificate_<name>[_<unit>]`.
    private static func certificate(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "certagent", subsystem: "certificate", metricName: name, unitName: unit, helpText: help)
    }
}
