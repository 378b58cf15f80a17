import ACME

/// Text for the terminal, a last line of defence: every control character but the line feed (CR, ESC, NUL, DEL,
/// C1 …) is escaped as `UntrustedText` does, so nothing printed can move the cursor, recolour or clear the screen.
/// Line feeds stay: multi-line messages are laid out by this program. Text from outside is escaped and bounded where
/// it enters a message (`UntrustedText`); this only catches what slipped through.
public enum TerminalText {
    /// The longest line kept, in bytes.
    public static let maximumLineBytes = 65_536

    /// `text` with every control character but `\n` escaped, each line bounded.
    public static func safe(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { UntrustedText.display(String($0), limit: maximumLineBytes) }
            .joined(separator: "\n")
    }
}
