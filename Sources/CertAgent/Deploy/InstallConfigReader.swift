import ACME
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Reads a certificate's optional `install` object:
///
///     "install": {"directory": "/etc/nginx/certs/shop",            // all four files, standard names
///                 "fullChain": "/etc/haproxy/shop.pem",             // or individual paths (override directory)
///                 "owner": "www-data", "group": "ssl-cert",         // names or numeric ids
///                 "mode": "0640", "keyMode": "0640",                // octal; defaults 0644 and 0600 (key)
///                 "reload": ["/usr/sbin/nginx", "-s", "reload"],    // argument vector, no shell
///                 "reloadTimeoutSeconds": 60}
enum InstallConfigReader {
    /// The standard file names used with `directory`.
    static let standardNames = (privateKey: "privkey.pem", certificate: "cert.pem", chain: "chain.pem", fullChain: "fullchain.pem")
    static let defaultKeyMode: mode_t = 0o600
    static let defaultMode: mode_t = 0o644
    static let maximumTimeoutSeconds: Double = 3600

    /// Reads `install` from a certificate's reader. Returns nil when the field is absent (or null); `.some(nil)` when it
    /// is present but has problems (recorded in `reader`, with paths such as `certificates[0].install.mode`);
    /// `.some(config)` when it is valid. `environment` supplies PATH for finding a reload command given by name (nil:
    /// the process's, read only when there is an `install` block: building it costs more than the rest of a certificate).
    /// No installed file may lie inside one of `webroots` (anyone could download a key from there).
    static func read(_ reader: inout FieldReader, webroots: [String] = [],
                     environment: [String: String]? = nil) -> InstallConfig?? {
        guard let value = reader.raw("install") else { return nil }
        guard case .object(let members) = value else {
            reader.report("install", value, "must be an object, not \(value.kindName)")
            return .some(nil)
        }
        var nested = FieldReader(members, path: reader.fieldPath("install"))
        let config = readInstall(&nested, webroots: webroots, environment: environment ?? ProcessInfo.processInfo.environment)
        nested.reportUnknownFields()
        reader.absorb(nested)
        return .some(nested.problems.isEmpty ? config : nil)
    }

    private static func readInstall(_ reader: inout FieldReader, webroots: [String], environment: [String: String]) -> InstallConfig? {
        let paths = readPaths(&reader, webroots: webroots)
        let owner = readAccount(&reader, key: "owner", kind: "user", lookup: UnixUserLookup.userID)
        let group = readAccount(&reader, key: "group", kind: "group", lookup: UnixUserLookup.groupID)
        let mode = readMode(&reader, key: "mode")
        let keyMode = readMode(&reader, key: "keyMode")
        let reload = readReload(&reader, searchPath: environment["PATH"] ?? ExecutableSearch.defaultSearchPath)

        let installsFiles = paths.values.contains { $0 != nil }
        if !installsFiles && reload == nil && reader.problems.isEmpty {
            reader.add(field: reader.path, value: nil, message: "names nothing to do: set directory or privateKey/certificate/chain/fullChain paths, and/or reload")
        }
        if !installsFiles {
            for key in ["owner", "group", "mode", "keyMode"] where reader.object[key] != nil && reader.object[key] != .null {
                reader.report(key, reader.object[key], "has no effect: no file is installed (set directory or a file path)")
            }
        }
        let effectiveKeyMode = keyMode?.mode ?? mode?.mode ?? defaultKeyMode
        if paths.privateKey != nil, effectiveKeyMode & 0o007 != 0 {
            let (key, value) = keyMode != nil ? ("keyMode", keyMode!.written) : ("mode", mode?.written ?? "")
            reader.report(key, .string(value), "would let every user on the machine read the private key (the last digit must be 0): use e.g. \"0640\" with a group, or \"0600\"" + (key == "mode" ? ", or set keyMode for the key alone" : ""))
        }
        guard reader.problems.isEmpty else { return nil }
        let fileMode = mode?.mode ?? defaultMode
        return InstallConfig(privateKey: paths.privateKey.map { InstallTarget(path: $0, mode: effectiveKeyMode) },
                             certificate: paths.certificate.map { InstallTarget(path: $0, mode: fileMode) },
                             chain: paths.chain.map { InstallTarget(path: $0, mode: fileMode) },
                             fullChain: paths.fullChain.map { InstallTarget(path: $0, mode: fileMode) },
                             owner: owner, group: group, reload: reload)
    }

    private struct Paths {
        var privateKey: String?
        var certificate: String?
        var chain: String?
        var fullChain: String?
        var values: [String?] { [privateKey, certificate, chain, fullChain] }
    }

    /// `directory` gives all four paths; `privateKey`, `certificate`, `chain`, `fullChain` override them one by one.
    private static func readPaths(_ reader: inout FieldReader, webroots: [String]) -> Paths {
        var paths = Paths()
        if let directory = reader.string("directory") {
            if let problem = FieldLimits.pathProblem(directory) {
                reader.report("directory", .string(directory), problem)
            } else if !directory.hasPrefix("/") {
                reader.report("directory", .string(directory), "must be an absolute path")
            } else if !PathSafety.isDirectory(directory) {
                reader.report("directory", .string(directory), "is not an existing directory (create it first, with the owner and mode the server needs)")
            } else {
                let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
                paths = Paths(privateKey: base + "/" + standardNames.privateKey, certificate: base + "/" + standardNames.certificate,
                              chain: base + "/" + standardNames.chain, fullChain: base + "/" + standardNames.fullChain)
            }
        }
        var sources: [String: String] = [:]  // path → the field that named it, to catch two files on one path
        for (key, keyPath) in [("privateKey", \Paths.privateKey), ("certificate", \.certificate), ("chain", \.chain), ("fullChain", \.fullChain)] {
            if let written = reader.string(key) {
                if let problem = filePathProblem(written) {
                    reader.report(key, .string(written), problem)
                    paths[keyPath: keyPath] = nil
                } else {
                    paths[keyPath: keyPath] = written
                }
            }
            if let path = paths[keyPath: keyPath] {
                if let webroot = webroots.sorted().first(where: { PathSafety.isInside(path, directory: $0) }) {
                    let field = reader.object[key] == nil ? "directory" : key
                    reader.report(field, reader.object[field], "puts \(path) inside the webroot \(webroot), where anyone could download it: install outside every webroot")
                    paths[keyPath: keyPath] = nil
                } else if let other = sources[path] {
                    reader.report(key, .string(path), "is the same file as \(other): each file needs its own path")
                } else {
                    sources[path] = key
                }
            }
        }
        return paths
    }

    private static func filePathProblem(_ path: String) -> String? {
        if let problem = FieldLimits.pathProblem(path) { return problem }
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        guard !path.hasSuffix("/") else { return "must name a file, not a directory" }
        if PathSafety.isDirectory(path) { return "is a directory: name the file to write (or use directory for the standard names)" }
        let parent = PathText.parent(path)
        guard PathSafety.isDirectory(parent) else { return "cannot be written: its directory \(parent) does not exist" }
        return nil
    }

    /// A user or group as a name or numeric id (string, or a whole JSON number).
    private static func readAccount(_ reader: inout FieldReader, key: String, kind: String, lookup: (String) -> UInt32?) -> UInt32? {
        guard let value = reader.raw(key) else { return nil }
        let text: String
        switch value {
        case .string(let written) where written.utf8.count <= FieldLimits.accountNameBytes && !written.utf8.contains(0): text = written
        case .string:
            reader.report(key, value, "is not a \(kind) name (at most \(FieldLimits.accountNameBytes) bytes, no NUL)")
            return nil
        case .number(let number) where number >= 0 && number == number.rounded() && number < 4_294_967_295: text = String(Int(number))
        default:
            reader.report(key, value, "must be a \(kind) name or numeric id, not \(value.kindName)")
            return nil
        }
        guard let id = lookup(text) else {
            reader.report(key, value, "is not a known \(kind) on this machine (give an existing \(kind) name or a numeric id)")
            return nil
        }
        return id
    }

    /// An octal permission string such as "0640" or "640" (no setuid, setgid or sticky bits).
    private static func readMode(_ reader: inout FieldReader, key: String) -> (mode: mode_t, written: String)? {
        guard let value = reader.raw(key) else { return nil }
        guard case .string(let written) = value else {
            reader.report(key, value, "must be an octal string such as \"0640\", not \(value.kindName) (a JSON number would be read as decimal)")
            return nil
        }
        guard let mode = parseMode(written) else {
            reader.report(key, value, "is not a file mode: write three octal digits, optionally after a 0, e.g. \"0640\"")
            return nil
        }
        return (mode, written)
    }

    /// "0640" or "640" → 0o640; nil for anything else (including special bits such as "4755").
    static func parseMode(_ text: String) -> mode_t? {
        var digits = Substring(text)
        if digits.count == 4, digits.first == "0" { digits = digits.dropFirst() }
        guard digits.count == 3, digits.allSatisfy({ $0 >= "0" && $0 <= "7" }) else { return nil }
        return mode_t(digits, radix: 8)
    }

    private static func readReload(_ reader: inout FieldReader, searchPath: String) -> ReloadCommand? {
        let timeout = readTimeout(&reader)
        guard let value = reader.raw("reload") else {
            if timeout != nil { reader.report("reloadTimeoutSeconds", nil, "has no effect without reload") }
            return nil
        }
        guard case .array(let items) = value else {
            reader.report("reload", value, "must be an array of strings (the program and its arguments; no shell is used), e.g. [\"/usr/sbin/nginx\", \"-s\", \"reload\"]")
            return nil
        }
        guard !items.isEmpty else {
            reader.report("reload", value, "is empty: give the program and its arguments, e.g. [\"/usr/sbin/nginx\", \"-s\", \"reload\"], or leave reload out")
            return nil
        }
        guard items.count <= FieldLimits.commandArguments else {
            reader.report("reload", value, "has \(items.count) arguments: a reload command takes at most \(FieldLimits.commandArguments)")
            return nil
        }
        var arguments: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                reader.add(field: "\(reader.fieldPath("reload"))[\(index)]", value: item.excerpt, message: "must be a string, not \(item.kindName)")
                return nil
            }
            if text.utf8.count > FieldLimits.commandArgumentBytes || text.utf8.contains(0) {
                let problem = text.utf8.contains(0) ? "contains a NUL character (\\u0000), which no argument can hold"
                    : "is \(text.utf8.count) bytes long: an argument of the reload command holds at most \(FieldLimits.commandArgumentBytes)"
                reader.add(field: "\(reader.fieldPath("reload"))[\(index)]", value: item.excerpt, message: problem)
                return nil
            }
            arguments.append(text)
        }
        let program = arguments[0]
        let field = "\(reader.fieldPath("reload"))[0]"
        guard let executable = ExecutableSearch.resolve(program, searchPath: searchPath) else {
            let message: String
            if program.hasPrefix("/") {
                message = "is not an executable file"
            } else if program.isEmpty || program.contains("/") {
                message = "must be an absolute path or a program name found on PATH"
            } else {
                message = "is not found on PATH (\(searchPath)): give its absolute path"
            }
            reader.add(field: field, value: JSONValue.string(program).excerpt, message: message)
            return nil
        }
        return ReloadCommand(executable: executable, arguments: arguments, timeoutSeconds: timeout ?? ReloadCommand.defaultTimeoutSeconds)
    }

    private static func readTimeout(_ reader: inout FieldReader) -> Double? {
        guard let value = reader.raw("reloadTimeoutSeconds") else { return nil }
        guard case .number(let seconds) = value, seconds > 0, seconds <= maximumTimeoutSeconds else {
            reader.report("reloadTimeoutSeconds", value, "must be a number of seconds above 0 and at most \(Int(maximumTimeoutSeconds))")
            return nil
        }
        return seconds
    }
}
