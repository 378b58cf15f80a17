import Foundation
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

    /// The exposition text of `snapshot`, certificates in config order.
    public static func render(_ snapshot: MetricsSnapshot) -> String {
        let registry = PrometheusCollectorRegistry()
        for sample in snapshot.certificates {
            let labels = [("certificate", sample.name)]
            if let notAfter = sample.notAfter {
                registry.makeGauge(descriptor: certificate("expiry", "timestamp_seconds", "When the current certificate expires (notAfter), Unix seconds."),
                                   labels: labels).set(notAfter.timeIntervalSince1970)
            }
            if let lastRenewed = sample.lastRenewed {
                registry.makeGauge(descriptor: certificate("last_renewal", "timestamp_seconds", "When CertAgent last renewed the certificate successfully, Unix seconds."),
                                   labels: labels).set(lastRenewed.timeIntervalSince1970)
            }
            registry.makeGauge(descriptor: certificate("consecutive_failures", "", "Failed renewals in a row (0 after a success)."),
                               labels: labels).set(Double(sample.consecutiveFailures))
            if let nextRenewal = sample.nextRenewal {
                registry.makeGauge(descriptor: certificate("next_renewal", "timestamp_seconds", "When the next renewal or retry is planned, Unix seconds."),
                                   labels: labels).set(nextRenewal.timeIntervalSince1970)
            }
            if let serves = sample.siteServesCurrent {
                registry.makeGauge(descriptor: certificate("site_serves_current", "", "1 when every name's site serves the current certificate, 0 when one does not."),
                                   labels: labels).set(serves ? 1.0 : 0.0)
            }
        }
        if let lastPass = snapshot.lastPass {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "certagent", metricName: "last_pass", unitName: "timestamp_seconds",
                                                                helpText: "When the daemon last finished a pass over a certificate, Unix seconds."))
                .set(lastPass.timeIntervalSince1970)
        }
        if let failures = snapshot.notificationDeliveryFailures {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "certagent", metricName: "notification_delivery_failures", unitName: "total",
                                                                  helpText: "Notifications not accepted by their channel since the daemon started."))
                .increment(by: Int64(failures))
        }
        return registry.emitToString()
    }

    /// A per-certificate metric's name: `certagent_certificate_<name>[_<unit>]`.
    private static func certificate(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "certagent", subsystem: "certificate", metricName: name, unitName: unit, helpText: help)
    }
}
