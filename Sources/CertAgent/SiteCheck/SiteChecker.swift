import CertCrypto
import CurlHTTP
import FoundationEssentials

/// Connects to each name of a certificate over TLS (SNI = the name; none for an IP address entry) on port 443, or on
/// the certificate's `address`, and compares the served leaf with the store's current one. Nothing served is trusted:
/// only serial and key count.
public struct SiteChecker: Sendable {
    /// Seconds allowed for each name's connection and handshake.
    public var timeout: Double
    /// Aborts the check in flight (the daemon's stop).
    public var cancellation: CurlHTTPCancellation?

    public init(timeout: Double = 10, cancellation: CurlHTTPCancellation? = nil) {
        self.timeout = timeout
        self.cancellation = cancellation
    }

    /// One result per name, in the config's order; nil when cancelled.
    public func check(_ certificate: CertificateConfig, current: Certificate?, now: @Sendable () -> Date) -> [SiteNameResult]? {
        var results: [SiteNameResult] = []
        for name in certificate.domains {
            let host = IPAddress(name)?.urlHost ?? name   // an address entry: no SNI, IPv6 in brackets
            let address = certificate.address?.description ?? "\(host):443"
            let chain: [String]
            do {
                chain = try CurlTLSProbe.servedChain(host: host, port: 443,
                                                     connectTo: certificate.address.map { ($0.host, $0.port) },
                                                     timeout: timeout, cancellation: cancellation)
            } catch let error as CurlHTTPError {
                if case .cancelled = error { return nil }
                results.append(SiteNameResult(name: name, address: address, served: .unreachable,
                                              reason: Self.reason(of: error), checkedAt: now()))
                continue
            } catch {
                results.append(SiteNameResult(name: name, address: address, served: .unreachable, reason: .failed, checkedAt: now()))
                continue
            }
            guard let first = chain.first, let leaf = try? Certificate(pem: first) else {
                results.append(SiteNameResult(name: name, address: address, served: .unreachable, reason: .noCertificate, checkedAt: now()))
                continue
            }
            results.append(SiteNameResult.compare(name: name, address: address, served: leaf, current: current, at: now()))
        }
        return results
    }

    /// The reason in words for a failed probe.
    static func reason(of error: CurlHTTPError) -> SiteUnreachableReason {
        guard case .transport(_, let code, _) = error else { return .failed }
        if CurlTLSProbe.isConnectionRefused(code) { return .refused }
        if CurlTLSProbe.isTimeout(code) { return .timedOut }
        if CurlTLSProbe.isUnresolved(code) { return .notResolved }
        if CurlTLSProbe.isHandshakeFailure(code) { return .tlsHandshakeFailed }
        return .failed
    }

    /// Checks `certificate` and stores the result in its `site.json`; returns the record written (nil when cancelled).
    @discardableResult
    public func checkAndStore(_ certificate: CertificateConfig, store: CertificateStore, now: @escaping @Sendable () -> Date) throws -> SiteCheckRecord? {
        let leaf = StoredCertificateState.inspect(certificate, in: store, now: now()).leaf
        guard let results = check(certificate, current: leaf, now: now) else { return nil }
        var written = SiteCheckRecord()
        try SiteCheckStore(store: store).update(certificate.name) { record in
            record.checkedAt = now()
            record.currentSerial = leaf?.serialHex
            record.names = results
            written = record
        }
        return written
    }
}
