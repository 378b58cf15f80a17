import FoundationEssentials

/// Where renewal jitter comes from: injected so random choices (RFC 9773 §4.2's random time in the window,
/// the lifetime rule's jitter) are reproducible in tests.
public protocol RandomSource: Sendable {
    /// A uniformly distributed number in [0, 1).
    func fraction() -> Double
}

/// The system's random generator.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func fraction() -> Double { Double.random(in: 0..<1) }
}
