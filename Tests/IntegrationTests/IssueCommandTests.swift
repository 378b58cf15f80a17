import CertAgent
import CertCrypto
import Logging
import Foundation
import TestSupport
import XCTest

/// `certagent issue` against a real Pebble with real HTTP-01 validation through nginx and dnsmasq.
final class IssueCommandTests: XCTestCase {
    func testIssuesECAndRSACertificatesThatVerifyDespiteHalfTheNoncesRejected() throws {
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_WFE_NONCEREJECT": "50"])
        let shop = try testbed.webroot(for: "shop.test")
        let blog = try testbed.webroot(for: "blog.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "shop", "domains": ["shop.test", "www.shop.test"], "webroot": shop, "keyType": "ec256"],
            ["name": "blog", "domains": ["blog.test", "www.blog.test"], "webroot": blog, "keyType": "rsa2048"],
        ], storage: storage)

        let result = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(result.status, 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        XCTAssertTrue(result.stdout.contains("✓ shop: issued for shop.test, www.shop.test"), result.stdout)
        XCTAssertTrue(result.stdout.contains("✓ blog: issued for blog.test, www.blog.test"), result.stdout)

        let root = try testbed.rootFile()
        for (name, domains, keyType) in [("shop", ["shop.test", "www.shop.test"], KeyType.ec256), ("blog", ["blog.test", "www.blog.test"], .rsa2048)] {
            let current = storage + "/certificates/\(name)/current"
            // An independent check of the chain: openssl, against Pebble's root from its management interface.
            let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", root, "-untrusted", current + "/chain.pem", current + "/cert.pem"])
            XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
            XCTAssertTrue(verify.stdout.contains(": OK"), verify.stdout)
            let key = try PrivateKey(pem: String(contentsOfFile: current + "/privkey.pem", encoding: .utf8))
            XCTAssertEqual(key.type, keyType)
            let chain = try Certificate.parseChain(pem: String(contentsOfFile: current + "/fullchain.pem", encoding: .utf8))
            XCTAssertTrue(chain[0].matches(key))
            XCTAssertEqual(Set(chain[0].subjectAlternativeNames), Set(domains))
            XCTAssertGreaterThanOrEqual(chain.count, 2, "leaf and intermediate")
            for file in ["privkey.pem", "csr.pem", "cert.pem", "chain.pem", "fullchain.pem"] {
                XCTAssertEqual(fileMode(current + "/" + file), 0o600, file)
            }
            XCTAssertEqual(fileMode(storage + "/certificates/\(name)"), 0o700)
            // The version says which CA and account issued it.
            let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: current + "/issuance.json"))) as? [String: Any]
            XCTAssertEqual(facts?["directoryURL"] as? String, testbed.directoryURL)
            XCTAssertTrue((facts?["accountURL"] as? String)?.hasPrefix("https://") == true, "\(facts ?? [:])")
            XCTAssertEqual(fileMode(current + "/issuance.json"), 0o600)
            let csr = try runCommand("/usr/bin/openssl", ["req", "-in", current + "/csr.pem", "-noout", "-verify"])
            XCTAssertEqual(csr.status, 0, csr.stderr)
        }
        XCTAssertEqual(fileMode(storage), 0o700)
        XCTAssertEqual(fileMode(storage + "/accounts"), 0o700)
        for webroot in [shop, blog] {
            XCTAssertEqual(filesBelow(webroot), [], "no challenge file or directory is left in \(webroot)")
        }

        // A second run has nothing to do and sends no order.
        XCTAssertEqual(try testbed.ordersCreated(), 2)
        let again = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("shop: already has a certificate"), again.stdout)
        XCTAssertEqual(try testbed.ordersCreated(), 2)
    }

    func testFailedValidationNamesTheDomainAndLeavesNothingBehind() throws {
        let testbed = try Testbed()
        let served = try testbed.webroot(for: "good.test")
        // A webroot nginx does not serve for this name: Pebble will get a 404 for the token.
        let unserved = testbed.directory + "/elsewhere/public_html"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "mixed", "domains": ["good.test", "lost.test"], "webroots": ["good.test": served, "lost.test": unserved]],
        ], storage: storage)

        let result = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("mixed"), result.stderr)
        XCTAssertTrue(result.stderr.contains("lost.test"), result.stderr)
        XCTAssertTrue(result.stderr.contains("404") || result.stderr.contains("unauthorized"), result.stderr)
        // Told once, with what an admin needs: where the token was, which URL the CA fetched, what it got, the usual causes.
        XCTAssertEqual(result.output.components(separatedBy: "did not pass the CA's HTTP-01 check").count - 1, 1, result.output)
        XCTAssertTrue(result.stderr.contains("✗ mixed: lost.test did not pass the CA's HTTP-01 check\n  the token was written to \(unserved)/.well-known/acme-challenge/"),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("  the CA fetched http://lost.test/.well-known/acme-challenge/"), result.stderr)
        XCTAssertTrue(result.stderr.contains("  and got: unauthorized"), result.stderr)
        XCTAssertTrue(result.stderr.contains("usual causes: the web server's site for lost.test does not serve \(unserved) at /.well-known/acme-challenge/"),
                      result.stderr)
        for cause in ["a redirect to another host, or to https", "an AAAA record", "IPv6", "a firewall closing port 80"] {
            XCTAssertTrue(result.stderr.contains(cause), "\(cause): \(result.stderr)")
        }
        XCTAssertFalse(result.output.contains("ERROR"), "no log line repeats it at the default level: \(result.output)")
        XCTAssertFalse(result.output.contains("next try"), "a command announces no retry it will not make: \(result.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/mixed/current"), "nothing became current")
        XCTAssertEqual(filesBelow(served), [])
        XCTAssertEqual(filesBelow(unserved), [])
    }

    func testAnIssuanceInProgressElsewhereIsWaitedForNotDuplicated() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "busy.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "busy", "domains": ["busy.test"], "webroot": webroot]], storage: storage)
        // Another process (here: the test) is issuing this certificate.
        var held: FileLock? = try CertificateStore(root: storage, webroots: []).lockForIssuance("busy")
        let issue = try BackgroundProcess([ProjectPaths.certagentBinary, "issue", "--config", config], outputPath: testbed.directory + "/issue.log")
        XCTAssertTrue(eventually(timeout: 60) { issue.output.contains("busy: another certagent process is getting it right now: waiting for it") },
                      issue.output)
        XCTAssertNil(issue.waitForExit(timeout: 1), "still waiting: \(issue.output)")
        XCTAssertEqual(try testbed.ordersCreated(), 0, "no order is placed while the other process holds the lock")
        XCTAssertNotNil(held)
        // The other process ends without a certificate: the waiting command decides again and issues it.
        held = nil
        XCTAssertEqual(issue.waitForExit(timeout: 60), 0, issue.output)
        XCTAssertTrue(issue.output.contains("✓ busy: issued for busy.test"), issue.output)
        XCTAssertEqual(try testbed.ordersCreated(), 1)
    }

    func testTwoIssuesStartedTogetherOrderOnceAndTheSecondSaysTheFirstGotIt() throws {
        // Pebble's validation delay (0–5 s) makes the CA slow, so both commands decide before either has a certificate.
        let testbed = try Testbed(options: ["--va-sleep"])
        let webroot = try testbed.webroot(for: "race.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "race", "domains": ["race.test", "www.race.test"], "webroot": webroot]], storage: storage)
        // The account exists already, as on any machine past its first day (another certificate was issued first).
        let other = try testbed.webroot(for: "first.test")
        let setup = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config",
            try testbed.writeConfig([["name": "first", "domains": ["first.test"], "webroot": other]], storage: storage)])
        XCTAssertEqual(setup.status, 0, setup.output)
        let ordersBefore = try testbed.ordersCreated()

        let commands = try (1...2).map { index in
            try BackgroundProcess([ProjectPaths.certagentBinary, "issue", "--config", config, "race"],
                                  outputPath: testbed.directory + "/issue-\(index).log")
        }
        let statuses = commands.map { $0.waitForExit(timeout: 120) }
        let outputs = commands.map(\.output)
        XCTAssertEqual(statuses, [0, 0], "both succeed: \(outputs)")
        let winners = commands.indices.filter { outputs[$0].contains("✓ race: issued for race.test, www.race.test") }
        XCTAssertEqual(winners.count, 1, "exactly one issued: \(outputs)")
        if let winner = winners.first {
            let loser = 1 - winner
            XCTAssertTrue(outputs[loser].contains("✓ race: issued meanwhile by another certagent process (pid \(commands[winner].pid)); nothing ordered"),
                          outputs[loser])
        }
        XCTAssertEqual(try testbed.ordersCreated() - ordersBefore, 1, "exactly one order reached the CA")
        let versions = try FileManager.default.contentsOfDirectory(atPath: storage + "/certificates/race/versions").filter { !$0.hasPrefix(".") }
        XCTAssertEqual(versions.count, 1, "one certificate version in the store: \(versions)")
        XCTAssertEqual(filesBelow(webroot), [], "no challenge file left")
    }

    func testCtrlCDuringAnOrderRemovesTheChallengeFilesBeforeExiting() throws {
        // Pebble's validation delay keeps the order pending while the token files are published.
        let testbed = try Testbed(options: ["--va-sleep"])
        let webroot = try testbed.webroot(for: "ctrlc.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "ctrlc", "domains": ["ctrlc.test", "www.ctrlc.test"], "webroot": webroot]], storage: storage)
        let issue = try BackgroundProcess([ProjectPaths.certagentBinary, "issue", "--config", config], outputPath: testbed.directory + "/issue.log")
        XCTAssertTrue(eventually(timeout: 60) { !filesBelow(webroot + "/.well-known/acme-challenge").isEmpty }, issue.output)
        issue.send(SIGINT)
        XCTAssertEqual(issue.waitForExit(timeout: 10), 130, "128 + SIGINT, as shells report Ctrl-C: \(issue.output)")
        XCTAssertTrue(issue.output.contains("✗ interrupted by SIGINT (Ctrl-C): ctrlc not finished (nothing replaced, no challenge file left)"), issue.output)
        XCTAssertEqual(filesBelow(webroot), [], "no token file left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/ctrlc/current"))
        // Nothing counted against the certificate: the next issue goes ahead at once.
        let again = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(again.status, 0, again.output)
    }

    func testBadConfigIsRefusedWithEveryProblemAndNothingWritten() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "x.test")
        let config = try testbed.writeConfig([
            ["name": "x", "domains": ["x.test", "bad_name.test"], "webroot": webroot, "keyType": "dsa"],
        ], storage: webroot + "/certagent")
        for command in ["check", "issue"] {
            let result = try runCommand(ProjectPaths.certagentBinary, [command, "--config", config])
            XCTAssertEqual(result.status, 2, command)
            XCTAssertTrue(result.stderr.contains("\(config): 3 problems"), result.stderr)
            XCTAssertTrue(result.stderr.contains("certificates[0].domains[1] = \"bad_name.test\""), result.stderr)
            XCTAssertTrue(result.stderr.contains("certificates[0].keyType = \"dsa\""), result.stderr)
            XCTAssertTrue(result.stderr.contains("storage = \"\(webroot)/certagent\": is inside the webroot"), result.stderr)
        }
        XCTAssertEqual(filesBelow(webroot), [])
        XCTAssertEqual(try testbed.acmeRequests().filter { $0.hasPrefix("POST") }, [], "no request reached the CA")
    }
}

/// The library path of an issuance against Pebble: request economy and Pebble's chain switches.
final class IssuanceFlowTests: XCTestCase {
    private func issueOne(_ testbed: Testbed, site: String, extra: [String: Any] = [:]) throws -> (IssuedCertificate, requests: Int) {
        let webroot = try testbed.webroot(for: site)
        let path = try testbed.writeConfig([["name": site, "domains": [site, "www." + site], "webroot": webroot]],
                                           storage: testbed.directory + "/store-\(site)", extra: extra)
        let logger = Logger(label: "test")
        let session = try AgentSession(config: try ConfigLoader.load(path: path), logger: logger)
        let issuer = try session.connect(logger: logger)
        let before = issuer.client.requestCount
        let issued = try issuer.issue(session.config.certificates[0], logger: logger)
        XCTAssertEqual(filesBelow(webroot), [], "no challenge file left")
        return (issued, issuer.client.requestCount - before)
    }

    func testTwoNameCertificateNeedsAboutElevenRequestsAfterTheAccount() throws {
        let testbed = try Testbed()
        let (issued, requests) = try issueOne(testbed, site: "lean.test")
        XCTAssertEqual(issued.domains, ["lean.test", "www.lean.test"])
        // newOrder, 2 authorizations, 2 challenge responses, their polls, finalize, (order poll), download.
        XCTAssertLessThanOrEqual(requests, 11, "requests after the account: \(requests)")
        XCTAssertGreaterThanOrEqual(requests, 8)
    }

    func testLongerChainsVerifyAndAlternateChainsAreOffered() throws {
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_CHAIN_LENGTH": "3", "PEBBLE_ALTERNATE_ROOTS": "1"])
        let (issued, _) = try issueOne(testbed, site: "chain.test")
        XCTAssertEqual(issued.chainLength, 4, "leaf and three intermediates, each verified to sign the one before")
        XCTAssertEqual(issued.alternateChains, 1, "Pebble offered one alternate chain (Link rel=alternate)")
        let root = try testbed.rootFile()
        let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", root, "-untrusted", issued.files.chain, issued.files.certificate])
        XCTAssertEqual(verify.status, 0, verify.output)

        // Preferring the alternate root's chain: the stored chain then verifies against that root, not root 0.
        let alternateRoot = try testbed.rootFile(index: 1)
        let alternateName = try Certificate(pem: String(contentsOfFile: alternateRoot, encoding: .utf8)).subject
        let (preferred, _) = try issueOne(testbed, site: "alt.test", extra: ["preferredChain": String(alternateName.dropFirst(3))])
        let chain = try Certificate.parseChain(pem: String(contentsOfFile: preferred.files.fullChain, encoding: .utf8))
        XCTAssertEqual(chain.last?.issuer, alternateName)
        let verifyAlternate = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", alternateRoot, "-untrusted", preferred.files.chain, preferred.files.certificate])
        XCTAssertEqual(verifyAlternate.status, 0, verifyAlternate.output)
    }
}
