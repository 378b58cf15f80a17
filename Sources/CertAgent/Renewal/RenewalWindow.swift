import ACME
import FoundationEssentials

/// A span of time in which to renew: the CA's suggested window (RFC 9773 §4.2 `suggestedWindow`).
public struct RenewalWindow: Codable, Sendable, Equatable, CustomStringConvertible {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = max(start, end)
    }

    public var description: String { "\(TimeText.human(start)) – \(TimeText.human(end))" }
}
