import ACME
import CertCrypto

/// Reads one entry of `certificates`: its name, domains (DNS names and IP addresses, `IPAddressEntry`), webroot(s) and
/// key type.
enum CertificateConfigReader {
    /// `defaultProfile`: the top-level `profile`, used when the certificate names none. `directoryURL`: the CA's, for
    /// the rules known offline (`CertificateProfile`); nil when it is invalid.
    static func read(_ reader: inout FieldReader, defaultKeyType: KeyType, defaultProfile: String? = nil,
                     directoryURL: String? = nil) -> CertificateConfig? {
        let domains = readDomains(&reader)
        let name = readName(&reader, firstDomain: domains.first.map(IPAddressEntry.defaultCertificateName(for:)))
        let webroots = readWebroots(&reader, domains: domains)
        let keyType = ConfigLoader.readKeyType(&reader, key: "keyType") ?? defaultKeyType
        let install = InstallConfigReader.read(&reader, webroots: Array((webroots ?? [:]).values))
        let notify = NotifyConfigReader.readOverride(&reader)
        let address = readAddress(&reader)
        let reuseKey = reader.bool("reuseKey") ?? false
        let profile = ConfigLoader.readProfile(&reader) ?? defaultProfile
        if case .some(nil) = install { return nil }   // present but invalid: the problems are recorded
        guard let name, !domains.isEmpty, let webroots, address != .some(nil) else { return nil }
        let certificate = CertificateConfig(name: name, domains: domains, webroots: webroots, keyType: keyType, install: install ?? nil,
                                            notify: notify, address: address ?? nil, reuseKey: reuseKey, profile: profile)
        guard checkProfileRules(certificate, &reader, directoryURL: directoryURL) else { return nil }
        return certificate
    }

    /// The limits known offline (`CertificateProfile`): `tlsserver` holds at most 25 names; at Let's Encrypt an IP
    /// address needs `shortlived`. False when one is broken (reported).
    private static func checkProfileRules(_ certificate: CertificateConfig, _ reader: inout FieldReader, directoryURL: String?) -> Bool {
        var valid = true
        let limit = CertificateProfile.nameLimit(profile: certificate.profile)
        if certificate.domains.count > limit, limit < CertificateProfile.nameLimit {
            reader.report("domains", nil, "lists \(certificate.domains.count) names: the profile \(certificate.profile ?? "") allows at most \(limit) per certificate (Let's Encrypt): split them over several certificates or choose another profile")
            valid = false
        }
        if let directoryURL, let problem = CertificateProfile.ipAddressProblem(with: certificate, directoryURL: directoryURL, offered: nil),
           case .ipAddressNeedsShortlived(let address) = problem.kind {
            let profile = certificate.profile.map { "\"\($0)\"" } ?? "none (the CA's default)"
            reader.report("domains", .string(address), "is an IP address, which Let's Encrypt certifies only under the profile \"\(CertificateProfile.shortlived)\" (160-hour certificates); this certificate's profile is \(profile): set \"profile\": \"\(CertificateProfile.shortlived)\"")
            valid = false
        }
        return valid
    }

    /// `address` (optional): where the site check connects. nil when absent, .some(nil) when invalid (reported).
    private static func readAddress(_ reader: inout FieldReader) -> SiteAddress?? {
        guard let text = reader.string("address") else { return .none }
        switch SiteAddress.parse(text) {
        case .success(let address): return .some(address)
        case .failure(let problem):
            reader.report("address", .string(text), problem.message)
            return .some(nil)
        }
    }

    private static func readDomains(_ reader: inout FieldReader) -> [String] {
        guard let entries = reader.strings("domains") else {
            reader.report("domains", nil, "is required: list the DNS names (and IP addresses) the certificate covers")
            return []
        }
        var domains: [String] = []
        for (field, written) in entries {
            let domain: String
            switch IPAddressEntry.read(written) {
            case .address(let address):
                domain = address.text
            case .problem(let problem):
                reader.add(field: field, value: JSONValue.string(written).excerpt, message: problem)
                continue
            case .notAnAddress:
                domain = written.lowercased()
                if let problem = DomainName.problem(with: domain) {
                    reader.add(field: field, value: JSONValue.string(written).excerpt, message: problem)
                    continue
                }
            }
            if domains.contains(domain) {
                reader.add(field: field, value: JSONValue.string(written).excerpt, message: "is listed twice")
            } else {
                domains.append(domain)
            }
        }
        if entries.isEmpty { reader.report("domains", .array([]), "is empty: list at least one DNS name") }
        if domains.count > CertificateProfile.nameLimit {
            reader.report("domains", nil, "lists \(domains.count) names: a certificate holds at most \(CertificateProfile.nameLimit) (Let's Encrypt's limit): split them over several certificates")
        }
        return domains
    }

    private static func readName(_ reader: inout FieldReader, firstDomain: String?) -> String? {
        guard let name = reader.string("name") ?? firstDomain else { return nil }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || "._-".unicodeScalars.contains(scalar)
        }
        guard allowed, !name.isEmpty, name.utf8.count <= 64, !name.hasPrefix(".") else {
            reader.report("name", .string(name), "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.' (it names a directory in the store)")
            return nil
        }
        return name
    }

    /// `webroot` (one for every domain) and/or `webroots` (per domain, overriding it).
    private static func readWebroots(_ reader: inout FieldReader, domains: [String]) -> [String: String]? {
        let shared = reader.string("webroot")
        let perDomain = reader.object("webroots") ?? [:]
        var webroots: [String: String] = [:]
        var valid = true
        if let shared {
            if let problem = webrootProblem(shared) {
                reader.report("webroot", .string(shared), problem)
                valid = false
            }
            for domain in domains { webroots[domain] = shared }
        }
        for (written, value) in perDomain.sorted(by: { $0.key < $1.key }) {
            let field = reader.fieldPath("webroots") + "[\"\(written)\"]"
            let domain = written.lowercased()
            guard domains.contains(domain) else {
                let canonical = IPAddress(written).map(\.text)
                let hint = canonical.map { domains.contains($0) ? ": write it as domains does, \($0)" : "" } ?? ""
                reader.add(field: field, value: value.excerpt, message: "names a domain that is not in domains" + hint)
                valid = false
                continue
            }
            guard case .string(let path) = value else {
                reader.add(field: field, value: value.excerpt, message: "must be a string (a directory path), not \(value.kindName)")
                valid = false
                continue
            }
            if let problem = webrootProblem(path) {
                reader.add(field: field, value: value.excerpt, message: problem)
                valid = false
            }
            webroots[domain] = path
        }
        let missing = domains.filter { webroots[$0] == nil }
        if !missing.isEmpty {
            reader.report("webroot", nil, "is required: no webroot serves \(missing.joined(separator: ", ")) (set webroot, or webroots per domain)")
            valid = false
        }
        return valid ? webroots : nil
    }

    private static func webrootProblem(_ path: String) -> String? {
        if let problem = FieldLimits.pathProblem(path) { return problem }
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        guard PathSafety.isDirectory(path) else { return "is not an existing directory" }
        return nil
    }
}
