import ACME
import CertCrypto
import FoundationEssentials

/// Reads the files of another ACME client (certbot, lego) for an import: small regular files, symbolic links followed
/// (certbot's `live/` names are links into `archive/`), every failure an `ImportError` naming the file.
enum ImportFiles {
    /// Why a certificate of the other client (`client` names it, e.g. "lego") cannot be renewed by CertAgent at all,
    /// whatever the webroot: a wildcard (DNS-01 only), IP addresses, no DNS name, or a name CertAgent refuses; nil if
    /// it can be.
    static func unsupportedReason(leaf: Certificate, domains: [String], client: String) -> String? {
        if let wildcard = domains.first(where: { $0.hasPrefix("*.") }) {
            return "it covers the wildcard name \(wildcard), which only DNS-01 can prove; CertAgent validates with HTTP-01: keep renewing it with \(client), or list each name in a new certificate"
        }
        if !leaf.ipAddresses.isEmpty {
            return "it covers IP addresses: add it anew with `certagent init` (IP certificates need the shortlived profile)"
        }
        if domains.isEmpty { return "its certificate names no DNS name" }
        return domains.lazy.compactMap { domain in DomainName.problem(with: domain).map { "\(domain) \($0)" } }.first
    }

    /// The largest file read: certificates, keys and small JSON or INI documents are far smaller.
    static let limit = 1 << 20

    /// The text of `path`, UTF-8.
    static func text(_ path: String) throws(ImportError) -> String {
        let outcome: SecureFileReader.Outcome
        do { outcome = try SecureFileReader.read(path, limit: limit, followingLinks: true) } catch {
            throw ImportError(file: path, problem: "cannot be read (\((error as? FileSystemError)?.reason ?? "\(error)"))")
        }
        guard case .contents(var contents) = outcome else { throw ImportError(file: path, problem: "does not exist") }
        defer { contents.cleanse() }
        guard contents.isRegular else { throw ImportError(file: path, problem: "is not a regular file") }
        guard let text = String(validating: contents.bytes, as: UTF8.self) else { throw ImportError(file: path, problem: "is not UTF-8 text") }
        return text
    }

    /// True when `path` exists (a link is followed).
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// The entries of directory `path`, sorted; an error naming it when it cannot be listed.
    static func entries(_ path: String) throws(ImportError) -> [String] {
        guard exists(path) else { throw ImportError(file: path, problem: "does not exist") }
        guard PathSafety.isDirectory(path) else { throw ImportError(file: path, problem: "is not a directory") }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            throw ImportError(file: path, problem: "cannot be listed (permission denied? run as the user who owns it, usually root)")
        }
        return entries.sorted()
    }

    /// The JSON object in `path`.
    static func jsonObject(_ path: String) throws(ImportError) -> [String: JSONValue] {
        let text = try text(path)
        guard let value = try? StrictJSONParser.parse(Array(text.utf8)) else { throw ImportError(file: path, problem: "is not valid JSON") }
        guard case .object(let members) = value else { throw ImportError(file: path, problem: "is not a JSON object") }
        return members
    }

    /// The certificates in the PEM file `path` (at least one).
    static func certificates(_ path: String, field: String? = nil) throws(ImportError) -> [Certificate] {
        let text = try text(path)
        let chain: [Certificate]
        do { chain = try Certificate.parseChain(pem: text) } catch {
            throw ImportError(file: path, field: field, problem: "is not a PEM certificate file (\(error))")
        }
        guard !chain.isEmpty else { throw ImportError(file: path, field: field, problem: "holds no certificate") }
        return chain
    }

    /// The private key in the PEM file `path`.
    static func privateKey(_ path: String, field: String? = nil) throws(ImportError) -> PrivateKey {
        let text = try text(path)
        do { return try PrivateKey(pem: text) } catch {
            throw ImportError(file: path, field: field, problem: "is not a usable private key (\(error))")
        }
    }

    /// True when `path` is absolute and has no `.`/`..` component.
    static func isPlainAbsolutePath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.split(separator: "/").contains { $0 == "." || $0 == ".." }
    }
}
