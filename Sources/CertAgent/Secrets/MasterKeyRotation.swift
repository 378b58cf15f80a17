import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What `MasterKeyRotation.recover` found and did.
public struct RecoveredMasterKey: Sendable {
    /// The key that opens every protected file now: use it.
    public let key: MasterKey
    /// A line for the log when something was done or needs the administrator (never contains key material).
    public let notice: String?
}

/// Replaces the master key and re-encrypts every file it protects (the secrets file and the account key files),
/// crash-safely.
///
/// Steps, each durable before the next (`RotationFileOperations`):
/// 1. the new key is written to `master.key.next` (0600);
/// 2. each protected file is re-encrypted to `<file>.next`;
/// 3. each `<file>.next` is renamed over `<file>`;
/// 4. `master.key.next` is renamed over `master.key`.
///
/// After a crash at any point, every protected file opens with the old key (in `master.key`) or the new one (in
/// `master.key.next`), and `recover` — to be called at every start, after `MasterKeySource.load` and before any
/// secret is used — finishes the rotation: files still under the old key are re-encrypted, staged copies renamed
/// over, and the new key moved into place, leaving everything under one key and no `.next` file behind.
///
/// With a systemd credential the key cannot be replaced in place: `rotate(_:)` refuses, and `rotate(_:to:)` with a
/// key the administrator generated re-encrypts everything to it, leaving it in `master.key.next` (used from there,
/// with a notice at every start) until the credential is pointed at it; the first start with the new credential
/// removes `master.key.next`.
///
/// Not locked against a second process (a running daemon and a CLI) writing the same files at once: run it with the
/// daemon stopped.
public struct MasterKeyRotation: Sendable {
    /// Where the key is loaded from (and `master.key.next` staged).
    public let source: MasterKeySource
    /// The files to re-encrypt. Missing ones are skipped.
    public let files: [ProtectedFile]
    let operations: any RotationFileOperations

    public init(source: MasterKeySource, files: [ProtectedFile],
                operations: any RotationFileOperations = SystemRotationFileOperations()) {
        self.source = source
        self.files = files
        self.operations = operations
    }

    /// Finishes an interrupted rotation (or tidies stray staged files) and returns the key to use.
    public func recover(_ loaded: LoadedMasterKey) throws -> RecoveredMasterKey {
        try removeAbandonedTemporaries()
        guard let pending = loaded.pendingKey else {
            try reencrypt(from: nil, to: loaded.key)
            return RecoveredMasterKey(key: loaded.key, notice: nil)
        }
        if pending.isSameKey(as: loaded.key) {
            try reencrypt(from: nil, to: loaded.key)
            try operations.remove(source.pendingKeyFile)
            return RecoveredMasterKey(key: loaded.key, notice: "master key rotation complete: \(source.pendingKeyFile) "
                + "was the same key as the \(loaded.origin) and has been removed")
        }
        try reencrypt(from: loaded.key, to: pending)
        switch loaded.origin {
        case .keyFile(let path):
            try operations.rename(source.pendingKeyFile, to: path)
            return RecoveredMasterKey(key: pending, notice: "finished an interrupted master key rotation: "
                + "every protected file is now sealed with \(pending), now in \(path)")
        case .systemdCredential(let path):
            return RecoveredMasterKey(key: pending, notice: "the protected files are sealed with \(pending) from "
                + "\(source.pendingKeyFile), not with the \(loaded.key) in the systemd credential \(path): "
                + "point LoadCredential=\(MasterKeySource.credentialName): at \(source.pendingKeyFile) (or a copy) and restart")
        }
    }

    /// Rotates a key file to a new random key; returns the new key. Refused for a systemd credential
    /// (`MasterKeyError.rotationNeedsExplicitKey`): use `rotate(_:to:)`.
    @discardableResult
    public func rotate(_ loaded: LoadedMasterKey) throws -> MasterKey {
        if case .systemdCredential(let path) = loaded.origin { throw MasterKeyError.rotationNeedsExplicitKey(credential: path) }
        return try rotate(loaded, to: try MasterKey.generate())
    }

    /// Re-encrypts everything to `newKey`. For a key file, `newKey` then replaces it; for a systemd credential it stays
    /// in `master.key.next` until the credential is switched (see the type's note). Returns the key now in use.
    @discardableResult
    public func rotate(_ loaded: LoadedMasterKey, to newKey: MasterKey) throws -> MasterKey {
        if case .systemdCredential = loaded.origin, let pending = loaded.pendingKey, !pending.isSameKey(as: loaded.key) {
            throw MasterKeyError.fileOpensWithNoKey(path: source.pendingKeyFile, detail: "a previous rotation to \(pending) "
                + "still waits for the systemd credential to be switched to it; switch it and restart before rotating again")
        }
        let current = try recover(loaded).key
        try operations.write(newKey.material.bytes, to: source.pendingKeyFile)
        try reencrypt(from: current, to: newKey)
        if case .keyFile(let path) = loaded.origin { try operations.rename(source.pendingKeyFile, to: path) }
        return newKey
    }

    /// Brings every file under `new`: first stages every re-encrypted file, then renames them all into place.
    /// With `old` nil only stray staged files are dealt with, and files that `new` does not open are left alone.
    private func reencrypt(from old: MasterKey?, to new: MasterKey) throws {
        var staged: [ProtectedFile] = []
        for file in files {
            let exists = access(file.path, F_OK) == 0
            let stagedExists = access(file.stagingPath, F_OK) == 0
            if exists, file.opens(file.path, with: new) {
                if stagedExists { try operations.remove(file.stagingPath) }
                continue
            }
            if stagedExists {
                if file.opens(file.stagingPath, with: new) {
                    staged.append(file)
                    continue
                }
                if old != nil || !exists { try operations.remove(file.stagingPath) }
            }
            guard exists, let old else { continue }
            let bytes: [UInt8]
            do {
                bytes = try file.reencrypted(from: old, to: new)
            } catch {
                throw MasterKeyError.fileOpensWithNoKey(path: file.path,
                                                        detail: "neither \(old) nor \(new) opens the \(file) (\(error))")
            }
            try operations.write(bytes, to: file.stagingPath)
            staged.append(file)
        }
        for file in staged { try operations.rename(file.stagingPath, to: file.path) }
    }

    /// Removes `AtomicFile` temporaries a crash may have left beside `master.key.next` and the staged files.
    private func removeAbandonedTemporaries() throws {
        for target in [source.pendingKeyFile] + files.map(\.stagingPath) {
            let directory = PathText.parent(target)
            let prefix = "." + PathText.lastComponent(target) + ".tmp-"
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
            for entry in entries where entry.hasPrefix(prefix) {
                try operations.remove(directory + "/" + entry)
            }
        }
    }
}
