import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension MasterKey {
    /// Generates a new key and writes it (32 raw bytes) to `path`, mode 0600, refusing to replace any existing file:
    /// the key file a systemd credential (`LoadCredential=certagent-master-key:PATH`) can then be pointed at.
    public static func generate(writingTo path: String) throws -> MasterKey {
        let key = try MasterKey.generate()
        let directory = PathText.parent(path)
        guard access(path, F_OK) != 0 else {
            throw FileSystemError("write the new master key to", path: path, reason: "it already exists (refusing to replace a file that may hold a key)")
        }
        let staging = "\(path).new-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try AtomicFile.write(key.material.bytes, to: staging, mode: 0o600)
        defer { unlink(staging) }
        guard link(staging, path) == 0 else { throw FileSystemError("write the new master key to", path: path) }
        AtomicFile.syncDirectory(directory.isEmpty ? "." : directory)
        return key
    }
}

extension ProtectedFile {
    /// True when the file opens completely with `key` (a plain, unencrypted account key counts as opening too: a
    /// rotation encrypts it). A rotation should only start when every protected file passes this.
    public func isReadable(with key: MasterKey) -> Bool {
        if opens(path, with: key) { return true }
        if case .accountKey = self, let pem = try? AccountKeyFile.readPEM(path), !AccountKeyFile.isEncrypted(pem) {
            return (try? AccountKeyFile.decrypt(pem, path: path, masterKey: key)) != nil
        }
        return false
    }
}
