import Synchronization

/// A mutual-exclusion lock that copies of a value type share (a `Mutex` cannot be stored in a copyable struct).
public final class SharedLock: Sendable {
    private let mutex = Mutex(())

    public init() {}

    /// Runs `body` while holding the lock.
    public func withLock<Result: Sendable, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try mutex.withLock { _ throws(Failure) -> Result in try body() }
    }
}
