import CertAgent
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C or SIGTERM during `issue`, `renew` or `init`: the clock stops, so an order being polled is abandoned and its
/// challenge files removed before the command exits (instead of dying with tokens left in the webroot). A second
/// signal ends the process at once.
final class Interruption {
    private let sources: [any DispatchSourceSignal]

    init(stopping clock: StoppableClock) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if clock.isStopped {
                    signal(number, SIG_DFL)
                    raise(number)
                }
                clock.stop()
            }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
