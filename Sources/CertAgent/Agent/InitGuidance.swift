import CertCrypto

/// What `certagent init` tells the admin: how to serve the certificate, how to run the daemon (as root, or as an
/// ordinary user on a shared host), and which flag to change after a failure. Pure text, tested word for word.
public enum InitGuidance {
    /// The web server lines for the store's stable paths: for `kind`, or for nginx and Apache when it is not known.
    public static func servingLines(kind: WebServerKind?, files: CertificateFiles) -> String {
        let kinds = kind.map { [$0] } ?? WebServerKind.allCases
        return kinds.map { kind in
            "  \(kind.displayName):\n" + kind.certificateDirectives(fullChain: files.fullChain, privateKey: files.privateKey).map { "    " + $0 }.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The steps that make `certagent run` renew by itself: the system unit as root, the user unit otherwise.
    /// `configPath` is the config init wrote; `defaultConfigPath` is the one the unit reads (the unit's `--config`);
    /// `binary` is this program, which a user copies where the user unit runs it from.
    public static func nextSteps(asRoot: Bool, userName: String, binary: String, configPath: String, defaultConfigPath: String,
                                 webroots: [String]) -> String {
        let configNote = configPath == defaultConfigPath ? "" : "\n  (the unit reads \(defaultConfigPath): edit its ExecStart= to pass --config \(configPath))"
        if asRoot {
            return """
                Next: let the daemon renew it, by itself, before it expires:
                  sudo install -m 0644 systemd/certagent.service /etc/systemd/system/certagent.service
                  (edit ReadWritePaths= there to list \(webroots.joined(separator: " ")))\(configNote)
                  sudo systemctl daemon-reload && sudo systemctl enable --now certagent
                  certagent status    shows what it will do next
                """
        }
        return """
            Next: let the daemon renew it, by itself, as \(userName) (no root needed: a systemd user service):
              mkdir -p ~/.local/bin ~/.config/systemd/user
              install -m 0755 \(ConfigPermissions.shellQuoted(binary)) ~/.local/bin/certagent
              install -m 0644 systemd/certagent-user.service ~/.config/systemd/user/certagent.service\(configNote)
              systemctl --user daemon-reload && systemctl --user enable --now certagent
              loginctl enable-linger \(userName)
                (a user's services stop at logout and start at login; lingering keeps this one running without a login
                 and starts it at boot — if that command is refused, ask your host to enable lingering for \(userName))
              certagent status    shows what it will do next
            Without systemd for users, run `certagent renew` from your crontab twice a day instead.
            """
    }

    /// The step after a failed first issuance: which flag or path to change, judged from the failures' messages.
    public static func fixHint(for failures: [String], webroot: String, domains: [String]) -> String {
        let text = failures.joined(separator: "\n").lowercased()
        if text.contains("terms of service") {
            return "read the CA's terms, then run the same init again with --accept-terms-of-service"
        }
        if text.contains("pre-flight check failed") {
            let url = "http://\(domains.first.map { IPAddress($0)?.urlHost ?? $0 } ?? "DOMAIN")/.well-known/acme-challenge/"
            return "nothing reached the CA: a probe file in --webroot \(webroot) could not be fetched from \(url) through every address (see above): "
                + "check that the web server serves that directory for \(domains.joined(separator: ", ")) over plain HTTP (port 80), on IPv4 and IPv6, then run the same init again"
        }
        if ["urn:ietf:params:acme:error:unauthorized", "urn:ietf:params:acme:error:connection", "urn:ietf:params:acme:error:dns",
            "urn:ietf:params:acme:error:incorrectresponse", "validation", "challenge"].contains(where: text.contains) {
            let url = "http://\(domains.first.map { IPAddress($0)?.urlHost ?? $0 } ?? "DOMAIN")/.well-known/acme-challenge/"
            return "the CA could not fetch the challenge from \(url): check that --webroot \(webroot) is the directory your web server serves for \(domains.joined(separator: ", ")) over plain HTTP (port 80), then run the same init again"
        }
        if ["cannot reach", "could not connect", "couldn't connect", "could not resolve", "timed out", "ssl", "certificate verify", "directory"].contains(where: text.contains) {
            return "check --directory (the ACME server's URL) and, for a private CA, --ca-file; then run the same init again"
        }
        return "fix the cause above, then run the same init again"
    }
}
