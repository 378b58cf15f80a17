import CertCrypto

/// The config's JSON Schema (draft 2020-12), built from the tables the loader checks with (`FieldLimits`, `KeyType`,
/// `KnownDirectory`, `CertificateProfile`, `SecretName`, the notify and install readers' limits), so an editor flags
/// what `certagent check` would refuse. `certagent config schema` prints `text`; the package installs it as
/// `installedPath`.
///
/// What a schema cannot see stays with `check` alone: whether files and directories exist (webroots, `caFile`,
/// `install` paths, reload programs), users and groups on this machine, a name or CA listed twice under different
/// spellings, certificate names unique across the list, webroots covering every domain, paths inside a webroot,
/// an IPv6 address written other than in its RFC 5952 form, duplicate member names in the JSON text, and (for
/// `check`) the store, the master key and the secrets. `ConfigSchemaAgreementTests` names each of these reasons
/// when the schema accepts a config the loader refuses.
///
/// Optional members accept `null` as the loader does (it reads `null` as absent). Lengths are the loader's byte
/// limits, which a schema's `maxLength` counts in characters: exact for ASCII.
public enum ConfigSchema {
    /// Where the Debian package installs the schema; `config.example.json` names it in `$schema`.
    public static let installedPath = "/usr/share/certagent/config.schema.json"
    /// `installedPath` as the URI a config's `$schema` names.
    public static let installedURI = "file://" + installedPath
    /// The JSON Schema dialect.
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// The schema as JSON text (two-space indentation, a final newline): what `certagent config schema` prints.
    public static var text: String {
        document.rendered(indent: "", style: OrderedJSON.Style(unit: "  ", separator: ": ")) + "\n"
    }

    /// The schema document. Extend it by adding a member to `topLevelProperties` (and a definition to `definitions`).
    public static var document: OrderedJSON {
        [
            "$schema": .string(dialect),
            "$id": .string(installedURI),
            "title": "CertAgent configuration",
            "description": "The config file of certagent (/etc/certagent/config.json): strict JSON (RFC 8259), at most 1 MiB. Unknown fields are errors. `certagent check` validates everything this schema does and what a schema cannot see (files, users, webroots, secrets).",
            "type": "object",
            "required": ["certificates"],
            "properties": .object(topLevelProperties),
            "additionalProperties": false,
            "allOf": .array(topLevelRules),
            "$defs": .object(definitions),
        ]
    }

    // MARK: Top level

    /// The members of the config object, in the order an editor lists them.
    public static var topLevelProperties: [OrderedJSON.Member] {
        [
            .init("$schema", described(oneLine(bytes: FieldLimits.pathBytes), "The JSON Schema this file follows, for editors: \(installedURI) (installed by the package). CertAgent itself ignores it.")),
            .init("email", nullable(described(["anyOf": [ref("emailAddress"), ["type": "array", "items": ref("emailAddress")]]],
                                              "Contact address(es) given to the CA (RFC 8555 §7.3): a string or an array. A change is sent to the CA at the next connection."))),
            .init("acceptTermsOfService", nullable(["type": "boolean", "default": false,
                                                    "description": "You agree to the CA's terms of service (required by Let's Encrypt)."])),
            .init("directory", nullable(described([
                "anyOf": [ref("caDirectory"), ["type": "array", "minItems": 1, "uniqueItems": true, "items": ref("caDirectory")]],
                "default": .string(KnownDirectory.letsencrypt.rawValue),
            ], "The ACME CA: an https:// directory URL, one of \(KnownDirectory.allCases.map(\.rawValue).joined(separator: ", ")), an object {\"url\", \"caFile\", \"eab\"}, or a list of these tried in order (the first is the primary)."))),
            .init("fallbackAfterFailures", nullable(described(integer(ConfigLoader.fallbackAfterFailuresRange, default: AgentConfig.defaultFallbackAfterFailures),
                                                              "Consecutive failures of one certificate at a CA before its renewal moves to the next CA in directory (only with two or more CAs)."))),
            .init("caFile", nullable(described(ref("absolutePath"), "A PEM file of CA certificates to trust for the first ACME server instead of the system store (a private CA, Pebble)."))),
            .init("eab", nullable(described(ref("externalAccountBinding"), "External account binding for the first CA (RFC 8555 §7.3.4)."))),
            .init("preferredChain", nullable(described(oneLine(bytes: FieldLimits.commonNameCharacters * 4).setting("maxLength", to: .int(FieldLimits.commonNameCharacters)),
                                                       "Common name of the issuer to prefer when the CA offers alternate chains (at most \(FieldLimits.commonNameCharacters) characters, RFC 5280 ub-common-name)."))),
            .init("keyType", nullable(described(ref("keyType").setting("default", to: .string(ConfigLoader.defaultKeyType.rawValue)), "Key type of every certificate that names none."))),
            .init("profile", nullable(described(ref("profileName"), "The ACME profile every certificate is ordered under unless it names its own (the CA's meta.profiles; at Let's Encrypt classic, tlsserver, shortlived). Default: none, the CA's default."))),
            .init("certificates", described(["type": "array", "minItems": 1, "items": ref("certificate")], "The certificates to keep issued.")),
            .init("storage", nullable(described(ref("absolutePath"), "The store (account, keys, certificates), outside every webroot. Default: systemd's STATE_DIRECTORY, \(ConfigLoader.rootDefaultStorage) for root, else beside the first webroot."))),
            .init("masterKeyFile", nullable(described(ref("absoluteFilePath"), "The master key file when no systemd credential provides the key. Default: master.key beside the config."))),
            .init("maxConcurrentRenewals", nullable(described(integer(ConfigLoader.maxConcurrentRenewalsRange, default: AgentConfig.defaultMaxConcurrentRenewals),
                                                              "The most orders run at once: by the daemon, and by one issue or renew over several certificates."))),
            .init("minimumRenewalIntervalSeconds", nullable(described(integer(ConfigLoader.minimumRenewalIntervalRange, default: 60),
                                                                      "The least time between two renewal runs of one certificate (a loop guard)."))),
            .init("dryRunDirectory", nullable(described(ref("caDirectoryURL"), "The ACME directory renew --dry-run orders from (not needed with Let's Encrypt: its staging is used)."))),
            .init("metricsFile", nullable(described(ref("absolutePath"), "Where the daemon writes Prometheus metrics after every pass: a file in an existing directory, outside the store. Default: off."))),
            .init("cluster", nullable(described(ref("cluster"), "Fleet mode: this server is one node of a fleet that shares its certificates through etcd v3; the same on every node except node. Absent: a single server."))),
            .init("notify", nullable(described(ref("notifyBlock"), "Whom to tell when something needs you. Default: nobody."))),
        ]
    }

    /// Rules across top-level members (each one the loader reports).
    static var topLevelRules: [OrderedJSON] {
        let leDirectory: OrderedJSON = ["enum": .array(KnownDirectory.allCases.flatMap { [.string($0.rawValue), .string($0.url)] })]
        let leEntry: OrderedJSON = ["anyOf": [leDirectory, ["type": "object", "required": ["url"], "properties": ["url": leDirectory]]]]
        let primaryIsLetsEncrypt: OrderedJSON = ["properties": ["directory": ["anyOf": [["type": "null"], leEntry, ["type": "array", "minItems": 1, "prefixItems": [leEntry]]]]]]
        let topShortlived = present("profile", ["const": .string(CertificateProfile.shortlived)])
        let holdsAddress: OrderedJSON = ["required": ["domains"], "properties": ["domains": ["anyOf": [ref("ipAddress"), ["type": "array", "contains": ref("ipAddress")]]]]]
        func everyCertificate(_ rule: OrderedJSON) -> OrderedJSON { ["properties": ["certificates": ["items": rule]]] }
        return [
            described(["if": present("fallbackAfterFailures"), "then": ["required": ["directory"], "properties": ["directory": ["type": "array", "minItems": 2]]]],
                      "fallbackAfterFailures needs a second CA to fall back to: directory must list two or more."),
            described(["if": present("caFile"), "then": ["properties": ["directory": ["not": firstCA(present("caFile"))]]]],
                      "The first CA's caFile is set in one place: at the top level or in directory's first entry."),
            described(["if": present("eab"), "then": ["properties": ["directory": ["not": firstCA(present("eab"))]]]],
                      "The first CA's eab is set in one place: at the top level or in directory's first entry."),
            described(["if": present("profile", ["const": .string(CertificateProfile.tlsserver)]),
                       "then": everyCertificate(["if": ["properties": ["profile": ["type": "null"]]],
                                                 "then": ["properties": ["domains": ["maxItems": .int(CertificateProfile.tlsserverNameLimit)]]]])],
                      "A certificate under the profile tlsserver holds at most \(CertificateProfile.tlsserverNameLimit) names (Let's Encrypt)."),
            described(["if": ["allOf": [primaryIsLetsEncrypt, ["not": topShortlived]]],
                       "then": everyCertificate(["if": holdsAddress, "then": present("profile", ["const": .string(CertificateProfile.shortlived)])])],
                      "Let's Encrypt certifies IP addresses only under the profile shortlived."),
            described(["if": ["allOf": [primaryIsLetsEncrypt, topShortlived]],
                       "then": everyCertificate(["if": holdsAddress, "then": ["properties": ["profile": ["anyOf": [["type": "null"], ["const": .string(CertificateProfile.shortlived)]]]]]])],
                      "Let's Encrypt certifies IP addresses only under the profile shortlived."),
        ]
    }

    /// `directory`'s first CA (the value itself, or a list's first entry) as an object matching `rule`.
    private static func firstCA(_ rule: OrderedJSON) -> OrderedJSON {
        let object = OrderedJSON.object([.init("type", "object")]).merging(rule)
        return ["anyOf": [object, ["type": "array", "prefixItems": [object]]]]
    }

    // MARK: Definitions

    /// `$defs`: the shapes the members share.
    public static var definitions: [OrderedJSON.Member] {
        [
            .init("oneLine", described(["type": "string", "pattern": .string("^[^\(controlCharacters)]*$")], "One line of text: no control characters.")),
            .init("absolutePath", described(["type": "string", "maxLength": .int(FieldLimits.pathBytes), "pattern": .string(absolutePathPattern)],
                                            "An absolute path: at most \(FieldLimits.pathBytes) bytes (PATH_MAX), each name at most \(FieldLimits.pathComponentBytes) (NAME_MAX), no NUL.")),
            .init("absoluteFilePath", described(["type": "string", "maxLength": .int(FieldLimits.pathBytes), "pattern": .string(absoluteFilePathPattern)],
                                                "An absolute path naming a file (not ending in /).")),
            .init("emailAddress", described(["type": "string", "maxLength": .int(FieldLimits.emailBytes), "pattern": .string(emailPattern)],
                                            "A bare e-mail address, name@example.com (RFC 5321 limits: \(FieldLimits.emailBytes) in all, \(FieldLimits.emailLocalPartBytes) before the @).")),
            .init("secretName", described(["type": "string", "pattern": .string("^[A-Za-z0-9._-]{1,\(SecretName.maximumLength)}$")],
                                          "The name of a sealed secret (certagent secret set NAME).")),
            .init("keyType", ["type": "string", "enum": .array(KeyType.allCases.map { .string($0.rawValue) })]),
            .init("profileName", described(["type": "string", "pattern": .string("^[A-Za-z0-9._-]{1,\(CertificateProfile.nameBytes)}$")],
                                           "An ACME profile name as the CA's directory lists it (meta.profiles), e.g. tlsserver.")),
            .init("caDirectoryURL", described(["anyOf": [["enum": .array(KnownDirectory.allCases.map { .string($0.rawValue) })],
                                                         ["type": "string", "maxLength": .int(FieldLimits.urlBytes), "pattern": .string(directoryURLPattern)]]],
                                              "An https:// ACME directory URL, or one of: \(KnownDirectory.allCases.map(\.rawValue).joined(separator: ", ")).")),
            .init("caDirectory", ["anyOf": [ref("caDirectoryURL"), [
                "type": "object", "required": ["url"],
                "properties": [
                    "url": ref("caDirectoryURL"),
                    "caFile": nullable(described(ref("absolutePath"), "A PEM file of CA certificates to trust for this CA.")),
                    "eab": nullable(described(ref("externalAccountBinding"), "External account binding for this CA.")),
                ],
                "additionalProperties": false,
            ]]]),
            .init("externalAccountBinding", [
                "type": "object", "required": ["kid", "hmacKeySecret"],
                "properties": [
                    "kid": described(oneLine(bytes: FieldLimits.keyIdentifierBytes).setting("minLength", to: 1), "The key identifier the CA gave."),
                    "hmacKeySecret": described(ref("secretName"), "The secret holding the base64url HMAC key the CA gave."),
                ],
                "additionalProperties": false,
            ]),
            .init("dnsName", described(["type": "string", "pattern": .string("^\(dnsNamePattern)$")],
                                       "A fully qualified DNS name (letters, digits, hyphens; xn-- for internationalized names); no wildcard: HTTP-01 cannot prove one.")),
            .init("ipv4Address", described(["type": "string", "pattern": .string("^\(ipv4Pattern)$")], "An IPv4 address in dotted decimal, without leading zeros.")),
            .init("ipv6Address", described(["type": "string", "pattern": .string("^\(ipv6Pattern)$")],
                                           "An IPv6 address in its RFC 5952 form (::1, not 0:0::1); no brackets, zone or prefix.")),
            .init("ipAddress", ["anyOf": [ref("ipv4Address"), ref("ipv6Address")]]),
            .init("domain", ["anyOf": [ref("dnsName"), ref("ipAddress")]]),
            .init("certificate", certificate),
            .init("install", install),
            .init("notifyBlock", notifyBlock),
            .init("emailChannel", emailChannel),
            .init("webhookChannel", webhookChannel),
            .init("cluster", cluster),
        ]
    }

    private static var certificate: OrderedJSON {
        [
            "type": "object",
            "required": ["domains"],
            "properties": [
                "name": nullable(described(["type": "string", "pattern": "^(?!\\.)[A-Za-z0-9._-]{1,64}$"],
                                           "A short name: the certificate's directory in the store. Default: the first domain (an IPv6 address with - for :).")),
                "domains": described([
                    "anyOf": [ref("domain"), ["type": "array", "minItems": 1, "maxItems": .int(CertificateProfile.nameLimit), "uniqueItems": true, "items": ref("domain")]],
                ], "The DNS names and IP addresses the certificate covers: one, or a list (at most \(CertificateProfile.nameLimit))."),
                "webroot": nullable(described(ref("absolutePath"), "The existing directory the web server serves for every domain (http://NAME/.well-known/acme-challenge/ maps below it).")),
                "webroots": nullable(described(["type": "object", "propertyNames": ref("domain"), "additionalProperties": ref("absolutePath")],
                                               "Per-domain webroots, overriding webroot: {\"static.example.com\": \"/var/www/static\"}.")),
                "keyType": nullable(described(ref("keyType"), "This certificate's key type. Default: the top-level keyType.")),
                "install": nullable(described(ref("install"), "Where to copy the files after each renewal, and what to run then. Default: serve from the store.")),
                "notify": nullable(described(["anyOf": [["const": false], ref("notifyBlock")]],
                                             "false: tell nobody about this certificate; an object: replaces the top-level notify block for it.")),
                "address": nullable(described(["type": "string", "maxLength": 300, "pattern": .string(siteAddressPattern)],
                                              "Where the site check connects instead of port 443 of each name: host:port, ip:port or [ipv6]:port.")),
                "reuseKey": nullable(["type": "boolean", "default": false, "description": "Keep the private key across renewals (DANE/TLSA, pinning)."]),
                "profile": nullable(described(ref("profileName"), "This certificate's ACME profile. Default: the top-level profile.")),
            ],
            "additionalProperties": false,
            "allOf": [
                described(["anyOf": [present("webroot"), present("webroots", ["type": "object", "minProperties": 1])]],
                          "Every domain needs a webroot: set webroot, or webroots per domain."),
                described(["if": ["properties": ["name": ["type": "null"]]],
                           "then": ["properties": ["domains": ["maxLength": 64, "prefixItems": [["maxLength": 64]]]]]],
                          "Without name, the first domain names the certificate: at most 64 characters."),
                described(["if": present("profile", ["const": .string(CertificateProfile.tlsserver)]),
                           "then": ["properties": ["domains": ["maxItems": .int(CertificateProfile.tlsserverNameLimit)]]]],
                          "The profile tlsserver holds at most \(CertificateProfile.tlsserverNameLimit) names (Let's Encrypt)."),
            ],
        ]
    }

    private static var install: OrderedJSON {
        let fileKeys = ["privateKey", "certificate", "chain", "fullChain"]
        let installsFiles: OrderedJSON = ["anyOf": .array((["directory"] + fileKeys).map { present($0) })]
        let installsKey: OrderedJSON = ["anyOf": [present("directory"), present("privateKey")]]
        let privateMode: OrderedJSON = ["pattern": "^0?[0-7]{2}0$"]
        let modeDescription = "Octal file mode as a string, e.g. \"0640\" (no setuid, setgid or sticky bit)."
        var properties: [OrderedJSON.Member] = [
            .init("directory", nullable(described(ref("absolutePath"), "An existing directory: all four files by their standard names (\(InstallConfigReader.standardNames.privateKey), \(InstallConfigReader.standardNames.certificate), \(InstallConfigReader.standardNames.chain), \(InstallConfigReader.standardNames.fullChain)).")))
        ]
        for key in fileKeys {
            properties.append(.init(key, nullable(described(ref("absoluteFilePath"), "Where to write this file (overrides directory); its directory must exist."))))
        }
        let account: (String) -> OrderedJSON = { kind in
            nullable(described(["anyOf": [["type": "string", "maxLength": .int(FieldLimits.accountNameBytes), "pattern": "^[^\\u0000]*$"],
                                          ["type": "integer", "minimum": 0, "maximum": 4_294_967_294]]],
                               "The \(kind) the files belong to: a name or numeric id known on this machine."))
        }
        properties += [
            .init("owner", account("user")),
            .init("group", account("group")),
            .init("mode", nullable(described(["type": "string", "pattern": "^0?[0-7]{3}$", "default": .string(octal(InstallConfigReader.defaultMode))], modeDescription))),
            .init("keyMode", nullable(described(["type": "string", "pattern": "^0?[0-7]{3}$", "default": .string(octal(InstallConfigReader.defaultKeyMode))],
                                                modeDescription + " For the private key; never readable by every user (the last digit is 0). Default: mode, else 0600."))),
            .init("reload", nullable(described([
                "type": "array", "minItems": 1, "maxItems": .int(FieldLimits.commandArguments),
                "items": ["type": "string", "maxLength": .int(FieldLimits.commandArgumentBytes), "pattern": "^[^\\u0000]*$"],
                "prefixItems": [["pattern": "^(?:/[\\s\\S]*|[^/]+)$"]],
            ], "The command run after the files are written: the program (absolute, or a name on PATH) and its arguments; no shell. E.g. [\"/usr/bin/systemctl\", \"reload\", \"nginx\"]."))),
            .init("reloadTimeoutSeconds", nullable(described(["type": "number", "exclusiveMinimum": 0, "maximum": .number(InstallConfigReader.maximumTimeoutSeconds),
                                                              "default": .number(ReloadCommand.defaultTimeoutSeconds)], "Seconds the reload command may take."))),
        ]
        return [
            "type": "object",
            "properties": .object(properties),
            "additionalProperties": false,
            "allOf": [
                described(["anyOf": .array((["directory"] + fileKeys + ["reload"]).map { present($0) })],
                          "install names something to do: directory or file paths, and/or reload."),
                described(["if": ["not": installsFiles], "then": ["properties": ["owner": ["type": "null"], "group": ["type": "null"], "mode": ["type": "null"], "keyMode": ["type": "null"]]]],
                          "owner, group, mode and keyMode apply to installed files only."),
                described(["if": ["properties": ["reload": ["type": "null"]]], "then": ["properties": ["reloadTimeoutSeconds": ["type": "null"]]]],
                          "reloadTimeoutSeconds applies to reload only."),
                described(["if": installsKey, "then": ["if": present("keyMode"), "then": ["properties": ["keyMode": privateMode]], "else": ["properties": ["mode": privateMode]]]],
                          "The private key is never readable by every user: its mode (keyMode, else mode) ends in 0."),
            ],
        ]
    }

    private static var notifyBlock: OrderedJSON {
        [
            "type": "object",
            "properties": [
                "email": nullable(described(ref("emailChannel"), "Mail through an SMTP server (STARTTLS or TLS, never plain text).")),
                "webhook": nullable(described(ref("webhookChannel"), "An HTTPS request per notification.")),
                "atRiskShare": nullable(described(["type": "number", "minimum": 0.01, "maximum": 0.9, "default": .number(NotifyConfig.defaultAtRiskShare)],
                                                  "A certificate is at risk with less than this share of its lifetime left (or less than atRiskFloorDays).")),
                "atRiskFloorDays": nullable(described(["type": "number", "minimum": 0, "maximum": 365, "default": .number(NotifyConfig.defaultAtRiskFloorDays)],
                                                      "A certificate is at risk with less than this many days left (or less than atRiskShare).")),
            ],
            "additionalProperties": false,
            "anyOf": [present("email"), present("webhook")],
        ]
    }

    private static var emailChannel: OrderedJSON {
        let security = EmailNotifyConfig.Security.allCases
        return [
            "type": "object",
            "required": ["server", "from", "to"],
            "properties": [
                "server": described(["type": "string", "maxLength": 253, "pattern": .string("^(?![^:]*:[^:]*$)[^ /@\(controlCharacters)]+$")],
                                    "The SMTP server's host name or address (the port goes in port)."),
                "security": nullable(described(["type": "string", "enum": .array(security.map { .string($0.rawValue) }), "default": .string(EmailNotifyConfig.Security.starttls.rawValue)],
                                               "starttls: STARTTLS required (port 587); smtps: TLS from the start (port 465).")),
                "port": nullable(described(["type": "integer", "minimum": 1, "maximum": 65_535],
                                           "The server's port. Default: " + security.map { "\($0.defaultPort) with \($0.rawValue)" }.joined(separator: ", ") + ".")),
                "from": described(ref("emailAddress"), "The sender address."),
                "to": described(["anyOf": [ref("emailAddress"), ["type": "array", "minItems": 1, "maxItems": 50, "items": ref("emailAddress")]]],
                                "One address or a list (at most 50)."),
                "username": nullable(described(oneLine(bytes: 256), "The SMTP user name (with passwordSecret).")),
                "passwordSecret": nullable(described(ref("secretName"), "The secret holding the SMTP password (with username).")),
                "caFile": nullable(described(["type": "string", "pattern": "^/"], "A PEM file of CA certificates for a private mail server.")),
            ],
            "additionalProperties": false,
            "allOf": [
                described(["if": present("username"), "then": present("passwordSecret")], "username needs passwordSecret."),
                described(["if": present("passwordSecret"), "then": present("username")], "passwordSecret needs username."),
            ],
        ]
    }

    /// The `cluster` block (ClusterConfigReader): etcd endpoints, TLS or user and password, prefix, this node's name.
    private static var cluster: OrderedJSON {
        let https: OrderedJSON = ["type": "string", "pattern": .string("^\(caseless("https"))://[^/@?#\\s]+:[0-9]{1,5}/?$")]
        let loopbackHTTP: OrderedJSON = ["type": "string", "pattern": .string("^\(caseless("http"))://(127\\.[0-9.]+|\\[::1\\]|\(caseless("localhost"))):[0-9]{1,5}/?$")]
        let endpoint: OrderedJSON = ["anyOf": [https, loopbackHTTP]]
        let endpoints: OrderedJSON = ["anyOf": [endpoint, ["type": "array", "minItems": 1, "maxItems": .int(ClusterConfigReader.maximumEndpoints), "items": endpoint]]]
        let onlyHTTPS: OrderedJSON = ["anyOf": [https, ["type": "array", "items": https]]]
        return [
            "type": "object",
            "required": ["node", "endpoints"],
            "properties": [
                "node": described(["type": "string", "pattern": "^(?!\\.)[A-Za-z0-9._-]{1,63}$"],
                                  "This node's name, different on every node (1–63 of A–Z a–z 0–9 . _ -, not starting with '.')."),
                "endpoints": described(endpoints, "The etcd members' client URLs: https://host:port (http:// only to 127.0.0.0/8, ::1 or localhost), no path; one or a list of at most \(ClusterConfigReader.maximumEndpoints)."),
                "prefix": nullable(described(["type": "string", "pattern": "^/[!-~]{0,199}$", "default": .string(ClusterConfig.defaultPrefix)],
                                             "Where the fleet's keys live in etcd (a trailing / is added); several fleets can share one etcd.")),
                "caFile": nullable(described(ref("absolutePath"), "PEM CA certificate(s) to trust for the etcd members (https:// only).")),
                "certificateFile": nullable(described(ref("absolutePath"), "Client certificate for etcd's --client-cert-auth (with keyFile).")),
                "keyFile": nullable(described(ref("absolutePath"), "The client certificate's private key (with certificateFile).")),
                "user": nullable(described(oneLine(bytes: 256).setting("minLength", to: 1), "etcd user name (with passwordSecret).")),
                "passwordSecret": nullable(described(ref("secretName"), "The secret (certagent secret set NAME) holding the etcd user's password.")),
                "leaseSeconds": nullable(described(integer(5...300, default: ClusterConfig.defaultLeaseSeconds),
                                                   "TTL of the node's etcd lease: its presence, locks and published challenges vanish this long after it dies.")),
                "acknowledgeTimeoutSeconds": nullable(described(integer(5...3_600, default: ClusterConfig.defaultAcknowledgeTimeoutSeconds),
                                                                "How long the ordering node waits for every live node to acknowledge a challenge file.")),
            ],
            "additionalProperties": false,
            "allOf": [
                ["if": present("certificateFile"), "then": present("keyFile")],
                ["if": present("keyFile"), "then": present("certificateFile")],
                ["if": present("user"), "then": present("passwordSecret")],
                ["if": present("passwordSecret"), "then": present("user")],
                ["if": ["anyOf": [present("caFile"), present("certificateFile")]], "then": ["properties": ["endpoints": onlyHTTPS]]],
            ],
        ]
    }

    private static var webhookChannel: OrderedJSON {
        let reserved = NotifyConfigReader.reservedHeaders.sorted().map(caseless).joined(separator: "|")
        return [
            "type": "object",
            "required": ["url"],
            "properties": [
                "url": described(["type": "string", "maxLength": .int(FieldLimits.urlBytes), "pattern": .string(webhookURLPattern)],
                                 "https:// (http:// only to this machine: 127.0.0.0/8, ::1, localhost); no user or password in it."),
                "format": nullable(described(["type": "string", "enum": .array(WebhookConfig.Format.allCases.map { .string($0.rawValue) }),
                                              "default": .string(WebhookConfig.Format.json.rawValue)],
                                             "json (certagent.notification/v1), slack (also Mattermost) or ntfy.")),
                "timeoutSeconds": nullable(["type": "number", "minimum": 1, "maximum": 120, "default": .number(WebhookConfig.defaultTimeoutSeconds)]),
                "headers": nullable(described([
                    "type": "object", "maxProperties": 20,
                    "propertyNames": ["maxLength": 64, "pattern": .string("^(?!(?:\(reserved))$)[A-Za-z0-9!#$%&'*+.^_`|~-]+$")],
                    "additionalProperties": ["anyOf": [
                        oneLine(bytes: 1024),
                        ["type": "object", "required": ["secret"],
                         "properties": ["secret": ref("secretName"), "prefix": nullable(oneLine(bytes: 64))],
                         "additionalProperties": false],
                    ]],
                ], "Extra request headers: a plain value, or {\"secret\": NAME, \"prefix\": \"Bearer \"} for a sealed secret's value."))
            ],
            "additionalProperties": false,
        ]
    }

    // MARK: Patterns (ECMA 262 regular expressions, as JSON Schema specifies; Python's re reads them alike)

    /// Unicode general category Cc, as `FieldLimits.textProblem` refuses it.
    static let controlCharacters = "\\u0000-\\u001f\\u007f-\\u009f"
    static let absolutePathPattern = "^/(?![\\s\\S]*[^/]{\(FieldLimits.pathComponentBytes + 1)})[^\\u0000]*$"
    static let absoluteFilePathPattern = "^/(?![\\s\\S]*[^/]{\(FieldLimits.pathComponentBytes + 1)})[^\\u0000]*[^/\\u0000]$"
    static let dnsLabel = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    /// `DomainName`: at most 253 characters, two or more labels of 1–63, not all digits (the loader lowercases first).
    static let dnsNamePattern = "(?=[A-Za-z0-9.-]{1,253}(?![A-Za-z0-9.-]))(?![0-9.]+(?![A-Za-z0-9.-]))(?:\(dnsLabel)\\.)+\(dnsLabel)"
    static let ipv4Octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    static let ipv4Pattern = "\(ipv4Octet)(?:\\.\(ipv4Octet)){3}"
    /// IPv6 in hexadecimal groups without leading zeros (RFC 5952 §4.1); where `::` goes (§4.2) is for `check` to say.
    static var ipv6Pattern: String {
        let group = "(?:0|[1-9A-Fa-f][0-9A-Fa-f]{0,3})"
        return "(?:" + [
            "(?:\(group):){7}\(group)",
            "(?:\(group):){1,7}:",
            "(?:\(group):){1,6}:\(group)",
            "(?:\(group):){1,5}(?::\(group)){1,2}",
            "(?:\(group):){1,4}(?::\(group)){1,3}",
            "(?:\(group):){1,3}(?::\(group)){1,4}",
            "(?:\(group):){1,2}(?::\(group)){1,5}",
            "\(group):(?::\(group)){1,6}",
            ":(?:(?::\(group)){1,7}|:)",
        ].joined(separator: "|") + ")"
    }
    /// Any IPv6 address in hexadecimal groups (leading zeros allowed), as `address` takes it between brackets.
    static var anyIPv6Pattern: String { ipv6Pattern.replacing("(?:0|[1-9A-Fa-f][0-9A-Fa-f]{0,3})", with: "[0-9A-Fa-f]{1,4}") }
    static let portPattern = "(?=[0-9]{1,5}$)0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
    static var siteAddressPattern: String { "^(?:\\[\(anyIPv6Pattern)\\]|\(ipv4Pattern)|\(dnsNamePattern)):\(portPattern)$" }
    static var directoryURLPattern: String { "^https://[^/?#\(controlCharacters)]+(?:[/?#][^\(controlCharacters)]*)?$" }
    static var emailPattern: String {
        let character = "[^@\\s,:<>\(controlCharacters)]"
        return "^\(character){1,\(FieldLimits.emailLocalPartBytes)}@(?!\\.)(?=[^@]*\\.)(?![^@]*[^.@]{64})(?![^@]*\\.$)\(character){1,253}$"
    }
    static var webhookURLPattern: String {
        let loopback = "(?:127(?:\\.0*\(ipv4Octet)){3}|\\[::1\\]|\(caseless("localhost")))"
        return "^(?:\(caseless("https"))://[^/?#@\\s\(controlCharacters)]+|\(caseless("http"))://\(loopback)(?::[0-9]*)?)(?:[/?#][^\(controlCharacters)]*)?$"
    }

    // MARK: Building blocks

    static func ref(_ name: String) -> OrderedJSON { ["$ref": .string("#/$defs/\(name)")] }

    static func described(_ schema: OrderedJSON, _ description: String) -> OrderedJSON { schema.setting("description", to: .string(description)) }

    /// A one-line string of at most `bytes` (characters, for the schema).
    static func oneLine(bytes: Int) -> OrderedJSON {
        ["type": "string", "maxLength": .int(bytes), "pattern": .string("^[^\(controlCharacters)]*$")]
    }

    static func integer(_ range: ClosedRange<Double>, default value: Int) -> OrderedJSON {
        ["type": "integer", "minimum": .int(Int(range.lowerBound)), "maximum": .int(Int(range.upperBound)), "default": .int(value)]
    }

    /// `key` is present and not null (the loader reads null as absent), and matches `rule` when given.
    static func present(_ key: String, _ rule: OrderedJSON = ["not": ["type": "null"]]) -> OrderedJSON {
        ["required": .array([.string(key)]), "properties": .object([.init(key, rule)])]
    }

    /// `schema`, also accepting `null` (an optional member: the loader reads null as absent).
    static func nullable(_ schema: OrderedJSON) -> OrderedJSON {
        if case .string(let type)? = schema["type"] {
            var result = schema.setting("type", to: [.string(type), "null"])
            if case .array(let values)? = schema["enum"] { result = result.setting("enum", to: .array(values + [.null])) }
            return result
        }
        guard case .object(var members) = schema else { return schema }
        let annotations = ["description", "default"]
        let kept = members.filter { annotations.contains($0.key) }
        members.removeAll { annotations.contains($0.key) }
        if case .array(let branches)? = OrderedJSON.object(members)["anyOf"], members.count == 1 {
            return .object([.init("anyOf", .array(branches + [["type": "null"]]))] + kept)
        }
        return .object([.init("anyOf", [.object(members), ["type": "null"]])] + kept)
    }

    /// `text` matched in any case (`[Hh][Tt]…`): ECMA 262 patterns have no inline flag.
    static func caseless(_ text: String) -> String {
        text.map { character in
            let lower = character.lowercased(), upper = character.uppercased()
            return lower == upper ? String(character) : "[\(upper)\(lower)]"
        }.joined()
    }

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

extension OrderedJSON {
    /// This object with `other`'s members added (a member of both takes `other`'s value).
    func merging(_ other: OrderedJSON) -> OrderedJSON {
        guard case .object(let members) = other else { return self }
        return members.reduce(self) { $0.setting($1.key, to: $1.value) }
    }
}
