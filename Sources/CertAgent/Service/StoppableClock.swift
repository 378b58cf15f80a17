import ACME
import CurlHTTP
import Dispatch
import FoundationEssentials
import Synchronization

/// The daemon's and the commands' clock: real time, with waits that end at once when asked to stop, and the HTTP
/// requests of the session aborted (`httpCancellation`), so an order is abandoned within a second or so of SIGTERM or
/// Ctrl-C whatever the network does (its challenge files removed on the way out).
public final class StoppableClock: AgentClock {
    private let stopped = Atomic<Bool>(false)
    /// One semaphore per wait in progress: `stop()` signals them all.
    private let waits = Mutex<[DispatchSemaphore]>([])
    /// Cancelled by `stop()`: the session's HTTP transport aborts the request in flight and sends no other.
    public let httpCancellation = CurlHTTPCancellation()

    public init() {}

    public func now() -> Date { Date() }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Ends every current and future wait, and every HTTP request of the session, with `CancellationError`.
    public func stop() {
        stopped.store(true, ordering: .releasing)
        httpCancellation.cancel()
        for wait in waits.withLock({ waits in defer { waits = [] }; return waits }) { wait.signal() }
    }

    public func sleep(seconds: Double) throws {
        if seconds > 0 {
            let wait = DispatchSemaphore(value: 0)
            // Registered under the lock that `stop()` empties the list with: a wait begun after a stop sees `isStopped`.
            let registered = waits.withLock { waits in
                guard !isStopped else { return false }
                waits.append(wait)
                return true
            }
            if registered {
                _ = wait.wait(wallTimeout: .now() + min(seconds, 1e9))   // 1e9 s: about 31 years, within Dispatch's range
                waits.withLock { waits in waits.removeAll { $0 === wait } }
            }
        }
        if isStopped { throw CancellationError() }
    }
}
