import Foundation
@testable import ACME

/// JSON bodies of a small CA with a two-name order `order/1` for a.test and b.test.
enum Fixture {
    static let b = ScriptedTransport.base
    static let accountURL = b + "/acct/7"
    static let orderURL = b + "/order/1"
    static let certURL = b + "/cert/1"

    static func account(status: Int = 201) -> HTTPResponse {
        json(#"{"status":"valid","contact":["mailto:admin@a.test"],"orders":"https://acme.test/acct/7/orders"}"#,
             status: status, headers: [("Location", accountURL)])
    }

    static func order(_ status: String, certificate: Bool = false, error: String? = nil, location: Bool = false) -> HTTPResponse {
        var body = #"{"status":"\#(status)","expires":"2025-06-20T12:00:00.123456789Z","#
            + #""identifiers":[{"type":"dns","value":"a.test"},{"type":"dns","value":"b.test"}],"#
            + #""authorizations":["\#(b)/authz/a","\#(b)/authz/b"],"finalize":"\#(b)/order/1/finalize""#
        if certificate { body += #","certificate":"\#(certURL)""# }
        if let error { body += #","error":\#(error)"# }
        body += "}"
        return json(body, status: location ? 201 : 200, headers: location ? [("Location", orderURL)] : [])
    }

    static func authz(_ name: String, _ status: String, token: String? = nil, challengeStatus: String = "pending",
                      error: String? = nil, retryAfter: String? = nil) -> HTTPResponse {
        let tok = token ?? "tok_\(name)-1"
        let err = error.map { #","error":\#($0)"# } ?? ""
        let body = #"{"identifier":{"type":"dns","value":"\#(name).test"},"status":"\#(status)","#
            + #""expires":"2025-06-27T12:00:00Z","challenges":["#
            + #"{"type":"dns-01","url":"\#(b)/chall/\#(name)/dns","status":"pending","token":"\#(tok)"},"#
            + #"{"type":"http-01","url":"\#(b)/chall/\#(name)","status":"\#(challengeStatus)","token":"\#(tok)"\#(err)}]}"#
        return json(body, headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
    }

    static func challenge(_ name: String, _ status: String = "processing") -> HTTPResponse {
        json(#"{"type":"http-01","url":"\#(b)/chall/\#(name)","status":"\#(status)","token":"tok_\#(name)-1"}"#)
    }

    static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"

    static func certificate() -> HTTPResponse {
        HTTPResponse(status: 200, headers: [
            (name: "Content-Type", value: "application/pem-certificate-chain"),
            (name: "Link", value: #"<https://acme.test/cert/1/alt/1>;rel="alternate", <https://acme.test/issuer>; rel="up""#),
            (name: "link", value: #"</cert/1/alt/2>; rel="alternate""#),
            (name: "Link", value: #"<https://acme.test/dir>;rel="index""#),
        ], body: Array(pem.utf8))
    }

    /// Scripts the happy path of the two-name order (after the account exists).
    static func scriptHappyPath(_ t: ScriptedTransport) {
        t.on(.post, b + "/order", order("pending", location: true))
        t.on(.post, b + "/authz/a", authz("a", "pending"), authz("a", "valid", challengeStatus: "valid"))
        t.on(.post, b + "/authz/b", authz("b", "pending"), authz("b", "valid", challengeStatus: "valid"))
        t.on(.post, b + "/chall/a", challenge("a"))
        t.on(.post, b + "/chall/b", challenge("b"))
        t.on(.post, b + "/order/1/finalize", order("processing"))
        t.on(.post, orderURL, order("valid", certificate: true))
        t.on(.post, certURL, certificate())
    }
}
