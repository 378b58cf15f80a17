/// Trimming as Foundation's `trimmingCharacters(in:)` does it (by Unicode scalar), for the modules of this package,
/// which import FoundationEssentials only.
extension StringProtocol {
    /// The text without the leading and trailing scalars for which `isTrimmed` is true.
    package func trimming(where isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }), let last = scalars.lastIndex(where: { !isTrimmed($0) }) else {
            return ""
        }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }

    /// Without leading and trailing spaces and tabs (`CharacterSet.whitespaces`: Unicode space separators and tab).
    package func trimmingWhitespace() -> String {
        trimming(where: Self.isWhitespace)
    }

    /// Without leading and trailing whitespace and line breaks (`CharacterSet.whitespacesAndNewlines`).
    package func trimmingWhitespaceAndNewlines() -> String {
        trimming { Self.isWhitespace($0) || Self.isNewline($0) }
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator
    }

    private static func isNewline(_ scalar: Unicode.Scalar) -> Bool {
        (0x0A...0x0D).contains(scalar.value) || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
