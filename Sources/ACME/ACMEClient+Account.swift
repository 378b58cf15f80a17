import FoundationEssentials

extension ACMEClient {
    /// Creates the account for the signer's key, or returns the existing one (RFC 8555 §7.3), signed with `jwk`.
    /// With `externalAccountBinding`, adds the EAB JWS (§7.3.4): protected {alg, kid, url = newAccount},
    /// payload = the account's public JWK, MAC'd with the CA-issued key. Sets `accountURL`.
    public func newAccount(contact: [String], termsOfServiceAgreed: Bool,
                           externalAccountBinding: (any MACSigner)? = nil) throws -> ACMEAccount {
        let url = try directory().newAccount
        var payload: [String: JSONValue] = [
            "contact": .array(contact.map(JSONValue.string)),
            "termsOfServiceAgreed": .bool(termsOfServiceAgreed),
        ]
        if let mac = externalAccountBinding {
            payload["externalAccountBinding"] = try JWS.externalAccountBinding(accountJWK: signer.publicJWK, url: url, mac: mac)
        }
        let response = try post(url, payload: .object(payload), key: .jwk)
        return try account(from: response, url: url)
    }

    /// Finds the account of the signer's key without creating one (`onlyReturnExisting`, RFC 8555 §7.3.1).
    /// Returns nil when the server answers `accountDoesNotExist`. Sets `accountURL` when found.
    public func lookUpAccount() throws -> ACMEAccount? {
        let url = try directory().newAccount
        do {
            let response = try post(url, payload: .object(["onlyReturnExisting": .bool(true)]), key: .jwk)
            return try account(from: response, url: url)
        } catch ACMEError.problem(let problem, _, _) where problem.kind == .accountDoesNotExist {
            return nil
        }
    }

    /// The account object as the CA holds it now: POST-as-GET to the account URL (RFC 8555 §7.3, §6.3).
    public func fetchAccount() throws -> ACMEAccount {
        let url = try requireAccountURL()
        return try accountObject(try fetch(url), url: url)
    }

    /// Replaces the account's contact URLs (RFC 8555 §7.3.2); returns the updated account.
    public func updateAccount(contact: [String]) throws -> ACMEAccount {
        let url = try requireAccountURL()
        let response = try post(url, payload: .object(["contact": .array(contact.map(JSONValue.string))]))
        return try accountObject(response, url: url)
    }

    /// Deactivates the account for good (RFC 8555 §7.3.6); returns it with status `deactivated`.
    public func deactivateAccount() throws -> ACMEAccount {
        let url = try requireAccountURL()
        let response = try post(url, payload: .object(["status": .string("deactivated")]))
        return try accountObject(response, url: url)
    }

    /// The account object in a response about the account at `url`.
    private func accountObject(_ response: HTTPResponse, url: String) throws -> ACMEAccount {
        let body = response.body.isEmpty ? AccountBody() : try decode(AccountBody.self, from: response, url: url)
        return ACMEAccount(url: url, status: body.status ?? "valid", contact: body.contact ?? [])
    }

    /// The account in a newAccount response: URL from `Location`, object from the body (may be empty).
    private func account(from response: HTTPResponse, url: String) throws -> ACMEAccount {
        let accountURL = try location(response, url: url)
        let body = response.body.isEmpty ? AccountBody() : try decode(AccountBody.self, from: response, url: url)
        state.withLock { $0.accountURL = accountURL }
        return ACMEAccount(url: accountURL, status: body.status ?? "valid", contact: body.contact ?? [])
    }
}
