/// What an installation did, for the log.
public struct InstallReport: Sendable, Equatable {
    /// Targets replaced with new content (atomically).
    public var written: [String] = []
    /// Targets whose content was already identical and were left in place (same inode, same mtime).
    public var unchanged: [String] = []
    /// Unchanged targets whose owner, group or mode had to be corrected in place.
    public var permissionsCorrected: [String] = []
    /// True when the reload command ran and succeeded.
    public var reloaded: Bool = false

    public init(written: [String] = [], unchanged: [String] = [], permissionsCorrected: [String] = [], reloaded: Bool = false) {
        self.written = written
        self.unchanged = unchanged
        self.permissionsCorrected = permissionsCorrected
        self.reloaded = reloaded
    }

    /// True when some target's content changed, so the server must reload to serve it.
    public var changed: Bool { !written.isEmpty }
}
