/// CertAgent's version, as printed by `certagent --version` and sent in the HTTP `User-Agent`.
public enum CertAgentVersion {
    public static let current = "0.1.0"
}
