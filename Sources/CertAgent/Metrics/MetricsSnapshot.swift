import FoundationEssentials

/// What the metrics say, gathered at one moment: per certificate and per process. Pure data; `PrometheusExposition`
/// renders it. A value that is not known is nil and its sample is left out (never a made-up 0).
public struct MetricsSnapshot: Sendable, Equatable {
    /// One configured certificate.
    public struct CertificateSample: Sendable, Equatable {
        /// The certificate's config name (the `certificate` label).
        public var name: String
        /// The current certificate's notAfter; nil when none is stored.
        public var notAfter: Date?
        /// When CertAgent last renewed it successfully; nil when never (as far as the renewal record knows).
        public var lastRenewed: Date?
        /// Failed renewals in a row (0 after a success).
        public var consecutiveFailures: Int
        /// When the next renewal (or retry) is planned; nil when nothing is planned.
        public var nextRenewal: Date?
        /// Whether the site serves the current certificate, when a site check has said so; nil when unknown.
        public var siteServesCurrent: Bool?

        public init(name: String, notAfter: Date?, lastRenewed: Date?, consecutiveFailures: Int, nextRenewal: Date?,
                    siteServesCurrent: Bool? = nil) {
            self.name = name
            self.notAfter = notAfter
            self.lastRenewed = lastRenewed
            self.consecutiveFailures = consecutiveFailures
            self.nextRenewal = nextRenewal
            self.siteServesCurrent = siteServesCurrent
        }
    }

    public var certificates: [CertificateSample]
    /// When the daemon last finished a pass over a certificate; nil when not known.
    public var lastPass: Date?
    /// Notifications that could not be delivered since the daemon started; nil when not known.
    public var notificationDeliveryFailures: Int?

    public init(certificates: [CertificateSample], lastPass: Date? = nil, notificationDeliveryFailures: Int? = nil) {
        self.certificates = certificates
        self.lastPass = lastPass
        self.notificationDeliveryFailures = notificationDeliveryFailures
    }

    /// The per-certificate samples of every configured certificate, read from the store and the renewal records
    /// (nothing written, no network): the same facts `certagent status` shows.
    public static func gather(config: AgentConfig, store: CertificateStore, now: Date) -> [CertificateSample] {
        let records = RenewalRecordStore(store: store)
        return config.certificates.map { certificate in
            let status = CertificateStatus(certificate: certificate, store: store, now: now, primaryDirectoryURL: config.directoryURL)
            let record = records.load(certificate.name).record
            return CertificateSample(name: certificate.name, notAfter: status.notAfter, lastRenewed: record.lastRenewed,
                                     consecutiveFailures: record.failures, nextRenewal: status.nextActionAt)
        }
    }
}
