import ACME
import FoundationEssentials

/// Reads `directory` (one CA, or a list tried in order), the top-level `caFile` and `eab` (the first CA's), and
/// `fallbackAfterFailures`.
///
///     "directory": "letsencrypt"
///     "directory": ["https://acme.example/dir", {"url": "letsencrypt", "caFile": "/etc/…", "eab": {"kid": …, "hmacKeySecret": …}}]
///
/// Each entry is an https:// directory URL, a `KnownDirectory` name, or an object with `url` and its own `caFile` and
/// `eab`. The top-level `caFile` and `eab` belong to the first entry (as they did when `directory` was one URL), so
/// existing configs keep working; the first entry may not set them a second time.
extension ConfigLoader {
    /// The fewest and most consecutive failures `fallbackAfterFailures` may name.
    static let fallbackAfterFailuresRange: ClosedRange<Double> = 1...100

    /// The configured CAs in order (the primary first), or nil when something is wrong (every problem reported).
    static func readCertificateAuthorities(_ reader: inout FieldReader) -> (authorities: [CertificateAuthorityConfig], fallbackAfterFailures: Int?)? {
        let problemsBefore = reader.problems.count
        let topCAFile = reader.path("caFile")
        if let topCAFile, let problem = ReferencedFiles.caFileProblem(topCAFile) { reader.report("caFile", .string(topCAFile), problem) }
        let topBinding = readExternalAccountBinding(&reader)
        var authorities: [CertificateAuthorityConfig] = []
        var firstField = "directory"   // where the first CA's own settings are, for messages
        switch reader.raw("directory") {
        case nil:
            authorities = [CertificateAuthorityConfig(directoryURL: KnownDirectory.letsencrypt.url)]
        case .array(let items):
            if items.isEmpty { reader.report("directory", .array([]), "is empty: name at least one CA (an https:// directory URL or one of: \(knownDirectoryNames))") }
            var seen: [String: Int] = [:]
            firstField = "directory[0]"
            for (index, item) in items.enumerated() {
                let field = reader.fieldPath("directory") + "[\(index)]"
                guard let authority = readCertificateAuthority(item, field: field, reader: &reader) else { continue }
                if let earlier = seen[authority.directoryURL] {
                    reader.add(field: field, value: item.excerpt, message: "is the same CA as directory[\(earlier)]: list each CA once")
                    continue
                }
                seen[authority.directoryURL] = index
                authorities.append(authority)
            }
        case let value?:
            if let authority = readCertificateAuthority(value, field: reader.fieldPath("directory"), reader: &reader) { authorities = [authority] }
        }
        // The top-level `caFile` and `eab` are the first CA's.
        if var primary = authorities.first {
            if let topCAFile {
                if let own = primary.caFile {
                    reader.report("caFile", .string(topCAFile), "is set both here and as \(firstField).caFile (\(own)): set the first CA's caFile in one place")
                }
                primary.caFile = topCAFile
            }
            if let topBinding {
                if primary.externalAccountBinding != nil {
                    reader.report("eab", nil, "is set both here and as \(firstField).eab: set the first CA's external account binding in one place")
                }
                primary.externalAccountBinding = topBinding
            }
            authorities[0] = primary
        }
        var fallbackAfterFailures: Int?
        if let number = readPositiveNumber(&reader, "fallbackAfterFailures", range: fallbackAfterFailuresRange) {
            fallbackAfterFailures = Int(number)
            if authorities.count == 1 {
                reader.report("fallbackAfterFailures", .number(number),
                              "has nothing to fall back to: `directory` names one CA; list a second one to move to, e.g. \"directory\": [\"\(authorities[0].displayName)\", \"https://…\"]")
            }
        }
        guard reader.problems.count == problemsBefore, !authorities.isEmpty else { return nil }
        return (authorities, fallbackAfterFailures)
    }

    /// One entry of `directory` at `field`: a URL or known name, or an object `{url, caFile, eab}`.
    private static func readCertificateAuthority(_ value: JSONValue, field: String, reader: inout FieldReader) -> CertificateAuthorityConfig? {
        switch value {
        case .string(let text):
            guard let url = resolvedDirectoryURL(text, field: field, reader: &reader) else { return nil }
            return CertificateAuthorityConfig(directoryURL: url)
        case .object(let members):
            var entry = FieldReader(members, path: field)
            let text = entry.text("url", limit: FieldLimits.urlBytes, what: "an ACME directory URL", required: true)
            let url = text.flatMap { resolvedDirectoryURL($0, field: entry.fieldPath("url"), reader: &entry) }
            let caFile = entry.path("caFile")
            if let caFile, let problem = ReferencedFiles.caFileProblem(caFile) { entry.report("caFile", .string(caFile), problem) }
            let binding = readExternalAccountBinding(&entry)
            entry.reportUnknownFields()
            reader.absorb(entry)
            guard let url, entry.problems.isEmpty else { return nil }
            return CertificateAuthorityConfig(directoryURL: url, caFile: caFile, externalAccountBinding: binding)
        default:
            reader.add(field: field, value: value.excerpt,
                       message: "must be an https:// ACME directory URL, one of: \(knownDirectoryNames), an object {\"url\": …, \"caFile\": …, \"eab\": …} or a list of these, not \(value.kindName)")
            return nil
        }
    }

    /// `text` as a directory URL (a known name resolved), or nil with a problem reported at `field`.
    static func resolvedDirectoryURL(_ text: String, field: String, reader: inout FieldReader) -> String? {
        if let problem = FieldLimits.textProblem(text, limit: FieldLimits.urlBytes, what: "an ACME directory URL") {
            reader.add(field: field, value: JSONValue.string(text).excerpt, message: problem)
            return nil
        }
        if let known = KnownDirectory(rawValue: text) { return known.url }
        guard text.hasPrefix("https://"), URL(string: text)?.host != nil else {
            reader.add(field: field, value: JSONValue.string(text).excerpt,
                       message: "must be an https:// URL of an ACME directory or one of: \(knownDirectoryNames)")
            return nil
        }
        return text
    }

    /// The `KnownDirectory` names, comma-separated.
    static var knownDirectoryNames: String { KnownDirectory.allCases.map(\.rawValue).joined(separator: ", ") }
}
