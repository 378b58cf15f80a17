import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Nothing secret leaks into logs or files: the account key's PEM body, the secrets' values (as text, base64,
/// base64url and hex), the master key and the account-key passphrase.
final class SecretLeakTests: XCTestCase {
    func testDebugIssuanceLeaksNoSecretIntoLogsOrFiles() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "leak.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "leak", "domains": ["leak.test", "www.leak.test"], "webroot": webroot]], storage: storage)
        let configDirectory = (config as NSString).deletingLastPathComponent
        let token = distinctiveValue("api-token-"), password = distinctiveValue("Mail-Pässword-")

        var logs: [String] = []
        for (name, value) in [("dns-api-token", token), ("mail-password", password)] {
            let set = try certagent(["secret", "set", name, "--debug", "--config", config], input: value)
            XCTAssertEqual(set.status, 0, set.output)
            logs.append(set.output)
        }
        let issue = try certagent(["issue", "--debug", "--config", config])
        XCTAssertEqual(issue.status, 0, issue.output)
        XCTAssertTrue(issue.stderr.contains(" INFO ") && issue.stderr.contains("issued"), "--debug logged the issuance: \(issue.stderr)")
        logs.append(issue.output)

        // The account key, encrypted on disk, opened here with the master key.
        let keyFile = try accountKeyFile(in: storage)
        let onDisk = try String(contentsOfFile: keyFile, encoding: .utf8)
        XCTAssertTrue(onDisk.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"), onDisk)
        let master = try masterKey(at: configDirectory + "/master.key")
        let plainPEM = try AccountKeyFile.read(keyFile, masterKey: master).pkcs8PEM()
        let body = plainPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        XCTAssertGreaterThanOrEqual(body.count, 2)

        // The README's emergency command opens it.
        let opened = try openAccountKeyWithReadmeCommand(masterKey: configDirectory + "/master.key", accountKey: keyFile)
        XCTAssertEqual(opened.status, 0, opened.output)
        XCTAssertEqual(opened.stdout, plainPEM)

        var needles: [(String, [UInt8])] = []
        for (label, value) in [("token", Array(token.utf8)), ("password", Array(password.utf8))] {
            let base64 = Data(value).base64EncodedString()
            needles += [(label, value), (label + " base64", Array(base64.utf8)),
                        (label + " base64url", Array(base64.replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "").utf8)),
                        (label + " hex", Array(value.hex.utf8))]
        }
        for (index, line) in body.enumerated() { needles.append(("account key line \(index)", Array(line.utf8))) }
        needles.append(("account key body", Array(body.joined().utf8)))
        let masterBytes = try fileBytes(configDirectory + "/master.key")
        needles.append(("master key hex", Array(masterBytes.hex.utf8)))
        needles.append(("master key base64", Array(Data(masterBytes).base64EncodedString().utf8)))
        needles.append(("account key passphrase", try master.accountKeyPassphrase))

        for (label, needle) in needles {
            for (index, log) in logs.enumerated() {
                XCTAssertFalse(contains(Array(log.utf8), needle), "\(label) appears in the output of command \(index)")
            }
        }
        // Every file under the store, the test bed (Pebble's and nginx's logs) and the config directory.
        let files = Set(regularFilesBelow(storage) + regularFilesBelow(testbed.directory) + regularFilesBelow(configDirectory))
        XCTAssertTrue(files.contains(storage + "/secrets.sealed"))
        XCTAssertTrue(files.contains(keyFile))
        XCTAssertGreaterThan(files.count, 15)
        for file in files {
            let bytes = try fileBytes(file)
            for (label, needle) in needles {
                XCTAssertFalse(contains(bytes, needle), "\(label) appears in \(file)")
            }
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index ..< index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
