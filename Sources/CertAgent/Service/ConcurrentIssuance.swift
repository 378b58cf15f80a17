import FoundationEssentials

/// What a renewal does when another certagent process holds the certificate's issuance lock.
public enum BusyCertificateHandling: Sendable {
    /// Give up at once with `RenewalOutcome.busy` (the daemon: its scheduler looks at the certificate again later).
    case skip
    /// Wait up to `maximumWait` seconds for the other process to finish (ending at once when the clock is stopped),
    /// calling `announce` once when the wait begins, then decide again under the lock (the commands: the admin asked
    /// for this certificate now, and the other process may well be getting it).
    case wait(maximumWait: TimeInterval, announce: @Sendable (CertificateBusy) -> Void)
}

/// Another certagent process stored a new certificate while this one was deciding or waiting for the issuance lock:
/// this one ordered nothing.
public struct ObtainedElsewhere: Sendable, CustomStringConvertible {
    public let name: String
    /// The process that last took the lock to order it, when it noted its PID.
    public let holderPID: Int32?
    public let serialHex: String
    public let notAfter: Date

    public init(name: String, holderPID: Int32?, serialHex: String, notAfter: Date) {
        self.name = name
        self.holderPID = holderPID
        self.serialHex = serialHex
        self.notAfter = notAfter
    }

    public var description: String {
        "\(name): issued meanwhile by another certagent process\(holderPID.map { " (pid \($0))" } ?? ""); nothing ordered"
    }
}
