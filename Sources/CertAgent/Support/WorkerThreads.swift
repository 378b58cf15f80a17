import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Threads of their own for work that blocks (network, files, key generation), so that N jobs really run N at once.
///
/// Dispatch's global pool on Linux starts about one thread per core and adds one a second while they block: four
/// blocking renewals on a 2-core machine would start two now, the third a second later. These threads start at once.
public enum WorkerThreads {
    /// Runs `body(0) … body(count - 1)` on at most `width` threads made for it, each taking the next index as it
    /// finishes one (so at most `width` run at once, in index order of starting), and returns when all have returned.
    public static func forEach(count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Atomic<Int>(0)
        let threads = min(max(width, 1), count)
        let workers = (0..<threads).map { _ in
            spawn {
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < count else { return }
                    body(index)
                }
            }
        }
        for worker in workers { worker.join() }
    }

    /// Runs `job` on a new detached thread (or, if no thread can be made, on the caller's).
    public static func detach(_ job: @escaping @Sendable () -> Void) {
        spawn(job).detach()
    }

    /// A started thread: join or detach it exactly once.
    struct Started {
        let thread: pthread_t?
        func join() { if let thread { pthread_join(thread, nil) } }
        func detach() { if let thread { pthread_detach(thread) } }
    }

    /// Starts `job` on a new thread; when none can be made, runs it on the caller's thread before returning.
    static func spawn(_ job: @escaping @Sendable () -> Void) -> Started {
        let box = Unmanaged.passRetained(JobBox(job))
        var thread = pthread_t()
        let made = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<JobBox>.fromOpaque(context).takeRetainedValue().job()
            return nil
        }, box.toOpaque())
        guard made == 0 else {
            box.takeRetainedValue().job()
            return Started(thread: nil)
        }
        return Started(thread: thread)
    }

    private final class JobBox {
        let job: @Sendable () -> Void
        init(_ job: @escaping @Sendable () -> Void) { self.job = job }
    }
}

/// Runs each scheduler job on a thread of its own (`WorkerThreads`): the scheduler bounds how many run at once
/// (`maxConcurrentRenewals`), and each starts at once rather than when Dispatch's pool gets round to it.
public struct ThreadRenewalExecutor: RenewalExecutor {
    public init() {}

    public func execute(_ job: @escaping @Sendable () -> Void) { WorkerThreads.detach(job) }
}
