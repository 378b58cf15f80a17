/// The whole HTTP-01 flow of one certificate (RFC 8555 §7.4–7.4.2).
public struct HTTP01Issuance {
    /// True when a refused new order may be about its `replaces` hint rather than the order itself.
    static func refusesReplaces(_ error: ACMEError) -> Bool {
        guard let problem = error.problem else { return false }
        switch problem.kind {
        case .alreadyReplaced, .malformed, .unauthorized: return true
        case .rateLimited, .badNonce, .serverInternal, .rejectedIdentifier, .externalAccountRequired, .accountDoesNotExist: return false
        default: return (400..<500).contains(problem.status ?? 0)
        }
    }

    /// Orders a certificate for `identifiers` (`dns` names, RFC 8555 §9.7.7, and `ip` addresses, RFC 8738 §3, whose
    /// values the caller gives in canonical text), proves control over each pending one with HTTP-01 (§8.3; the
    /// solver is handed the authorization's identifier value: a name, or an address), finalizes with `csrDER` and
    /// downloads the chain. Repeated identifiers (same type, value ignoring case) are sent once.
    ///
    /// When the server refuses the order because of `replaces` (RFC 9773 §5: `alreadyReplaced`; or the named
    /// certificate is not one this account may replace — another CA or account, no name in common — which servers
    /// answer with `malformed`, `unauthorized` or another client error), the order is placed again once without it,
    /// so a renewal never fails forever on a stale hint. Rate limits and server errors are not retried here.
    /// Already-valid authorizations (reused) are skipped. Every token is checked to be base64url before the
    /// solver sees any; all challenges are presented and answered before any is polled. `solver.cleanUp` is
    /// called for every token handed to `present` (also one whose `present` threw), on success and on every error.
    public static func issue(client: ACMEClient, identifiers requested: [ACMEIdentifier], csrDER: [UInt8], solver: any HTTP01Solver,
                             replaces: String? = nil, profile: String? = nil) throws -> (order: ACMEOrder, chain: ACMECertificateChain) {
        var seen = Set<ACMEIdentifier>()
        let identifiers = requested.filter { seen.insert(ACMEIdentifier(type: $0.type, value: $0.value.lowercased())).inserted }
        let order: ACMEOrder
        do {
            order = try client.newOrder(identifiers: identifiers, replaces: replaces, profile: profile)
        } catch let error as ACMEError where replaces != nil && refusesReplaces(error) {
            order = try client.newOrder(identifiers: identifiers, replaces: nil, profile: profile)
        }

        // Collect the work, checking every token before presenting anything.
        var work: [(authorization: ACMEAuthorization, challenge: ACMEChallenge, token: String, keyAuthorization: String)] = []
        for url in order.authorizations {
            let authorization = try client.authorization(at: url)
            switch authorization.status {
            case "valid":
                continue
            case "pending":
                guard let challenge = authorization.challenge(ofType: "http-01") else {
                    throw ACMEError.noSupportedChallenge(identifier: authorization.identifier)
                }
                let token = challenge.token ?? ""
                work.append((authorization, challenge, token, try client.keyAuthorization(token: token)))
            default:
                throw ACMEError.authorizationFailed(identifier: authorization.identifier, problem: authorization.failure)
            }
        }

        var presented: [(domain: String, token: String)] = []
        defer { for item in presented { solver.cleanUp(domain: item.domain, token: item.token) } }
        for item in work {
            presented.append((item.authorization.identifier.value, item.token))
            try solver.present(domain: item.authorization.identifier.value, token: item.token, keyAuthorization: item.keyAuthorization)
        }
        for item in work where item.challenge.status == "pending" {
            _ = try client.respond(to: item.challenge)
        }
        for item in work {
            _ = try client.waitForAuthorization(at: item.authorization.url)
        }

        var finalized: ACMEOrder
        do {
            finalized = try client.finalize(order: order, csrDER: csrDER)
        } catch let error as ACMEError where error.problem?.kind == .orderNotReady {
            // The server has not yet noticed every authorization is valid: wait for `ready` and try once more.
            _ = try client.waitForOrder(at: order.url, until: "ready")
            finalized = try client.finalize(order: order, csrDER: csrDER)
        }
        if finalized.status != "valid" || finalized.certificate == nil {
            finalized = try client.waitForOrder(at: finalized.url)
        }
        guard let certificateURL = finalized.certificate else {
            throw ACMEError.orderFailed(url: finalized.url, status: finalized.status, problem: ACMEProblem(
                type: "about:blank", detail: "the order is valid but names no certificate URL"))
        }
        let chain = try client.downloadCertificate(at: certificateURL)
        return (finalized, chain)
    }

    /// `issue(client:identifiers:…)` for DNS names only: each of `domains` as a `dns` identifier.
    public static func issue(client: ACMEClient, domains: [String], csrDER: [UInt8], solver: any HTTP01Solver,
                             replaces: String? = nil, profile: String? = nil) throws -> (order: ACMEOrder, chain: ACMECertificateChain) {
        try issue(client: client, identifiers: domains.map(ACMEIdentifier.dns), csrDER: csrDER, solver: solver,
                  replaces: replaces, profile: profile)
    }
}
