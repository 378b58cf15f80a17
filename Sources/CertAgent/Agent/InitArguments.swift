/// `certagent init`'s flags checked before anything is written, each error naming the flag the admin typed (not the
/// config field it would become, which the admin never wrote).
public enum InitArguments {
    /// Why `--domain value` is not usable, in words that start with the flag; nil when it is fine (a DNS name, or an
    /// IP address in canonical form, as the config takes them).
    /// `--domain https://example.com/: give a name, not a URL (example.com)`.
    public static func domainProblem(_ value: String) -> String? {
        switch IPAddressEntry.read(value) {
        case .address: return nil
        case .problem(let problem): return "--domain \(value): \(problem)"
        case .notAnAddress: break
        }
        if let host = DomainName.host(inURL: value) { return "--domain \(value): give a name, not a URL (\(host))" }
        return DomainName.problem(with: value.lowercased()).map { "--domain \(value): \($0)" }
    }

    /// Why `--name value` is not usable as a certificate's name; nil when it is fine.
    public static func nameProblem(_ value: String) -> String? {
        let allowed = value.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || "._-".unicodeScalars.contains(scalar)
        }
        guard allowed, !value.isEmpty, value.utf8.count <= 64, !value.hasPrefix(".") else {
            return "--name \(value): must be 1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.' (it names a directory in the store)"
        }
        return nil
    }
}
