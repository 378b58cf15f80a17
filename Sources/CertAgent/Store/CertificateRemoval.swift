import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What removing a certificate's files from the store did.
public struct CertificateRemovalReport: Sendable, Equatable {
    /// The certificate's directory (`<store>/certificates/<name>`).
    public var directory: String
    /// True when the directory is gone.
    public var removed: Bool
    /// Entries that are not CertAgent's (or not of the kind the layout has there): left in place, unread.
    public var leftInPlace: [String]
}

extension CertificateStore {
    /// The certificates the store holds files for (`certificates/<name>/` directories — not links, not foreign names),
    /// sorted.
    public func storedCertificateNames() -> [String] {
        let directory = keys.certificates
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { entry in
            guard StoreLayout.entry(entry, in: .certificates) == .directory(.certificate) else { return false }
            var info = stat()
            return lstat(directory + "/" + entry, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }.sorted()
    }

    /// The revocation noted for certificate `name`'s current certificate (by `certagent revoke`), if that is the one
    /// noted — read without following links; nil when none is known.
    public func knownRevocation(_ name: String) -> RevocationNote? {
        guard let files = try? linkedVersion(name), let leaf = try? StoredCertificateState.readLeaf(files),
              let bytes = try? read(StoreKeys.revocationNote(in: files)),
              let note = try? StoreJSON.decode(RevocationNote.self, from: bytes),
              note.serialHex == leaf.serialHex else { return nil }
        return note
    }

    /// Removes certificate `name`'s directory: only what CertAgent's layout (`StoreLayout`) puts there — version
    /// directories and their files, the `current`/`previous` links (never followed: removing a link leaves its target
    /// alone), the renewal record and journals, temporaries — walking each directory through a descriptor opened without
    /// following links. Anything else is left, listed, with the directories holding it. The issuance lock file goes
    /// last (the caller holds the lock while this runs).
    public func removeCertificateFiles(_ name: String) throws -> CertificateRemovalReport {
        let directory = certificateDirectory(name)
        var report = CertificateRemovalReport(directory: directory, removed: false, leftInPlace: [])
        guard StoreLayout.entry(name, in: .certificates) == .directory(.certificate) else {
            throw StoreFileError.outsideStore(path: directory, root: root)
        }
        let parent = open(keys.certificates, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard parent >= 0 else {
            if errno == ENOENT { report.removed = true; return report }
            throw FileSystemError("open", path: keys.certificates)
        }
        defer { close(parent) }
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { report.removed = true; return report }
            throw FileSystemError("inspect", path: directory)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            report.leftInPlace.append(directory + " (" + StoreFileReader.kindName(info.st_mode) + ")")
            return report
        }
        let empty = Self.removeLayoutEntries(in: parent, name: name, path: directory, level: .certificate,
                                             keepLast: StoreLayout.issuanceLockFile, leftInPlace: &report.leftInPlace)
        if empty {
            guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else { throw FileSystemError("remove", path: directory) }
            AtomicFile.syncDirectory(keys.certificates)
            report.removed = true
        }
        return report
    }

    /// Removes the layout's entries of the directory `name` in `parent` (a `level` directory at `path`), and
    /// `keepLast` after everything else; returns true when the directory is then empty.
    private static func removeLayoutEntries(in parent: Int32, name: String, path: String, level: StoreLayout.Level,
                                            keepLast: String?, leftInPlace: inout [String]) -> Bool {
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            leftInPlace.append(path + " (" + String(cString: strerror(errno)) + ")")
            return false
        }
        defer { close(descriptor) }
        var empty = true
        var entries = listEntries(descriptor)
        if let keepLast, let index = entries.firstIndex(of: keepLast) { entries.append(entries.remove(at: index)) }
        for entry in entries {
            let entryPath = path + "/" + entry
            var info = stat()
            guard fstatat(descriptor, entry, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            let removed: Bool
            switch StoreLayout.entry(entry, in: level) {
            case .directory(let below) where kind == S_IFDIR:
                removed = removeLayoutEntries(in: descriptor, name: entry, path: entryPath, level: below, keepLast: nil, leftInPlace: &leftInPlace)
                    && unlinkat(descriptor, entry, AT_REMOVEDIR) == 0
            case .file, .temporary, .versionLink:
                // A regular file, or a link where one belongs (unlinking a link never touches what it points at).
                removed = (kind == S_IFREG || kind == S_IFLNK) && unlinkat(descriptor, entry, 0) == 0
            default:
                removed = false
            }
            if !removed {
                empty = false
                if kind != S_IFDIR || StoreLayout.entry(entry, in: level) == nil { leftInPlace.append(entryPath) }
            }
        }
        if !empty { return false }
        fsync(descriptor)
        return true
    }

    /// The names in the directory open as `descriptor` (not `.` and `..`).
    private static func listEntries(_ descriptor: Int32) -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0 else { return [] }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return []
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
