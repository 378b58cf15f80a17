import ArgumentParser
import CertAgent
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C or SIGTERM during `issue`, `renew` or `init`: the clock stops, which aborts the HTTP request in flight and
/// every wait within about a second, so an order is abandoned and its challenge files removed before the command
/// exits (instead of dying with tokens left in the webroot, or waiting on a CA that never answers). A second signal
/// ends the process at once. Shared by the threads of a batch (`RenewalBatch`): its signal sources are touched only by
/// `init` and `deinit`, the signal received is atomic.
final class Interruption: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received: ReceivedSignal

    init(stopping clock: StoppableClock) {
        let received = ReceivedSignal()
        self.received = received
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if clock.isStopped {
                    signal(number, SIG_DFL)
                    raise(number)
                }
                received.record(number)
                clock.stop()
            }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// Whether SIGINT or SIGTERM came.
    var happened: Bool { received.number != nil }

    /// When a signal came and left work undone — `cutShort` (certificates whose work it interrupted) and `notStarted`
    /// — says so and exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). Returns when no signal
    /// came, or when everything had finished anyway.
    func exitIfInterrupted(cutShort: [String], notStarted: [String]) throws {
        guard let number = received.number, !(cutShort.isEmpty && notStarted.isEmpty) else { return }
        var message = "✗ interrupted by \(Self.name(of: number))"
        if !cutShort.isEmpty {
            message += ": \(cutShort.joined(separator: ", ")) not finished (nothing replaced, no challenge file left)"
        }
        if !notStarted.isEmpty {
            message += (cutShort.isEmpty ? ": " : "; ") + "\(notStarted.joined(separator: ", ")) not started"
        }
        printError(message)
        throw ExitCode(128 + number)
    }

    private static func name(of number: Int32) -> String {
        switch number {
        case SIGINT: return "SIGINT (Ctrl-C)"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(number)"
        }
    }
}

/// The first stop signal received, set from the signal handler's queue.
private final class ReceivedSignal: Sendable {
    private let value = Atomic<Int32>(0)

    func record(_ number: Int32) {
        _ = value.compareExchange(expected: 0, desired: number, ordering: .acquiringAndReleasing)
    }

    var number: Int32? {
        let number = value.load(ordering: .acquiring)
        return number == 0 ? nil : number
    }
}
