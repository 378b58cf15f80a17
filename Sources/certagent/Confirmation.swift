import ACME
import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The confirmation a command that cannot be undone asks for: a y/N question on a terminal, or `--yes`. Without a
/// terminal and without `--yes` it refuses (exit 2), so a script never deletes or revokes by accident.
enum Confirmation {
    /// Returns when confirmed; otherwise exits, having changed nothing. `what` says what would be done, as a question.
    static func require(_ what: String, yes: Bool, command: String) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            printError("\(command) cannot be undone, so it asks for confirmation, but standard input is not a terminal: "
                       + "add --yes to confirm (nothing was changed)")
            throw ExitCode(2)
        }
        StandardStream.error("\(what) [y/N] ")
        let answer = readLine(strippingNewline: true)?.trimmingWhitespace().lowercased()
        guard answer == "y" || answer == "yes" else {
            printError("not confirmed: nothing was changed")
            throw ExitCode(1)
        }
    }
}
