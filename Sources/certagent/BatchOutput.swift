import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What one certificate's work prints, kept until it is done and then printed whole (`BatchOutput.finished`), so the
/// results of certificates done side by side never interleave.
struct CertificateReport {
    /// Each line (it may hold line breaks of its own) and whether it goes to standard error (`printError`).
    private(set) var lines: [(text: String, toStandardError: Bool)] = []
    /// Whether it reports a failure (a line on standard error).
    var failed: Bool { lines.contains { $0.toStandardError } }

    /// A line for standard output.
    mutating func print(_ text: String) { lines.append((text, false)) }

    /// A line for standard error, as `printError` writes it.
    mutating func printError(_ text: String) { lines.append((text, true)) }
}

/// The console of `issue`, `renew` and `init` while several certificates are worked on at once: each certificate's
/// result is printed whole as it finishes, lines from the work itself (waiting for another process) whole too, and —
/// on a terminal, for batches of more than `progressThreshold` certificates — a progress line that is overwritten in
/// place and cleared before anything else is printed. Nothing of the progress line is ever written when standard
/// output is not a terminal (a log file, a pipe, systemd).
final class BatchOutput: Sendable {
    private struct State {
        var total = 0
        var running = 0
        var done = 0
        var showsProgress = false
        var progressVisible = false
    }

    /// The one console of this process: every writer goes through it.
    static let shared = BatchOutput(isTerminal: isatty(STDOUT_FILENO) == 1)

    /// Batches of more certificates than this show a progress line on a terminal.
    static let progressThreshold = 5

    private let isTerminal: Bool
    private let state = Mutex(State())

    init(isTerminal: Bool) { self.isTerminal = isTerminal }

    /// A batch of `total` certificates begins.
    func begin(total: Int) {
        state.withLock { state in
            state = State(total: total, showsProgress: isTerminal && total > Self.progressThreshold)
            drawProgress(&state)
        }
    }

    /// The work on one certificate of the batch began.
    func started() {
        state.withLock { state in
            state.running += 1
            drawProgress(&state)
        }
    }

    /// The work on one certificate of the batch ended: its report is printed whole.
    func finished(_ report: CertificateReport) {
        state.withLock { state in
            state.running = max(0, state.running - 1)
            state.done += 1
            write(report.lines, &state)
            drawProgress(&state)
        }
    }

    /// A line printed whole, between certificates' reports (never inside one).
    func line(_ text: String, toStandardError: Bool = false) {
        state.withLock { state in
            write([(text, toStandardError)], &state)
            drawProgress(&state)
        }
    }

    /// The batch is over: the progress line goes, and later lines print as usual.
    func end() {
        state.withLock { state in
            clearProgress(&state)
            state.showsProgress = false
        }
    }

    // MARK: Writing, under the lock

    private func write(_ lines: [(text: String, toStandardError: Bool)], _ state: inout State) {
        clearProgress(&state)
        for line in lines {
            if line.toStandardError {
                fflush(nil)   // what came before on standard output shows first
                printError(line.text)
            } else {
                Swift.print(line.text)
            }
        }
        fflush(nil)
    }

    private func drawProgress(_ state: inout State) {
        guard state.showsProgress else { return }
        Swift.print("\r\u{1B}[K… \(state.done) of \(state.total) done, \(state.running) in progress", terminator: "")
        fflush(nil)
        state.progressVisible = true
    }

    private func clearProgress(_ state: inout State) {
        guard state.progressVisible else { return }
        Swift.print("\r\u{1B}[K", terminator: "")
        fflush(nil)
        state.progressVisible = false
    }
}
