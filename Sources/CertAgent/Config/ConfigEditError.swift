/// Why the config file could not be edited (nothing was written).
public enum ConfigEditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No entry of `certificates` has this name.
    case noSuchCertificate(name: String, file: String)
    /// Removing it would leave `certificates` empty, which no config may be.
    case onlyCertificate(name: String, file: String)
    /// The text is not a config object with a `certificates` array as the edit needs, or the edit would not have
    /// given the document expected.
    case unexpectedShape(file: String, reason: String)
    /// The file changed between reading and rewriting it.
    case changedMeanwhile(file: String)
    /// The file could not be read again or written.
    case fileSystem(file: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchCertificate(let name, let file): "\(file) has no certificate named \(name)"
        case .onlyCertificate(let name, let file):
            "\(name) is the only certificate in \(file), and a config lists at least one: add the next site first, "
                + "or stop the daemon and remove the config and the store yourself"
        case .unexpectedShape(let file, let reason): "cannot edit \(file): \(reason); it was not changed"
        case .changedMeanwhile(let file): "\(file) was changed by someone else while it was being edited: it was left as it is, try again"
        case .fileSystem(let file, let reason): "cannot write \(file): \(reason); it was not changed"
        }
    }
}
