import CertAgent
import FoundationEssentials
import Synchronization

/// The certificates of one `issue`, `renew` or `init`, worked on up to `maxConcurrentRenewals` at once (each on a
/// thread of its own, all through the command's one renewal service: one account, one nonce pool, reused
/// connections). Each certificate's report is printed whole as it finishes (`BatchOutput`); one that fails never stops
/// the others. After Ctrl-C or SIGTERM no certificate starts, and those in flight end as `interrupted` (their orders
/// abandoned, their challenge files removed).
final class RenewalBatch: Sendable {
    /// What a certificate's work came to, beside its report.
    enum Result: Sendable {
        /// A new certificate was stored.
        case changed
        /// Nothing new was stored (not due, obtained elsewhere, failed).
        case unchanged
        /// A stop cut the work short.
        case interrupted
    }

    /// Where the reports go.
    let output = BatchOutput.shared
    /// The most certificates worked on at once.
    let width: Int
    private let interruption: Interruption
    private let total: Int
    private let results = Mutex<[Int: (result: Result, report: CertificateReport)]>([:])
    private let startedAt = Date()

    init(context: RenewalCommandContext, total: Int) {
        self.interruption = context.interruption
        self.total = total
        self.width = max(1, min(context.session.config.maxConcurrentRenewals, total))
    }

    /// Runs `job` for each index `0..<total`, at most `width` at once; `job` writes its certificate's lines into the
    /// report it is given, which is printed whole when it returns.
    func run(_ job: @escaping @Sendable (_ index: Int, _ report: inout CertificateReport) -> Result) {
        output.begin(total: total)
        WorkerThreads.forEach(count: total, width: width) { [self] index in
            guard !interruption.happened else { return }   // not started
            output.started()
            var report = CertificateReport()
            let result = job(index, &report)
            results.withLock { $0[index] = (result, report) }
            output.finished(report)
        }
        output.end()
    }

    private func indices(where predicate: ((result: Result, report: CertificateReport)) -> Bool) -> [Int] {
        results.withLock { results in results.filter { predicate($0.value) }.keys.sorted() }
    }

    /// The certificates (by index) that got a new certificate.
    var changed: [Int] { indices { if case .changed = $0.result { true } else { false } } }
    /// The certificates whose report told a failure (on standard error).
    var failed: [Int] { indices { $0.report.failed } }
    /// The certificates whose work a stop cut short.
    var interrupted: [Int] { indices { if case .interrupted = $0.result { true } else { false } } }
    /// The certificates not started because a stop came first.
    var notStarted: [Int] {
        let done = results.withLock { Set($0.keys) }
        return (0..<total).filter { !done.contains($0) }
    }

    /// The failure messages told, in the certificates' order.
    var failureMessages: [String] {
        results.withLock { results in
            results.keys.sorted().flatMap { index in results[index]!.report.lines.filter(\.toStandardError).map(\.text) }
        }
    }

    /// For a batch of several certificates that no stop cut short: one line saying what came of them, e.g.
    /// "8 certificates in 3.2 s, up to 4 at a time: 7 issued, 1 failed". `doneWord` names what `changed` did.
    func summarize(doneWord: String) {
        guard total > 1, interrupted.isEmpty, notStarted.isEmpty else { return }
        let failures = failed.count
        let changedCount = changed.count
        // A renewed certificate whose deployment failed counts as renewed and as failed.
        let others = total - changedCount - failed.filter { !changed.contains($0) }.count
        var parts = ["\(changedCount) \(doneWord)"]
        if failures > 0 { parts.append("\(failures) failed") }
        if others > 0 { parts.append("\(others) left as they were") }
        let seconds = (Date().timeIntervalSince(startedAt) * 10).rounded() / 10
        output.line("\(total) certificates in \(seconds) s, up to \(width) at a time: \(parts.joined(separator: ", "))")
    }
}
