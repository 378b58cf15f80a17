import Foundation
import Synchronization

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

/// A reproducible pseudo-random sequence (SplitMix64) from a seed: many draws, same every run.
public final class SeededRandomSource: RandomSource {
    private let state: Mutex<UInt64>

    public init(seed: UInt64) { state = Mutex(seed) }

    public func fraction() -> Double {
        let bits = state.withLock { state -> UInt64 in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return Double(bits >> 11) * 0x1p-53  // 53 random bits: always below 1
    }
}

/// Returns the given fractions in order, starting again after the last: for tests that need exact values.
/// Each value is clamped into [0, 1).
public final class ScriptedRandomSource: RandomSource {
    private let values: [Double]
    private let index = Mutex(0)

    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "a scripted random source needs at least one value")
        self.values = values.map { min(max($0, 0), 1.0.nextDown) }
    }

    /// How many fractions have been drawn so far.
    public var draws: Int { index.withLock { $0 } }

    public func fraction() -> Double {
        index.withLock { index in
            defer { index += 1 }
            return values[index % values.count]
        }
    }
}
