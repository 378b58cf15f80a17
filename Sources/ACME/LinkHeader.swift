import FoundationEssentials

/// Reads `Link` headers (RFC 8288) as ACME uses them: `rel="up"`, `rel="alternate"`, `rel="index"` (RFC 8555 §7.4.2).
enum LinkHeader {
    /// Every target whose `rel` includes `relation`, across all `values` (each may hold several comma-separated
    /// links), resolved against `base`, in order.
    static func targets(_ values: [String], relation: String, base: String) -> [String] {
        var result: [String] = []
        for value in values {
            for link in split(value) {
                guard let open = link.firstIndex(of: "<"), let close = link[open...].firstIndex(of: ">") else { continue }
                let target = String(link[link.index(after: open)..<close])
                let params = link[link.index(after: close)...].split(separator: ";")
                let matches = params.contains { param in
                    let pair = param.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
                    guard pair.count == 2, pair[0].lowercased() == "rel" else { return false }
                    let rels = pair[1].trimming { $0 == "\"" }.lowercased().split(separator: " ")
                    return rels.contains(Substring(relation.lowercased()))
                }
                if matches { result.append(resolve(target, against: base)) }
            }
        }
        return result
    }

    /// Splits a header value at commas outside `<...>` and quotes.
    private static func split(_ value: String) -> [Substring] {
        var parts: [Substring] = []
        var start = value.startIndex
        var inAngle = false
        var inQuote = false
        var index = value.startIndex
        while index < value.endIndex {
            switch value[index] {
            case "<" where !inQuote: inAngle = true
            case ">" where !inQuote: inAngle = false
            case "\"" where !inAngle: inQuote.toggle()
            case "," where !inAngle && !inQuote:
                parts.append(value[start..<index])
                start = value.index(after: index)
            default: break
            }
            index = value.index(after: index)
        }
        parts.append(value[start...])
        return parts
    }

    /// `target` as an absolute URL (RFC 3986 §5).
    static func resolve(_ target: String, against base: String) -> String {
        guard let baseURL = URL(string: base), let url = URL(string: target, relativeTo: baseURL) else { return target }
        return url.absoluteString
    }
}
