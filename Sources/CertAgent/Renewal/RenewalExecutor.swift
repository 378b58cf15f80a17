import Dispatch
import Synchronization

/// Where the scheduler runs renewal jobs: jobs block (network, files), so they run off the scheduler's queue.
public protocol RenewalExecutor: Sendable {
    func execute(_ job: @escaping @Sendable () -> Void)
}

/// Runs each job on a concurrent Dispatch queue. The scheduler bounds how many are submitted at once.
public struct DispatchRenewalExecutor: RenewalExecutor {
    public let queue: DispatchQueue

    public init(queue: DispatchQueue = DispatchQueue(label: "certagent.renewal.work", qos: .utility, attributes: .concurrent)) {
        self.queue = queue
    }

    public func execute(_ job: @escaping @Sendable () -> Void) { queue.async(execute: job) }
}

/// Holds jobs until the test runs them: makes concurrency observable without threads.
public final class ManualRenewalExecutor: RenewalExecutor {
    private let jobs = Mutex<[@Sendable () -> Void]>([])

    public init() {}

    /// Jobs submitted and not yet run.
    public var pendingCount: Int { jobs.withLock { $0.count } }

    public func execute(_ job: @escaping @Sendable () -> Void) { jobs.withLock { $0.append(job) } }

    /// Runs the oldest pending job; false when there was none.
    @discardableResult
    public func runNext() -> Bool {
        let job: (@Sendable () -> Void)? = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        job?()
        return job != nil
    }

    /// Runs jobs (including those they cause to be submitted) until none is left; returns how many ran.
    @discardableResult
    public func runAll() -> Int {
        var count = 0
        while runNext() { count += 1 }
        return count
    }
}
