/// A certificate whose configured `profile` is not the one its current version was ordered under: like a changed
/// name list, a reason to renew now (`RenewalReason.profileChanged`), so the change takes effect without waiting for
/// the old certificate's renewal time.
public struct ProfileChange: Sendable, Equatable {
    /// The profile the config names now (nil: none, the CA's default).
    public var configured: String?
    /// The profile the current version was ordered under (nil: none).
    public var issued: String?

    public init(configured: String?, issued: String?) {
        self.configured = configured
        self.issued = issued
    }

    /// The change between `configured` and the profile recorded in `facts` (the current version's `IssuanceFacts`),
    /// or nil when they agree.
    ///
    /// A version without facts (written before CertAgent recorded them) was ordered under an unknown profile: unknown
    /// is not a change, so it is not renewed early for that (it would renew every certificate of an older store at
    /// once on upgrade, for nothing when the profile is the one it already has). The next renewal records the profile.
    ///
    /// With `primaryDirectoryURL`, a version a fallback CA issued is not a change either: a fallback orders under the
    /// CA's default when it does not offer the profile, and the next ordinary renewal goes to the primary anyway.
    public static func between(configured: String?, facts: IssuanceFacts?, primaryDirectoryURL: String? = nil) -> ProfileChange? {
        guard let facts, facts.profile != configured else { return nil }
        if let primaryDirectoryURL, facts.directoryURL != primaryDirectoryURL { return nil }
        return ProfileChange(configured: configured, issued: facts.profile)
    }
}
