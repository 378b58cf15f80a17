import ACME
import FoundationEssentials

/// Which ACME client seems to keep a certificate file up to date, told from where the file lives (and, through a
/// symbolic link, where it points): certbot's `/etc/letsencrypt/live|archive/<lineage>/`, lego's
/// `.lego/certificates/` or `/etc/lego/`, acme.sh's `~/.acme.sh/`, CertAgent's own store or the files its config
/// installs — else none.
public enum ManagingClient: Sendable, Equatable, Encodable {
    case certbot(lineage: String)
    case lego
    case acmeSh
    /// CertAgent: the store's certificate of this name, or the copy its config installs for it.
    case certagent(name: String, installedCopy: Bool)
    case none

    /// A short name for machines (`--json`'s `managedBy`).
    public var identifier: String {
        switch self {
        case .certbot: "certbot"
        case .lego: "lego"
        case .acmeSh: "acme.sh"
        case .certagent: "certagent"
        case .none: "none"
        }
    }

    /// In words, for the admin.
    public var description: String {
        switch self {
        case .certbot(let lineage): "certbot (lineage \(UntrustedText.display(lineage)))"
        case .lego: "lego"
        case .acmeSh: "acme.sh"
        case .certagent(let name, let installed): installed ? "CertAgent (installed copy of its certificate \(name))" : "CertAgent (its certificate \(name))"
        case .none: "none that discover knows (certbot, lego, acme.sh, CertAgent)"
        }
    }

    /// The client managing `path` (as written in the web server's configuration and as `resolved` through links).
    /// `store` is CertAgent's store (`StoreKeys`: the store says where its certificates live); `installed` maps each
    /// file a configured certificate installs to that certificate's name.
    public static func classify(_ path: String, resolved: String?, store: StoreKeys?, installed: [String: String]) -> ManagingClient {
        for candidate in [path, resolved].compactMap({ $0 }) {
            if let name = installed[candidate] { return .certagent(name: name, installedCopy: true) }
            if let store, let name = firstComponent(of: candidate, below: store.certificates) { return .certagent(name: name, installedCopy: false) }
            let components = candidate.split(separator: "/").map(String.init)
            for index in components.indices.dropLast(2) where components[index] == "letsencrypt" {
                if components[index + 1] == "live" || components[index + 1] == "archive" { return .certbot(lineage: components[index + 2]) }
            }
            for index in components.indices.dropLast() where components[index] == ".lego" && components[index + 1] == "certificates" {
                return .lego
            }
            if candidate.hasPrefix("/etc/lego/") { return .lego }
            if components.dropLast().contains(".acme.sh") || candidate.hasPrefix("/etc/acme.sh/") { return .acmeSh }
        }
        return .none
    }

    /// The first path component of `path` below `directory`, when it lies below it.
    private static func firstComponent(of path: String, below directory: String) -> String? {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        guard path.hasPrefix(prefix) else { return nil }
        let name = path.dropFirst(prefix.count).prefix { $0 != "/" }
        return name.isEmpty ? nil : String(name)
    }

    // Encoded as its identifier with the detail beside it: {"client": "certbot", "lineage": "…"}.
    private enum CodingKeys: String, CodingKey { case client, lineage, name, installedCopy }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(identifier, forKey: .client)
        switch self {
        case .certbot(let lineage): try container.encode(lineage, forKey: .lineage)
        case .certagent(let name, let installed):
            try container.encode(name, forKey: .name)
            try container.encode(installed, forKey: .installedCopy)
        default: break
        }
    }
}
