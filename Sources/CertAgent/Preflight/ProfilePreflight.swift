import ACME
import CertCrypto

/// `certagent check --online`'s question to the CA: does its directory offer each certificate's profile, and does an
/// IP address meet Let's Encrypt's `shortlived` rule there? The same check (`CertificateProfile.problem`) runs
/// before every order; here it runs with no account and no order, to say so before the first one.
public enum ProfilePreflight {
    /// What the CA's directory said about the certificates checked.
    public struct Report: Sendable {
        /// Lines for a terminal: what the CA offers, then a ✓ or ✗ line per certificate with something to check.
        public var lines: [String]
        /// The certificates the CA would refuse (or whose check could not run: the directory could not be read).
        public var refused: [String]
    }

    /// Whether the CA's directory has anything to say about `certificates`: one names a profile or holds an IP
    /// address. Otherwise `check --online` does not contact the CA.
    public static func needsDirectory(_ certificates: [CertificateConfig]) -> Bool {
        certificates.contains { $0.profile != nil || $0.identifiers.contains { $0.type == "ip" } }
    }

    /// Fetches the directory at `directoryURL` through `transport` and checks each of `certificates` against it.
    public static func check(_ certificates: [CertificateConfig], directoryURL: String, transport: any HTTPTransport,
                             clock: any ACMEClock) -> Report {
        let directory: ACMEDirectory
        do {
            directory = try fetchDirectory(directoryURL: directoryURL, transport: transport, clock: clock)
        } catch {
            let named = certificates.filter { $0.profile != nil }.map(\.name)
            return Report(lines: ["Profiles: not checked: the CA's directory \(directoryURL) could not be read: \(error)"], refused: named)
        }
        let problems = problems(certificates, directoryURL: directoryURL, directory: directory)
        var lines = ["Profiles: the CA at \(directoryURL) offers \(offeredText(directory))"]
        for certificate in certificates where certificate.profile != nil && !problems.contains(where: { $0.certificate == certificate.name }) {
            lines.append("  ✓ \(certificate.name): profile \(certificate.profile ?? "")")
        }
        lines += problems.map { "  ✗ \($0.certificate): \($0)" }
        return Report(lines: lines, refused: problems.map(\.certificate))
    }

    /// The CA's directory (RFC 8555 §7.1.1): one GET through `transport`, no account and nothing signed.
    static func fetchDirectory(directoryURL: String, transport: any HTTPTransport, clock: any ACMEClock) throws -> ACMEDirectory {
        // ACMEClient needs a signer, but the directory is fetched unsigned: a throwaway key that never signs anything.
        let unusedKey = try AccountKeySigner(key: try PrivateKey.generate(.ec256))
        return try ACMEClient(directoryURL: directoryURL, transport: transport, signer: unusedKey, clock: clock).directory()
    }

    /// The problem of each certificate in `certificates` that the CA at `directoryURL`, with `directory`, would refuse.
    static func problems(_ certificates: [CertificateConfig], directoryURL: String, directory: ACMEDirectory) -> [ProfileProblem] {
        certificates.compactMap { CertificateProfile.problem(with: $0, directoryURL: directoryURL, offered: directory.meta?.profiles) }
    }

    /// The profiles `directory` offers in words (`CertificateProfile.listed`), or that it offers none.
    static func offeredText(_ directory: ACMEDirectory) -> String {
        guard let offered = directory.meta?.profiles, !offered.isEmpty else { return "no profiles (its directory has no meta.profiles)" }
        return CertificateProfile.listed(offered)
    }
}
