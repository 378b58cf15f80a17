import ACME
import ByteEncoding
import FoundationEssentials
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
/// (every name is in `StoreLayout`). The store is CertAgent's alone: a directory it created or adopted while empty,
/// marked by `.certagent-store` (`StoreMarker`); any other directory is refused. Its files are read without following
/// symbolic links (`read`), and `current`/`previous` are resolved here, only ever to a version of their certificate.
/// A new certificate is written to a staging directory, verified by the caller, and only then made current by
/// renaming a symbolic link — one atomic step, so key, certificate and chain always change together and a crash
/// leaves the previous, verified version in place.
public final class CertificateStore: CertificateStorage {
    public let root: String
    /// Where each thing lives under `root`: the only builder of store paths.
    public let keys: StoreKeys
    /// Whose directory `root` was when it was opened (before CertAgent created or marked it).
    public let ownership: StoreOwnership
    /// Names the store's root may hold besides the layout's own (the master key file, when the config puts it there).
    public let extraRootFiles: Set<String>
    /// Temporary files crashed writers had left in the store, removed when it was opened (with `create`).
    public let removedLeftovers: [String]

    /// Opens the store at `root`, refusing any location inside one of `webroots` and any directory that is not
    /// CertAgent's (`StoreMarker.inspect`). With `create` it creates a missing store, marks a new, empty or earlier
    /// version's store as CertAgent's, and removes temporaries that crashed writers left; without it nothing is written.
    /// `masterKeyFile`, when directly inside `root`, counts as one of the store's own files.
    public init(root: String, webroots: [String], create: Bool = true, masterKeyFile: String? = nil) throws {
        let resolvedRoot = PathSafety.canonical(root)
        for webroot in webroots where PathSafety.isCanonical(resolvedRoot, inside: PathSafety.canonical(webroot)) {
            throw StoreError.insideWebroot(store: root, webroot: webroot)
        }
        self.root = root
        keys = StoreKeys(root: root)
        var extra: Set<String> = []
        if let masterKeyFile, PathText.parent(masterKeyFile) == root {
            let name = PathText.lastComponent(masterKeyFile)
            extra = [name, name + ".next"]
        }
        extraRootFiles = extra
        ownership = try StoreMarker.inspect(root: root, extraRootFiles: extra)
        guard create else {
            removedLeftovers = []
            return
        }
        if ownership == .missing { try AtomicFile.makeDirectory(root) }
        if ownership != .marked { try StoreMarker.write(root: root) }
        removedLeftovers = Self.removeAbandonedTemporaries(root: root, extraRootFiles: extra)
    }

    /// Opens the store `config` names (see `init(root:webroots:create:masterKeyFile:)`).
    public convenience init(config: AgentConfig, create: Bool = true) throws {
        try self.init(root: config.storagePath, webroots: config.allWebroots, create: create, masterKeyFile: config.masterKeyFile)
    }

    /// Removes `AtomicFile` temporaries of the layout's files that crashed writers left, in every directory of the
    /// layout (links and foreign entries are not walked into); returns them.
    static func removeAbandonedTemporaries(root: String, extraRootFiles: Set<String>) -> [String] {
        var removed: [String] = []
        func sweep(_ directory: String, _ level: StoreLayout.Level) {
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let path = directory + "/" + entry
                switch StoreLayout.entry(entry, in: level, extraRootFiles: level == .root ? extraRootFiles : []) {
                case .temporary:
                    if AtomicFile.isAbandonedTemporary(path), unlink(path) == 0 { removed.append(path) }
                case .directory(let below):
                    var info = stat()
                    if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { sweep(path, below) }
                default:
                    continue
                }
            }
        }
        sweep(root, .root)
        return removed
    }

    // MARK: Certificates

    /// The directory holding all versions of certificate `name`.
    public func certificateDirectory(_ name: String) -> String { keys.certificate(name) }

    /// The journal of challenge files published for certificate `name` and not yet removed.
    public func challengeJournal(_ name: String) -> String { keys.challengeJournal(name) }

    /// The current version's files (stable paths through the `current` link), or nil before the first issuance or
    /// when the link is not a link to one of the certificate's versions.
    public func currentFiles(_ name: String) -> CertificateFiles? { linkedFiles(name, link: "current") }

    /// The version before the current one, if kept.
    public func previousFiles(_ name: String) -> CertificateFiles? { linkedFiles(name, link: "previous") }

    private func linkedFiles(_ name: String, link: String) -> CertificateFiles? {
        guard (try? linkedVersion(name, link: link)) != nil else { return nil }
        return CertificateFiles(directory: keys.link(link, of: name))
    }

    /// The version directory the link `current` (or `previous`) of certificate `name` points at, resolved here rather
    /// than by the file system: the link must be a symbolic link to `versions/<id>` and that a real directory. Nil
    /// when there is no such link; `StoreFileError` when it is something else (never followed then).
    public func linkedVersion(_ name: String, link: String = "current") throws -> CertificateFiles? {
        let path = keys.link(link, of: name)
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileSystemError("inspect", path: path)
        }
        guard info.st_mode & S_IFMT == S_IFLNK else {
            throw StoreFileError.unexpectedKind(path: path, found: StoreFileReader.kindName(info.st_mode), expected: "a symbolic link to a version")
        }
        let target = StoreFileReader.linkTarget(path)
        guard let version = Self.versionName(linkTarget: target) else {
            throw StoreFileError.badVersionLink(path: path, target: target)
        }
        let directory = keys.version(version, of: name)
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw StoreFileError.badVersionLink(path: path, target: target)
        }
        return CertificateFiles(directory: directory)
    }

    /// The version's name when `target` is a link target the store writes (`versions/<id>`), else nil.
    static func versionName(linkTarget target: String) -> String? {
        let parts = target.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == StoreLayout.versions else { return nil }
        let version = String(parts[1])
        guard StoreLayout.isPlainName(version) else { return nil }
        return version
    }

    /// The bytes of the store file at `path` (below `root`), never following a symbolic link; nil when missing.
    public func read(_ path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        try StoreFileReader.read(path, root: root, limit: limit)
    }

    /// Writes `material` into a new staging directory of certificate `name` and returns its files (not yet current).
    public func stage(_ material: CertificateMaterial, for name: String, now: Date = Date()) throws -> CertificateFiles {
        let versions = keys.versions(name)
        try AtomicFile.makeDirectory(versions)
        removeAbandonedStaging(in: versions)
        let staging = keys.version(StoreLayout.stagingPrefix + Self.versionID(now), of: name)
        try AtomicFile.makeDirectory(staging)
        let files = CertificateFiles(directory: staging)
        do {
            try AtomicFile.write(material.privateKeyPEM, to: files.privateKey)
            try AtomicFile.write(material.csrPEM, to: files.csr)
            try AtomicFile.write(material.certificatePEM, to: files.certificate)
            try AtomicFile.write(material.chainPEM, to: files.chain)
            try AtomicFile.write(material.fullChainPEM, to: files.fullChain)
            if let facts = material.facts { try AtomicFile.write(try StoreJSON.encode(facts), to: StoreKeys.issuanceFacts(in: files)) }
        } catch {
            discard(files)
            throw error
        }
        return files
    }

    /// Makes a verified staged version current; the version it replaces becomes `previous`; older ones are removed.
    @discardableResult
    public func commit(_ staged: CertificateFiles, for name: String) throws -> CertificateFiles {
        let stagedName = PathText.lastComponent(staged.directory)
        guard stagedName.hasPrefix(StoreLayout.stagingPrefix) else {
            throw StoreError.notStaged(path: staged.directory)
        }
        let versionName = String(stagedName.dropFirst(StoreLayout.stagingPrefix.count))
        let version = keys.version(versionName, of: name)
        guard rename(staged.directory, version) == 0 else { throw FileSystemError("rename", path: staged.directory) }
        AtomicFile.syncDirectory(keys.versions(name))
        // Only a link the store wrote is kept as `previous`: anything else `current` held is dropped, never followed.
        let replaced = (try? FileManager.default.destinationOfSymbolicLink(atPath: keys.link("current", of: name))).flatMap(Self.versionName(linkTarget:))
        try swapLink(keys.link("current", of: name), to: StoreKeys.linkTarget(version: versionName))
        if let replaced { try swapLink(keys.link("previous", of: name), to: StoreKeys.linkTarget(version: replaced)) }
        pruneVersions(of: name)
        return CertificateFiles(directory: keys.link("current", of: name))
    }

    /// Removes a staged version that failed verification.
    public func discard(_ staged: CertificateFiles) {
        try? FileManager.default.removeItem(atPath: staged.directory)
    }

    /// Points `link` at `target` atomically (a new link renamed over the old one).
    func swapLink(_ link: String, to target: String) throws {
        let temporary = link + ".new"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw FileSystemError("create the link", path: temporary) }
        guard rename(temporary, link) == 0 else {
            unlink(temporary)
            throw FileSystemError("replace the link", path: link)
        }
        AtomicFile.syncDirectory(PathText.parent(link))
    }

    /// Keeps only the versions `current` and `previous` point at.
    private func pruneVersions(of name: String) {
        let kept = Set(["current", "previous"].compactMap {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: keys.link($0, of: name))).flatMap(Self.versionName(linkTarget:))
        })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: keys.versions(name))) ?? []
        for entry in entries where !entry.hasPrefix(".") && !kept.contains(entry) {
            try? FileManager.default.removeItem(atPath: keys.version(entry, of: name))
        }
    }

    private func removeAbandonedStaging(in versions: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: versions)) ?? []
        for entry in entries where entry.hasPrefix(StoreLayout.stagingPrefix) {
            try? FileManager.default.removeItem(atPath: versions + "/" + entry)
        }
    }

    static func versionID(_ date: Date) -> String {
        let random = Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        return TimeText.iso8601Basic(date) + "-" + random
    }

    // MARK: Accounts

    /// The directory for the account at the CA whose directory URL is `directoryURL` (one account per CA).
    public func accountDirectory(for directoryURL: String) -> String { keys.account(directoryURL: directoryURL) }

    /// The account record at the CA whose directory URL is `directoryURL`, nil when there is none (or it does not
    /// read). Never read through a link: a link in place of the record is refused here and replaced by the next write.
    public func accountRecord(directoryURL: String) -> AccountRecord? {
        guard let bytes = (try? read(keys.accountRecord(directoryURL: directoryURL))) ?? nil else { return nil }
        return try? StoreJSON.decode(AccountRecord.self, from: bytes)
    }

    /// Writes `record` as the account record at the CA whose directory URL is `directoryURL` (atomically, mode 0600).
    public func saveAccountRecord(_ record: AccountRecord, directoryURL: String) throws {
        try AtomicFile.makeDirectory(keys.account(directoryURL: directoryURL))
        try AtomicFile.write(try StoreJSON.encode(record), to: keys.accountRecord(directoryURL: directoryURL))
    }

    // MARK: Per-certificate documents

    /// Certificate `name`'s document of type `type`, read without following a link: fresh when there is none, and
    /// fresh with the reason when the file cannot be used (a link in its place is replaced by the next save).
    public func load<Document: CertificateDocument>(_ type: Document.Type, of name: String) -> LoadedDocument<Document> {
        let path = keys.document(Document.kind, of: name)
        do {
            guard let bytes = try StoreFileReader.readFile(path) else { return LoadedDocument(value: Document()) }
            return LoadedDocument(value: try StoreJSON.decode(Document.self, from: bytes))
        } catch {
            return LoadedDocument(value: Document(), problem: "cannot use \(path), starting afresh: \(error)")
        }
    }

    /// Writes `document` for certificate `name` atomically, mode 0600 (its directory made, 0700, when needed).
    public func save<Document: CertificateDocument>(_ document: Document, of name: String) throws {
        try AtomicFile.makeDirectory(keys.certificate(name))
        try AtomicFile.write(try StoreJSON.encode(document), to: keys.document(Document.kind, of: name), mode: 0o600)
    }

    /// Deletes certificate `name`'s document of `kind`, if any.
    public func removeDocument(_ kind: CertificateDocumentKind, of name: String) {
        try? FileManager.default.removeItem(atPath: keys.document(kind, of: name))
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
