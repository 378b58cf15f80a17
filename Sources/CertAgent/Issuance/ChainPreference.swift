import ACME
import CertCrypto
import Logging

/// Picks among the chains a CA offers (RFC 8555 §7.4.2: the default, plus `Link: rel="alternate"` ones)
/// by the common name of the issuer at the top of the chain, as certbot's `--preferred-chain` does.
enum ChainPreference {
    /// The default chain's PEM unless `preferredIssuer` names the top issuer of an alternate one.
    static func choose(_ offered: ACMECertificateChain, preferredIssuer: String?, client: ACMEClient, logger: Logger) -> String {
        guard let preferredIssuer, !offered.alternateURLs.isEmpty else { return offered.pem }
        if topIssuerMatches(offered.pem, preferredIssuer) { return offered.pem }
        for url in offered.alternateURLs {
            // The certificate is already issued: a failed download of an alternate must never cost it.
            let alternate: ACMECertificateChain
            do {
                alternate = try client.downloadCertificate(at: url)
            } catch {
                logger.warning("cannot download an alternate chain: \(error)", metadata: ["chain": "\(url)"])
                continue
            }
            if topIssuerMatches(alternate.pem, preferredIssuer) {
                logger.info("using the alternate chain issued by \(preferredIssuer)", metadata: ["chain": "\(url)"])
                return alternate.pem
            }
        }
        logger.warning("no offered chain is issued by \(preferredIssuer): using the default chain")
        return offered.pem
    }

    private static func topIssuerMatches(_ pem: String, _ name: String) -> Bool {
        guard let top = try? Certificate.parseChain(pem: pem).last else { return false }
        return top.issuer.split(separator: ",").contains { $0.trimmingWhitespace() == "CN=" + name }
    }
}
