@testable import CertAgent
import Foundation
import TestSupport
import XCTest

final class InstallConfigReaderTests: XCTestCase {
    var temp: TemporaryDirectory!
    var directory: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        directory = try temp.make("etc/nginx/certs/shop")
    }

    /// Reads `install` (JSON text, or nil for absent) the way the certificate reader would, inside `certificates[0]`.
    private func read(_ install: String?, path: String = "/usr/bin:/bin", webroots: [String] = []) throws -> (result: InstallConfig??, problems: [ConfigProblem]) {
        let json = install.map { #"{"install": \#($0)}"# } ?? "{}"
        guard case .object(let members) = try StrictJSONParser.parse(Array(json.utf8)) else { throw FileStatusError(description: "not an object") }
        var reader = FieldReader(members, path: "certificates[0]")
        let result = InstallConfigReader.read(&reader, webroots: webroots, environment: ["PATH": path])
        reader.reportUnknownFields()
        return (result, reader.problems)
    }

    private func config(_ install: String) throws -> InstallConfig {
        let (result, problems) = try read(install)
        XCTAssertEqual(problems, [])
        guard case .some(.some(let config)) = result else { throw FileStatusError(description: "no config for \(install)") }
        return config
    }

    private func problems(_ install: String) throws -> [ConfigProblem] {
        let (result, problems) = try read(install)
        if case .some(.some) = result { XCTFail("expected \(install) to be refused") }
        if case .none = result { XCTFail("a present install field must not read as absent") }
        return problems
    }

    func testAbsentOrNullInstallIsNil() throws {
        for json in [nil, "null"] {
            let (result, problems) = try read(json)
            XCTAssertEqual(problems, [])
            guard case .none = result else { return XCTFail("expected nil for \(json ?? "absent")") }
        }
    }

    func testDirectoryGivesStandardNamesAndDefaultModes() throws {
        let config = try self.config(#"{"directory": "\#(directory!)"}"#)
        XCTAssertEqual(config, InstallConfig(privateKey: InstallTarget(path: directory + "/privkey.pem", mode: 0o600),
                                             certificate: InstallTarget(path: directory + "/cert.pem", mode: 0o644),
                                             chain: InstallTarget(path: directory + "/chain.pem", mode: 0o644),
                                             fullChain: InstallTarget(path: directory + "/fullchain.pem", mode: 0o644)))
    }

    func testIndividualPathsModeOwnerGroupAndReload() throws {
        let other = try temp.make("etc/haproxy")
        let config = try self.config(#"""
        {"directory": "\#(directory!)", "fullChain": "\#(other)/shop.pem", "mode": "0640", "owner": "root", "group": 0,
         "reload": ["sh", "-c", "true"], "reloadTimeoutSeconds": 5}
        """#)
        XCTAssertEqual(config.privateKey, InstallTarget(path: directory + "/privkey.pem", mode: 0o640), "mode applies to the key too")
        XCTAssertEqual(config.fullChain, InstallTarget(path: other + "/shop.pem", mode: 0o640), "an individual path overrides the directory")
        XCTAssertEqual(config.owner, 0)
        XCTAssertEqual(config.group, 0)
        XCTAssertEqual(config.reload?.arguments, ["sh", "-c", "true"])
        XCTAssertEqual(config.reload?.executable, "/usr/bin/sh", "found on the given PATH, first match")
        XCTAssertEqual(config.reload?.timeoutSeconds, 5)
    }

    func testKeyModeOverridesModeForTheKeyAlone() throws {
        let config = try self.config(#"{"directory": "\#(directory!)", "mode": "644", "keyMode": "0640", "owner": "65534"}"#)
        XCTAssertEqual(config.privateKey?.mode, 0o640)
        XCTAssertEqual(config.certificate?.mode, 0o644)
        XCTAssertEqual(config.owner, 65534, "a numeric id need not exist in the password database")
        XCTAssertNil(config.group)
    }

    func testReloadOnlyIsADeployHookWithDefaultTimeout() throws {
        let config = try self.config(#"{"reload": ["/bin/true"]}"#)
        XCTAssertFalse(config.installsFiles)
        XCTAssertEqual(config.reload, ReloadCommand(executable: "/bin/true", arguments: ["/bin/true"], timeoutSeconds: 60))
    }

    func testRelativeAndMissingPathsAreRefused() throws {
        XCTAssertEqual(try problems(#"{"privateKey": "certs/key.pem", "directory": "etc/certs"}"#), [
            ConfigProblem(field: "certificates[0].install.directory", value: "\"etc/certs\"", message: "must be an absolute path"),
            ConfigProblem(field: "certificates[0].install.privateKey", value: "\"certs/key.pem\"", message: "must be an absolute path"),
        ])
        let missing = temp.path("nowhere/key.pem")
        XCTAssertEqual(try problems(#"{"privateKey": "\#(missing)"}"#), [
            ConfigProblem(field: "certificates[0].install.privateKey", value: "\"\(missing)\"", message: "cannot be written: its directory \(temp.path("nowhere")) does not exist"),
        ])
        XCTAssertEqual(try problems(#"{"directory": "\#(temp.path("absent"))"}"#).map(\.message),
                       ["is not an existing directory (create it first, with the owner and mode the server needs)"])
        XCTAssertEqual(try problems(#"{"certificate": "\#(directory!)"}"#).map(\.field), ["certificates[0].install.certificate"])
    }

    func testWorldReadableKeyModeIsRefused() throws {
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "mode": "0644"}"#), [
            ConfigProblem(field: "certificates[0].install.mode", value: "\"0644\"",
                          message: "would let every user on the machine read the private key (the last digit must be 0): use e.g. \"0640\" with a group, or \"0600\", or set keyMode for the key alone"),
        ])
        XCTAssertEqual(try problems(#"{"privateKey": "\#(directory!)/k.pem", "keyMode": "0601"}"#).map(\.field), ["certificates[0].install.keyMode"])
        // Without a key, a world-readable mode is fine: certificates are public.
        XCTAssertEqual(try config(#"{"fullChain": "\#(directory!)/full.pem", "mode": "0644"}"#).fullChain?.mode, 0o644)
    }

    func testMalformedModesAreRefused() throws {
        for mode in [#""0o640""#, #""4755""#, #""0800""#, #""64""#, #""rw-r-----""#] {
            XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "mode": \#(mode)}"#),
                           [ConfigProblem(field: "certificates[0].install.mode", value: mode, message: "is not a file mode: write three octal digits, optionally after a 0, e.g. \"0640\"")], mode)
        }
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "mode": 640}"#).map(\.message),
                       ["must be an octal string such as \"0640\", not a number (a JSON number would be read as decimal)"])
    }

    func testUnknownOwnerAndGroupAreRefused() throws {
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "owner": "no-such-user-xyz", "group": "no-such-group-xyz"}"#), [
            ConfigProblem(field: "certificates[0].install.owner", value: "\"no-such-user-xyz\"", message: "is not a known user on this machine (give an existing user name or a numeric id)"),
            ConfigProblem(field: "certificates[0].install.group", value: "\"no-such-group-xyz\"", message: "is not a known group on this machine (give an existing group name or a numeric id)"),
        ])
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "owner": -1}"#).map(\.message), ["must be a user name or numeric id, not a number"])
    }

    func testReloadMustBeANonEmptyArrayOfStringsNamingAProgram() throws {
        XCTAssertEqual(try problems(#"{"reload": []}"#), [
            ConfigProblem(field: "certificates[0].install.reload", value: "[]",
                          message: "is empty: give the program and its arguments, e.g. [\"/usr/sbin/nginx\", \"-s\", \"reload\"], or leave reload out"),
        ])
        XCTAssertEqual(try problems(#"{"reload": "systemctl reload nginx"}"#).map(\.message),
                       ["must be an array of strings (the program and its arguments; no shell is used), e.g. [\"/usr/sbin/nginx\", \"-s\", \"reload\"]"])
        XCTAssertEqual(try problems(#"{"reload": ["/bin/kill", 1]}"#),
                       [ConfigProblem(field: "certificates[0].install.reload[1]", value: "1", message: "must be a string, not a number")])
        XCTAssertEqual(try problems(#"{"reload": ["no-such-program-xyz"]}"#),
                       [ConfigProblem(field: "certificates[0].install.reload[0]", value: "\"no-such-program-xyz\"", message: "is not found on PATH (/usr/bin:/bin): give its absolute path")])
        XCTAssertEqual(try problems(#"{"reload": ["/etc/passwd"]}"#).map(\.message), ["is not an executable file"])
        XCTAssertEqual(try problems(#"{"reload": ["bin/nginx"]}"#).map(\.message), ["must be an absolute path or a program name found on PATH"])
    }

    func testTimeoutMustBePositiveAndNeedsAReload() throws {
        XCTAssertEqual(try problems(#"{"reload": ["/bin/true"], "reloadTimeoutSeconds": 0}"#).map(\.message), ["must be a number of seconds above 0 and at most 3600"])
        XCTAssertEqual(try problems(#"{"reload": ["/bin/true"], "reloadTimeoutSeconds": "60"}"#).map(\.field), ["certificates[0].install.reloadTimeoutSeconds"])
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "reloadTimeoutSeconds": 30}"#).map(\.message), ["has no effect without reload"])
    }

    func testUnknownFieldsEmptyObjectAndWrongKind() throws {
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "mod": "0640"}"#), [
            ConfigProblem(field: "certificates[0].install.mod", value: nil,
                          message: "is not a known field (known here: certificate, chain, directory, fullChain, group, keyMode, mode, owner, privateKey, reload, reloadTimeoutSeconds)"),
        ])
        XCTAssertEqual(try problems("{}"), [ConfigProblem(field: "certificates[0].install", value: nil,
                                                          message: "names nothing to do: set directory or privateKey/certificate/chain/fullChain paths, and/or reload")])
        XCTAssertEqual(try problems(#""/etc/certs""#), [ConfigProblem(field: "certificates[0].install", value: "\"/etc/certs\"", message: "must be an object, not a string")])
        XCTAssertEqual(try problems(#"{"reload": ["/bin/true"], "owner": "root"}"#).map(\.message), ["has no effect: no file is installed (set directory or a file path)"])
    }

    func testFilesInsideAWebrootAreRefused() throws {
        let webroot = try temp.make("srv/www")
        let certs = try temp.make("srv/www/certs")
        let (result, problems) = try read(#"{"directory": "\#(certs)", "fullChain": "\#(directory!)/full.pem"}"#, webroots: [webroot])
        guard case .some(.none) = result else { return XCTFail("expected a refusal") }
        XCTAssertEqual(problems.count, 3, "key, certificate and chain (the full chain is elsewhere)")
        XCTAssertEqual(problems.first, ConfigProblem(field: "certificates[0].install.directory", value: "\"\(certs)\"",
                                                     message: "puts \(certs)/privkey.pem inside the webroot \(webroot), where anyone could download it: install outside every webroot"))
        let (_, single) = try read(#"{"privateKey": "\#(certs)/k.pem"}"#, webroots: [webroot])
        XCTAssertEqual(single.map(\.field), ["certificates[0].install.privateKey"])
        XCTAssertEqual(try config(#"{"directory": "\#(directory!)"}"#).targets.count, 4)
    }

    func testTwoFilesOnOnePathAreRefused() throws {
        XCTAssertEqual(try problems(#"{"directory": "\#(directory!)", "chain": "\#(directory!)/cert.pem"}"#), [
            ConfigProblem(field: "certificates[0].install.chain", value: "\"\(directory!)/cert.pem\"", message: "is the same file as certificate: each file needs its own path"),
        ])
    }

    func testParseMode() {
        XCTAssertEqual(InstallConfigReader.parseMode("0640"), 0o640)
        XCTAssertEqual(InstallConfigReader.parseMode("600"), 0o600)
        XCTAssertNil(InstallConfigReader.parseMode("1640"))
        XCTAssertNil(InstallConfigReader.parseMode(""))
    }
}
