@testable import CertAgent
import XCTest

/// The words `certagent init` prints after the first certificate, and after a failure.
final class InitGuidanceTests: XCTestCase {
    func testRootGetsTheSystemUnitSteps() {
        let steps = InitGuidance.nextSteps(asRoot: true, userName: "root", binary: "/usr/local/bin/certagent", configPath: "/etc/certagent/config.json",
                                           defaultConfigPath: "/etc/certagent/config.json", webroots: ["/var/www/html"])
        XCTAssertTrue(steps.contains("sudo install -m 0644 systemd/certagent.service /etc/systemd/system/certagent.service"), steps)
        XCTAssertTrue(steps.contains("(edit ReadWritePaths= there to list /var/www/html)"), steps)
        XCTAssertTrue(steps.contains("sudo systemctl daemon-reload && sudo systemctl enable --now certagent"), steps)
        XCTAssertFalse(steps.contains("--user"), steps)
        XCTAssertFalse(steps.contains("ExecStart="), "the config is where the unit reads it")
    }

    func testAnOrdinaryUserGetsTheUserUnitAndLingering() {
        let steps = InitGuidance.nextSteps(asRoot: false, userName: "alice", binary: "/home/alice/src/certagent/.build/release/certagent",
                                           configPath: "~/.config/certagent/config.json", defaultConfigPath: "~/.config/certagent/config.json",
                                           webroots: ["/home/alice/public_html"])
        XCTAssertTrue(steps.contains("as alice (no root needed: a systemd user service)"), steps)
        XCTAssertTrue(steps.contains("install -m 0755 /home/alice/src/certagent/.build/release/certagent ~/.local/bin/certagent"), steps)
        XCTAssertTrue(steps.contains("install -m 0644 systemd/certagent-user.service ~/.config/systemd/user/certagent.service"), steps)
        XCTAssertTrue(steps.contains("systemctl --user daemon-reload && systemctl --user enable --now certagent"), steps)
        XCTAssertTrue(steps.contains("loginctl enable-linger alice"), steps)
        XCTAssertTrue(steps.contains("ask your host to enable lingering for alice"), steps)
        XCTAssertFalse(steps.contains("sudo"), steps)
        XCTAssertFalse(steps.contains("/etc/systemd/system"), steps)
    }

    func testAConfigElsewhereSaysHowToPointTheUnitAtIt() {
        let steps = InitGuidance.nextSteps(asRoot: false, userName: "alice", binary: "/usr/bin/certagent", configPath: "/srv/alice/certagent.json",
                                           defaultConfigPath: "~/.config/certagent/config.json", webroots: [])
        XCTAssertTrue(steps.contains("(the unit reads ~/.config/certagent/config.json: edit its ExecStart= to pass --config /srv/alice/certagent.json)"), steps)
    }

    func testFailureHintsNameTheFlagToChange() {
        XCTAssertEqual(InitGuidance.fixHint(for: ["✗ a: the CA asks you to agree to its terms of service (https://x): read them"], webroot: "/w", domains: ["a.example"]),
                       "read the CA's terms, then run the same init again with --accept-terms-of-service")
        let validation = InitGuidance.fixHint(for: ["✗ a: authorization for a.example failed: urn:ietf:params:acme:error:unauthorized: 404"], webroot: "/srv/a", domains: ["a.example", "www.a.example"])
        XCTAssertEqual(validation, "the CA could not fetch the challenge from http://a.example/.well-known/acme-challenge/: check that --webroot /srv/a is the directory your web server serves for a.example, www.a.example over plain HTTP (port 80), then run the same init again")
        let address = InitGuidance.fixHint(for: ["✗ a: authorization for ::1 failed: urn:ietf:params:acme:error:connection"], webroot: "/srv/a", domains: ["::1"])
        XCTAssertTrue(address.hasPrefix("the CA could not fetch the challenge from http://[::1]/.well-known/acme-challenge/:"), address)
        XCTAssertEqual(InitGuidance.fixHint(for: ["✗ a: could not connect to server"], webroot: "/w", domains: ["a.example"]),
                       "check --directory (the ACME server's URL) and, for a private CA, --ca-file; then run the same init again")
        XCTAssertEqual(InitGuidance.fixHint(for: [], webroot: "/w", domains: ["a.example"]), "fix the cause above, then run the same init again")
    }

    func testAFailedPreflightHintSaysNothingReachedTheCA() {
        let failure = "✗ a: pre-flight check failed, nothing was ordered (this spares the CA's limit of 5 failed validations per name per hour; "
            + "--skip-preflight orders anyway):\n  a.example AAAA ::1 answered 404 — the IPv6 server block does not serve /srv/a"
        XCTAssertEqual(InitGuidance.fixHint(for: [failure], webroot: "/srv/a", domains: ["a.example"]),
                       "nothing reached the CA: a probe file in --webroot /srv/a could not be fetched from http://a.example/.well-known/acme-challenge/ "
                       + "through every address (see above): check that the web server serves that directory for a.example over plain HTTP (port 80), "
                       + "on IPv4 and IPv6, then run the same init again")
    }
}
