import Foundation
import XCTest
@testable import ACME

/// RFC 8738: an order for a name and two addresses carries `dns` and `ip` identifiers, and the solver is handed each
/// authorization's identifier value (the address itself) to publish the token for.
final class IPIdentifierIssuanceTests: XCTestCase {
    private let b = Fixture.b

    private func order(_ status: String, certificate: Bool = false, location: Bool = false) -> HTTPResponse {
        var body = #"{"status":"\#(status)","expires":"2026-12-20T12:00:00Z","#
            + #""identifiers":[{"type":"dns","value":"a.test"},{"type":"ip","value":"127.0.0.1"},{"type":"ip","value":"::1"}],"#
            + #""authorizations":["\#(b)/authz/a","\#(b)/authz/v4","\#(b)/authz/v6"],"finalize":"\#(b)/order/1/finalize""#
        if certificate { body += #","certificate":"\#(Fixture.certURL)""# }
        body += "}"
        return json(body, status: location ? 201 : 200, headers: location ? [("Location", Fixture.orderURL)] : [])
    }

    private func authz(_ path: String, type: String, value: String, _ status: String) -> HTTPResponse {
        json(#"{"identifier":{"type":"\#(type)","value":"\#(value)"},"status":"\#(status)","expires":"2026-12-27T12:00:00Z","#
             + #""challenges":[{"type":"http-01","url":"\#(b)/chall/\#(path)","status":"\#(status == "valid" ? "valid" : "pending")","token":"tok_\#(path)"}]}"#)
    }

    func testOrderCarriesIPIdentifiersAndTheSolverGetsTheAddress() throws {
        let t = ScriptedTransport()
        t.on(.post, b + "/order", order("pending", location: true))
        t.on(.post, b + "/authz/a", authz("a", type: "dns", value: "a.test", "valid"))
        t.on(.post, b + "/authz/v4", authz("v4", type: "ip", value: "127.0.0.1", "pending"), authz("v4", type: "ip", value: "127.0.0.1", "valid"))
        t.on(.post, b + "/authz/v6", authz("v6", type: "ip", value: "::1", "pending"), authz("v6", type: "ip", value: "::1", "valid"))
        t.on(.post, b + "/chall/v4", json(#"{"type":"http-01","url":"\#(b)/chall/v4","status":"processing","token":"tok_v4"}"#))
        t.on(.post, b + "/chall/v6", json(#"{"type":"http-01","url":"\#(b)/chall/v6","status":"processing","token":"tok_v6"}"#))
        t.on(.post, b + "/order/1/finalize", order("processing"))
        t.on(.post, Fixture.orderURL, order("valid", certificate: true))
        t.on(.post, Fixture.certURL, Fixture.certificate())
        let solver = RecordingSolver()

        let identifiers: [ACMEIdentifier] = [.dns("a.test"), .ip("127.0.0.1"), .ip("::1"), .dns("A.test")]
        let (issued, _) = try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), identifiers: identifiers,
                                                   csrDER: [1], solver: solver)

        XCTAssertEqual(issued.status, "valid")
        let newOrder = try XCTUnwrap(try t.posts().first { $0.url == b + "/order" }).payload
        XCTAssertEqual(newOrder["identifiers"] as? [[String: String]], [
            ["type": "dns", "value": "a.test"], ["type": "ip", "value": "127.0.0.1"], ["type": "ip", "value": "::1"],
        ], "the repeated name is sent once, each address as an ip identifier")
        XCTAssertEqual(solver.presented.map(\.domain), ["127.0.0.1", "::1"], "the already valid name needs no token")
        XCTAssertEqual(solver.cleaned, ["127.0.0.1/tok_v4", "::1/tok_v6"])
    }

    func testDomainsFormSendsDNSIdentifiersOnly() throws {
        let t = ScriptedTransport()
        Fixture.scriptHappyPath(t)
        _ = try HTTP01Issuance.issue(client: makeClient(t, accountURL: Fixture.accountURL), domains: ["a.test", "b.test"], csrDER: [1],
                                     solver: RecordingSolver())
        let newOrder = try XCTUnwrap(try t.posts().first { $0.url == b + "/order" }).payload
        XCTAssertEqual((newOrder["identifiers"] as? [[String: String]])?.map { $0["type"] }, ["dns", "dns"])
    }
}
