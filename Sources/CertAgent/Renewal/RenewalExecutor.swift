import Dispatch

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
