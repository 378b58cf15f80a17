/// Names of sealed secrets, as the config refers to them (`certagent secret set NAME`).
public enum SecretName {
    /// The rule, for messages.
    public static let rule = "1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-'"

    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || "._-".unicodeScalars.contains(scalar)
        }
    }
}
