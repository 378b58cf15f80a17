import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where CertAgent keeps accounts, keys and certificates (directories 0700, files 0600).
///
/// Layout:
/// ```
/// <root>/accounts/<ca>/account.json, account-key.pem
/// <root>/certificates/<name>/versions/<id>/{privkey,csr,cert,chain,fullchain}.pem
/// <root>/certificates/<name>/current  -> versions/<id>   (stable paths for web servers)
/// <root>/certificates/<name>/previous -> versions/<id>   (the one before, kept for rollback)
/// ```
/// A new certificate is written to a staging directory, verified by the caller, and only then made current by
/// renaming a symbolic link — one atomic step, so key, certificate and chain always change together and a crash
/// leaves the previous, verified version in place.
public final class CertificateStore: Sendable {
    public let root: String

    /// Opens the store at `root` (creating it when `create` is set), refusing any location inside one of `webroots`.
    public init(root: String, webroots: [String], create: Bool = true) throws {
        for webroot in webroots where PathSafety.isInside(root, directory: webroot) {
            throw StoreError.insideWebroot(store: root, webroot: webroot)
        }
        self.root = root
        if create { try AtomicFile.makeDirectory(root) }
    }

    // MARK: Certificates

    /// The directory holding all versions of certificate `name`.
    public func certificateDirectory(_ name: String) -> String { root + "/certificates/" + name }

    /// The journal of challenge files published for certificate `name` and not yet removed.
    public func challengeJournal(_ name: String) -> String { certificateDirectory(name) + "/challenges.inflight" }

    /// The current version's files (stable paths through the `current` link), or nil before the first issuance.
    public func currentFiles(_ name: String) -> CertificateFiles? { linkedFiles(name, link: "current") }

    /// The version before the current one, if kept.
    public func previousFiles(_ name: String) -> CertificateFiles? { linkedFiles(name, link: "previous") }

    private func linkedFiles(_ name: String, link: String) -> CertificateFiles? {
        let path = certificateDirectory(name) + "/" + link
        guard (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil, PathSafety.isDirectory(path) else { return nil }
        return CertificateFiles(directory: path)
    }

    /// Writes `material` into a new staging directory of certificate `name` and returns its files (not yet current).
    public func stage(_ material: CertificateMaterial, for name: String, now: Date = Date()) throws -> CertificateFiles {
        let versions = certificateDirectory(name) + "/versions"
        try AtomicFile.makeDirectory(versions)
        removeAbandonedStaging(in: versions)
        let staging = versions + "/.staging-" + Self.versionID(now)
        try AtomicFile.makeDirectory(staging)
        let files = CertificateFiles(directory: staging)
        do {
            try AtomicFile.write(material.privateKeyPEM, to: files.privateKey)
            try AtomicFile.write(material.csrPEM, to: files.csr)
            try AtomicFile.write(material.certificatePEM, to: files.certificate)
            try AtomicFile.write(material.chainPEM, to: files.chain)
            try AtomicFile.write(material.fullChainPEM, to: files.fullChain)
        } catch {
            discard(files)
            throw error
        }
        return files
    }

    /// Makes a verified staged version current; the version it replaces becomes `previous`; older ones are removed.
    @discardableResult
    public func commit(_ staged: CertificateFiles, for name: String) throws -> CertificateFiles {
        let directory = certificateDirectory(name)
        let stagedName = (staged.directory as NSString).lastPathComponent
        guard stagedName.hasPrefix(".staging-") else {
            throw StoreError.notStaged(path: staged.directory)
        }
        let versionName = String(stagedName.dropFirst(".staging-".count))
        let version = directory + "/versions/" + versionName
        guard rename(staged.directory, version) == 0 else { throw FileSystemError("rename", path: staged.directory) }
        AtomicFile.syncDirectory(directory + "/versions")
        let replaced = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/current")
        try swapLink(directory + "/current", to: "versions/" + versionName)
        if let replaced { try swapLink(directory + "/previous", to: replaced) }
        pruneVersions(of: name)
        return CertificateFiles(directory: directory + "/current")
    }

    /// Removes a staged version that failed verification.
    public func discard(_ staged: CertificateFiles) {
        try? FileManager.default.removeItem(atPath: staged.directory)
    }

    /// Points `link` at `target` atomically (a new link renamed over the old one).
    private func swapLink(_ link: String, to target: String) throws {
        let temporary = link + ".new"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw FileSystemError("create the link", path: temporary) }
        guard rename(temporary, link) == 0 else {
            unlink(temporary)
            throw FileSystemError("replace the link", path: link)
        }
        AtomicFile.syncDirectory((link as NSString).deletingLastPathComponent)
    }

    /// Keeps only the versions `current` and `previous` point at.
    private func pruneVersions(of name: String) {
        let directory = certificateDirectory(name)
        let kept = Set(["current", "previous"].compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0)
        }.map { ($0 as NSString).lastPathComponent })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/versions")) ?? []
        for entry in entries where !entry.hasPrefix(".") && !kept.contains(entry) {
            try? FileManager.default.removeItem(atPath: directory + "/versions/" + entry)
        }
    }

    private func removeAbandonedStaging(in versions: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: versions)) ?? []
        for entry in entries where entry.hasPrefix(".staging-") {
            try? FileManager.default.removeItem(atPath: versions + "/" + entry)
        }
    }

    static func versionID(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let random = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return formatter.string(from: date) + "-" + random
    }

    // MARK: Accounts

    /// The directory for the account at the CA whose directory URL is `directoryURL` (one account per CA).
    public func accountDirectory(for directoryURL: String) -> String {
        let components = URLComponents(string: directoryURL)
        var name = components?.host ?? "ca"
        if let port = components?.port { name += "_\(port)" }
        let path = (components?.path ?? "").split(separator: "/").joined(separator: "_")
        if !path.isEmpty { name += "_" + path }
        let safe = String(name.unicodeScalars.map { scalar -> Character in
            let allowed = CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "-" || scalar == "_"
            return allowed && scalar.isASCII ? Character(scalar) : "_"
        })
        return root + "/accounts/" + safe
    }
}

/// Store failures that are not plain file-system errors.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case insideWebroot(store: String, webroot: String)
    case notStaged(path: String)

    public var description: String {
        switch self {
        case .insideWebroot(let store, let webroot):
            return "refusing the store \(store): it is inside the webroot \(webroot), where keys could be downloaded by anyone"
        case .notStaged(let path):
            return "\(path) is not a staged certificate version"
        }
    }
}
