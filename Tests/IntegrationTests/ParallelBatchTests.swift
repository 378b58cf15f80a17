import Foundation
import TestSupport
import XCTest

/// `issue` and `renew` over many certificates against a real Pebble: up to `maxConcurrentRenewals` orders at once over
/// one account and shared connections, each result printed whole, one failure stopping no other, and Ctrl-C/SIGTERM
/// abandoning every order in flight.
final class ParallelBatchTests: XCTestCase {
    /// The lines that follow `✓ NAME: issued for …`, in order: a result printed whole has them all, right below it.
    private static let issuedDetails = ["    valid until   ", "    issuer        ", "    serial        ", "    full chain    ",
                                        "    private key   ", "    certificate   ", "    chain         "]

    /// The most orders Pebble had open at once, read from its log in order: an order opens when added and closes when
    /// its certificate is issued or it turns invalid.
    private func mostOrdersOpenAtOnce(_ testbed: Testbed) throws -> Int {
        let log = try String(contentsOfFile: testbed.values["TESTBED_PEBBLE_LOG"]!, encoding: .utf8)
        var open: Set<String> = []
        var most = 0
        for line in log.split(separator: "\n") {
            let words = line.split(separator: " ")
            if let added = line.range(of: "Added order \"") {
                open.insert(String(line[added.upperBound...].prefix { $0 != "\"" }))
            } else if line.contains("Issued certificate serial "), let order = words.last {
                open.remove(String(order))
            } else if let at = words.firstIndex(of: "order"), words.count > at + 3, words[at + 2] == "set", words[at + 3] == "INVALID" {
                open.remove(String(words[at + 1]))
            }
            most = max(most, open.count)
        }
        return most
    }

    /// Checks that each `✓ NAME: issued` line of `stdout` is followed by its detail lines, nothing in between.
    private func assertResultsWhole(_ stdout: String, names: [String], file: StaticString = #filePath, line: UInt = #line) {
        let lines = stdout.components(separatedBy: "\n")
        for name in names {
            guard let start = lines.firstIndex(where: { $0.hasPrefix("✓ \(name): issued for ") }) else {
                return XCTFail("no result for \(name):\n\(stdout)", file: file, line: line)
            }
            let details = Array(lines.dropFirst(start + 1).prefix(Self.issuedDetails.count))
            XCTAssertEqual(details.count, Self.issuedDetails.count, stdout, file: file, line: line)
            for (detail, prefix) in zip(details, Self.issuedDetails) {
                XCTAssertTrue(detail.hasPrefix(prefix), "\(name)'s result is not whole: \(detail.debugDescription) where \(prefix.debugDescription) belongs\n\(stdout)",
                              file: file, line: line)
            }
        }
    }

    func testEightCertificatesFourAtATimeOneFailingTheOthersIssuedEachResultWhole() throws {
        // Pebble's validation delay (0–5 s per name) keeps orders open long enough to overlap.
        let testbed = try Testbed(options: ["--va-sleep"])
        let names = (0..<7).map { "p\($0)" }
        var certificates: [[String: Any]] = try names.map { name in
            ["name": name, "domains": ["\(name).test", "www.\(name).test"], "webroot": try testbed.webroot(for: "\(name).test")]
        }
        // A webroot nginx does not serve for these names: Pebble gets a 404 for the token.
        let unserved = testbed.directory + "/elsewhere/public_html"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        certificates.insert(["name": "lost", "domains": ["lost.test", "www.lost.test"], "webroot": unserved], at: 3)
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig(certificates, storage: storage, extra: ["maxConcurrentRenewals": 4])

        let result = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(result.status, 1, "one failed: \(result.output)")
        assertResultsWhole(result.stdout, names: names)
        XCTAssertEqual(result.stderr.components(separatedBy: "✗ lost: ").count - 1, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("✗ lost: lost.test did not pass the CA's HTTP-01 check") || result.stderr.contains("✗ lost: www.lost.test did not pass"),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("  no certificate was stored"), result.stderr)
        XCTAssertTrue(result.stderr.contains("1 of 8 certificates failed"), result.stderr)
        XCTAssertTrue(result.stdout.contains("8 certificates in "), result.stdout)
        XCTAssertTrue(result.stdout.contains(" s, up to 4 at a time: 7 issued, 1 failed\n"), result.stdout)
        // Not a terminal: no progress line, no carriage return or escape sequence.
        XCTAssertFalse(result.stdout.contains("\r") || result.stdout.contains("\u{1B}") || result.stdout.contains("in progress"), result.stdout)

        let most = try mostOrdersOpenAtOnce(testbed)
        XCTAssertLessThanOrEqual(most, 4, "never more than maxConcurrentRenewals orders at once")
        XCTAssertGreaterThanOrEqual(most, 2, "orders ran side by side")
        XCTAssertEqual(try testbed.ordersCreated(), 8)
        for name in names {
            XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/certificates/\(name)/current/fullchain.pem"), name)
            XCTAssertEqual(filesBelow(testbed.sites + "/\(name).test/public_html"), [], "no challenge file left for \(name)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/lost/current"))
        XCTAssertEqual(filesBelow(unserved), [])
    }

    func testAnExtraTwoNameCertificateInABatchCostsTenRequestsAndRenewRunsTheBatchToo() throws {
        let testbed = try Testbed()
        let storage = testbed.directory + "/store"
        func certificate(_ name: String) throws -> [String: Any] {
            ["name": name, "domains": ["\(name).test", "www.\(name).test"], "webroot": try testbed.webroot(for: "\(name).test")]
        }
        // The account exists already, as on any machine past its first day.
        let first = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", try testbed.writeConfig([try certificate("first")], storage: storage)])
        XCTAssertEqual(first.status, 0, first.output)

        // One certificate in one command, then eight in one command: what each extra certificate costs.
        var listed = [try certificate("first"), try certificate("one")]
        let before = try testbed.acmeRequests().count
        let one = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", try testbed.writeConfig(listed, storage: storage)])
        XCTAssertEqual(one.status, 0, one.output)
        let afterOne = try testbed.acmeRequests().count
        let batch = (0..<8).map { "b\($0)" }
        listed += try batch.map(certificate)
        let config = try testbed.writeConfig(listed, storage: storage, extra: ["maxConcurrentRenewals": 4])
        let eight = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(eight.status, 0, eight.output)
        assertResultsWhole(eight.stdout, names: batch)
        XCTAssertTrue(eight.stdout.contains(" s, up to 4 at a time: 8 issued\n"), eight.stdout)
        let requests = try testbed.acmeRequests()
        let (single, many) = (afterOne - before, requests.count - afterOne)
        // Per certificate: newOrder, 2 challenge responses, finalize, the download — and the fetches and polls of its 2
        // authorizations and its order, at least 5 (more only when Pebble is slower than the first poll on a loaded
        // machine). The batch adds no request of its own (directory, nonce, account) per certificate.
        let isPoll = { (request: String) in request.contains("/authZ/") || request.contains("/my-order/") }
        let singlePolls = requests[before..<afterOne].filter(isPoll).count
        let manyPolls = requests[afterOne...].filter(isPoll).count
        XCTAssertEqual(Double((many - manyPolls) - (single - singlePolls)) / 7, 5, "requests besides polls per extra certificate: \(requests[afterOne...])")
        XCTAssertLessThanOrEqual(Double(many - single) / 7, 11, "requests per extra certificate: one alone \(single), eight together \(many)")
        print("ACME requests per extra two-name certificate in a batch of 8: \(Double(many - single) / 7) (one alone: \(single), eight: \(many))")
        XCTAssertEqual(try testbed.acmeRequests().filter { $0.hasSuffix("/sign-me-up") || $0.contains("new-acct") }.count, 4,
                       "one account: created once (lookup, creation), then looked up once per command")

        // `renew --force` runs the same way; on a terminal (`script` gives it one) a batch of more than five shows a
        // progress line, overwritten in place and cleared before each result, so results stay whole.
        let command = ([ProjectPaths.certagentBinary, "renew", "--force", "--config", config] + batch).joined(separator: " ")
        let renew = try runCommand("/usr/bin/script", ["-qec", command, "/dev/null"])
        XCTAssertEqual(renew.status, 0, renew.output)
        let terminal = renew.stdout.replacing("\r\n", with: "\n")
        XCTAssertTrue(terminal.contains("\r\u{1B}[K… 0 of 8 done, 0 in progress"), terminal.debugDescription)
        XCTAssertTrue(terminal.contains("\r\u{1B}[K… 7 of 8 done, "), terminal.debugDescription)
        let progress = try NSRegularExpression(pattern: "\r\u{1B}\\[K(… [0-9]+ of 8 done, [0-9]+ in progress)?")
        let shown = progress.stringByReplacingMatches(in: terminal, range: NSRange(terminal.startIndex..., in: terminal), withTemplate: "")
        assertResultsWhole(shown, names: batch)
        XCTAssertTrue(shown.contains("\n8 certificates in "), shown)
        XCTAssertTrue(shown.contains(" s, up to 4 at a time: 8 renewed\n"), shown)
        XCTAssertFalse(shown.contains("\r") || shown.contains("\u{1B}"), "the progress line is gone when the batch ends: \(shown.debugDescription)")
        XCTAssertEqual(try testbed.ordersCreated(), 18)
    }

    func testSIGTERMWithSeveralOrdersInFlightAbandonsEachAndRemovesEveryChallengeFile() throws {
        // Pebble's validation delay keeps the orders pending while their token files are published.
        let testbed = try Testbed(options: ["--va-sleep"])
        let names = (0..<6).map { "t\($0)" }
        let webroots = try names.map { try testbed.webroot(for: "\($0).test") }
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig(zip(names, webroots).map { name, webroot in
            ["name": name, "domains": ["\(name).test", "www.\(name).test"], "webroot": webroot]
        }, storage: storage, extra: ["maxConcurrentRenewals": 4])
        let issue = try BackgroundProcess([ProjectPaths.certagentBinary, "issue", "--config", config], outputPath: testbed.directory + "/issue.log")
        let published = { webroots.filter { !filesBelow($0 + "/.well-known/acme-challenge").isEmpty }.count }
        XCTAssertTrue(eventually(timeout: 60) { published() >= 2 }, "several orders publish their tokens at once: \(issue.output)")
        issue.send(SIGTERM)
        XCTAssertEqual(issue.waitForExit(timeout: 20), 143, "128 + SIGTERM: \(issue.output)")
        let output = issue.output
        XCTAssertTrue(output.contains("✗ interrupted by SIGTERM: "), output)
        XCTAssertTrue(output.contains(" not finished (nothing replaced, no challenge file left)"), output)
        let issued = names.filter { output.contains("✓ \($0): issued for ") }
        for (name, webroot) in zip(names, webroots) {
            XCTAssertEqual(filesBelow(webroot), [], "no token file or directory left for \(name)")
            XCTAssertEqual(FileManager.default.fileExists(atPath: storage + "/certificates/\(name)/current"), issued.contains(name), name)
        }
        // "✗ interrupted by SIGTERM: t0, t2 not finished (…); t4, t5 not started"
        guard let line = output.split(separator: "\n").first(where: { $0.contains("✗ interrupted by SIGTERM: ") }),
              let from = line.range(of: "SIGTERM: "), let to = line.range(of: " not finished") else { return XCTFail(output) }
        let cutShort = line[from.upperBound..<to.lowerBound].components(separatedBy: ", ")
        XCTAssertGreaterThanOrEqual(cutShort.count, 2, "several orders were in flight: \(line)")
        XCTAssertTrue(Set(cutShort).isDisjoint(with: issued), output)
        // Nothing counted against the certificates: the next issue gets the rest at once.
        let again = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(again.status, 0, again.output)
    }
}
