import ACME
import CertCrypto
import Foundation
import Synchronization

/// A tiny but real ACME server (RFC 8555 + RFC 9773 ARI + the profiles extension) behind `HTTPTransport`, for driving `RenewalService` end to
/// end without Pebble (which has no ARI). It keeps state like a CA: nonces are issued and accepted once each, the
/// JWS `url` must match, `kid` must name a registered account; orders move pending → ready → processing → valid;
/// an http-01 challenge is only valid when the key authorization file `token.<thumbprint>` is in the domain's webroot
/// when the challenge is POSTed (as a real CA would fetch it); finalize signs the CSR with `ScriptedIssuingCA`; and
/// renewalInfo answers, per test script, only for certificate IDs it issued. Every response carries a Replay-Nonce.
/// JWS signatures are not verified.
final class ScriptedACMEServer: HTTPTransport {
    static let base = "https://ca.test"
    static let directoryURL = base + "/dir"
    static let renewalInfoBase = base + "/renewalInfo"
    static let errorPrefix = "urn:ietf:params:acme:error:"

    /// What GET renewalInfo/<id> answers.
    enum RenewalInfoScript: Sendable {
        /// 200 with `suggestedWindow`, and `Retry-After` when given.
        case window(start: Date, end: Date, retryAfter: String?)
        /// An error status with a `serverInternal` problem document.
        case failure(status: Int)
    }

    /// A problem the next newOrder requests answer with.
    struct ScriptedProblem: Sendable {
        var status: Int
        var type: String
        var detail: String
        var retryAfter: String?
    }

    /// One newOrder request as the CA read its payload.
    struct PlacedOrder: Sendable, Equatable {
        var identifiers: [String]
        /// The payload's `replaces` (RFC 9773 §5), nil when the member was absent.
        var replaces: String?
        /// Whether the payload had a `replaces` member at all.
        var hasReplacesMember: Bool
        /// Whether the CA accepted the order (false: answered with an error).
        var accepted: Bool
        /// The payload's `profile` (the profiles extension), nil when absent.
        var profile: String? = nil
    }

    /// A certificate the CA issued.
    struct IssuedLeaf: Sendable {
        var serialHex: String
        /// The ARI identifier the CA computed for it (from its own SKI and the serial it chose).
        var certificateID: String
        var chainPEM: String
    }

    private struct Order {
        var accountURL: String
        var identifiers: [String]
        var authorizations: [Int]
        var replaces: String?
        var profile: String?
        var finalized = false
        var polledSinceFinalize = false
        var certificate: Int?
        var invalid = false
    }

    private struct Authorization {
        var domain: String
        var token: String
        var challengeStatus = "pending"
        var error: String?
    }

    private struct State {
        var nonceCounter = 0
        var outstandingNonces: Set<String> = []
        var accountsByThumbprint: [String: String] = [:]
        var thumbprintsByAccount: [String: String] = [:]
        var contactsByAccount: [String: [String]] = [:]
        var deactivatedAccounts: Set<String> = []
        var keyChangeFailure: ScriptedProblem?
        var keyChangeAnswerLost = false
        var orders: [Order] = []
        var authorizations: [Authorization] = []
        var issued: [IssuedLeaf] = []
        var replaced: Set<String> = []
        var nextSerial = 1
        var requests: [HTTPRequest] = []
        var placedOrders: [PlacedOrder] = []
        var renewalInfoScript: RenewalInfoScript?
        var newOrderFailure: ScriptedProblem?
        var rejectedNonces = 0
        var challengeFilesChecked: [String] = []
        var leafLifetimeDays = 90
        var hostile = HostileScript()
        /// The directory's `meta.profiles` (name → description); nil: the directory has none.
        var profiles: [String: String]?
    }

    /// How the CA misbehaves, for the tests of what CertAgent accepts from it.
    struct HostileScript: Sendable {
        /// The token of every new http-01 challenge (e.g. 10 kB, or with control characters), instead of a random one.
        var challengeToken: String?
        /// The certificate download's body, instead of the issued chain (garbage, DER, binary).
        var certificateBody: [UInt8]?
        /// Names the CA adds to every certificate it issues, beyond those requested (`DNS:x` / `IP:x` form).
        var extraNames: [String] = []
    }

    private let state = Mutex(State())
    private let newOrderHook = Mutex<(@Sendable () -> Void)?>(nil)
    private let ca: ScriptedIssuingCA
    private let webroots: [String: String]

    /// `webroots` stands in for fetching http://<domain>/.well-known/acme-challenge/<token>: domain → webroot folder.
    /// `base`: where this CA answers (`https://ca.test` unless a test runs a second one beside it).
    init(ca: ScriptedIssuingCA, webroots: [String: String], base: String = ScriptedACMEServer.base) {
        self.ca = ca
        self.webroots = webroots
        self.base = base
    }

    /// Where this CA answers; its directory and renewalInfo URLs below it.
    let base: String
    var directoryURL: String { base + "/dir" }
    var renewalInfoBase: String { base + "/renewalInfo" }

    // MARK: Scripting and observation

    func script(renewalInfo: RenewalInfoScript?) { state.withLock { $0.renewalInfoScript = renewalInfo } }
    func script(newOrderFailure: ScriptedProblem?) { state.withLock { $0.newOrderFailure = newOrderFailure } }
    func script(leafLifetimeDays: Int) { state.withLock { $0.leafLifetimeDays = leafLifetimeDays } }
    func script(hostile: HostileScript) { state.withLock { $0.hostile = hostile } }
    /// The profiles the directory offers (`meta.profiles`) and new orders accept; nil: none (orders naming one are refused).
    func script(profiles: [String: String]?) { state.withLock { $0.profiles = profiles } }
    /// The next keyChange requests answer with this problem (and change nothing).
    func script(keyChangeFailure: ScriptedProblem?) { state.withLock { $0.keyChangeFailure = keyChangeFailure } }
    /// The next keyChange is carried out but its answer never arrives (the transport throws), as when the connection
    /// drops or the client is killed after the CA acted.
    func script(keyChangeAnswerLost: Bool) { state.withLock { $0.keyChangeAnswerLost = keyChangeAnswerLost } }
    /// Runs `hook` as each newOrder request arrives, before the CA handles it and outside its state, so the hook may
    /// block: a test holds an order in flight (a slow CA) while it starts a second renewal.
    func script(beforeNewOrder hook: (@Sendable () -> Void)?) { newOrderHook.withLock { $0 = hook } }

    /// The account URL the CA associates with the key of `thumbprint` (RFC 7638), nil when none.
    func account(ofKey thumbprint: String) -> String? { state.withLock { $0.accountsByThumbprint[thumbprint] } }
    /// The thumbprint of the key the account at `url` answers to now.
    func keyThumbprint(ofAccount url: String) -> String? { state.withLock { $0.thumbprintsByAccount[url] } }
    /// The contact URLs the account at `url` holds.
    func contact(ofAccount url: String) -> [String]? { state.withLock { $0.contactsByAccount[url] } }
    /// Whether the account at `url` was deactivated.
    func isDeactivated(_ url: String) -> Bool { state.withLock { $0.deactivatedAccounts.contains(url) } }
    /// Every account URL registered, in order.
    var accountURLs: [String] { state.withLock { state in state.thumbprintsByAccount.keys.sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count } } }

    /// Every request received, in order.
    var requests: [HTTPRequest] { state.withLock { $0.requests } }
    /// Every newOrder request, accepted or not.
    var placedOrders: [PlacedOrder] { state.withLock { $0.placedOrders } }
    /// Every certificate issued, in order.
    var issued: [IssuedLeaf] { state.withLock { $0.issued } }
    /// Requests refused for a nonce the CA had not issued or had already seen.
    var rejectedNonces: Int { state.withLock { $0.rejectedNonces } }
    /// Challenge files the CA found with the right content (the paths it "fetched").
    var challengeFilesChecked: [String] { state.withLock { $0.challengeFilesChecked } }
    /// The URLs of every GET renewalInfo request.
    var renewalInfoRequests: [String] {
        requests.filter { $0.method == .get && $0.url.hasPrefix(renewalInfoBase + "/") }.map(\.url)
    }

    // MARK: HTTPTransport

    /// The error a lost answer throws.
    struct AnswerLost: Error {}

    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        if request.url == base + "/new-order", let hook = newOrderHook.withLock({ $0 }) { hook() }
        let response = state.withLock { state in
            state.requests.append(request)
            var response = handle(request, &state)
            state.nonceCounter += 1
            let nonce = "nonce-\(state.nonceCounter)-\(UUID().uuidString.prefix(8))"
            state.outstandingNonces.insert(nonce)
            response.headers.append((name: "Replay-Nonce", value: nonce))
            return response
        }
        let lost = state.withLock { state in
            guard request.url == base + "/key-change", state.keyChangeAnswerLost else { return false }
            state.keyChangeAnswerLost = false
            return true
        }
        if lost { throw AnswerLost() }
        return response
    }

    private func handle(_ request: HTTPRequest, _ state: inout State) -> HTTPResponse {
        let path = String(request.url.dropFirst(base.count))
        guard request.url.hasPrefix(base) else { return problem(404, "malformed", "not this CA: \(request.url)") }
        switch (request.method, path) {
        case (.get, "/dir"):
            var meta: [String: Any] = ["termsOfService": base + "/terms"]
            if let profiles = state.profiles { meta["profiles"] = profiles }
            return json(200, [
                "newNonce": base + "/new-nonce", "newAccount": base + "/new-account",
                "newOrder": base + "/new-order", "revokeCert": base + "/revoke-cert",
                "keyChange": base + "/key-change", "renewalInfo": renewalInfoBase,
                "meta": meta,
            ])
        case (.head, "/new-nonce"):
            return HTTPResponse(status: 200, headers: [(name: "Cache-Control", value: "no-store")])
        case (.get, _) where path.hasPrefix("/renewalInfo/"):
            return renewalInfo(certificateID: String(path.dropFirst("/renewalInfo/".count)), &state)
        case (.post, _):
            return post(request, path: path, &state)
        default:
            return problem(405, "malformed", "\(request.method.rawValue) \(path) is not supported")
        }
    }

    // MARK: JWS

    private struct FlattenedJWS: Decodable {
        var protected: String
        var payload: String
        var signature: String
    }

    private struct ProtectedHeader: Decodable {
        var alg: String
        var nonce: String
        var url: String
        var kid: String?
        var jwk: [String: String]?
    }

    private func post(_ request: HTTPRequest, path: String, _ state: inout State) -> HTTPResponse {
        guard let body = request.body, let jws = try? JSONDecoder().decode(FlattenedJWS.self, from: Data(body)),
              let protectedBytes = Self.base64urlDecode(jws.protected),
              let header = try? JSONDecoder().decode(ProtectedHeader.self, from: Data(protectedBytes)),
              let payloadBytes = Self.base64urlDecode(jws.payload) else {
            return problem(400, "malformed", "the body is not a flattened JWS")
        }
        guard state.outstandingNonces.remove(header.nonce) != nil else {
            state.rejectedNonces += 1
            return problem(400, "badNonce", "unknown or reused nonce \(header.nonce)")
        }
        guard header.url == request.url else { return problem(401, "unauthorized", "JWS url \(header.url) is not \(request.url)") }
        let payload: [String: Any]?
        if payloadBytes.isEmpty {
            payload = nil   // POST-as-GET
        } else if let object = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any] {
            payload = object
        } else {
            return problem(400, "malformed", "the payload is not a JSON object")
        }

        if path == "/new-account" {
            guard let jwk = header.jwk, header.kid == nil, let thumbprint = Self.thumbprint(jwk) else {
                return problem(400, "malformed", "newAccount must be signed with an EC P-256 jwk")
            }
            if let existing = state.accountsByThumbprint[thumbprint] {
                // As Pebble and Boulder answer for a deactivated account's key.
                if state.deactivatedAccounts.contains(existing) {
                    return problem(403, "unauthorized", "an account with the provided public key exists but is deactivated")
                }
                return json(200, ["status": "valid", "contact": state.contactsByAccount[existing] ?? []], headers: [("Location", existing)])
            }
            if payload?["onlyReturnExisting"] as? Bool == true {
                return problem(400, "accountDoesNotExist", "no account for this key")
            }
            guard payload?["termsOfServiceAgreed"] as? Bool == true else {
                return problem(403, "userActionRequired", "agree to the terms of service")
            }
            let url = base + "/acct/\(state.accountsByThumbprint.count + 1)"
            state.accountsByThumbprint[thumbprint] = url
            state.thumbprintsByAccount[url] = thumbprint
            let contact = payload?["contact"] as? [String] ?? []
            state.contactsByAccount[url] = contact
            return json(201, ["status": "valid", "contact": contact], headers: [("Location", url)])
        }

        guard let account = header.kid, let thumbprint = state.thumbprintsByAccount[account] else {
            return problem(400, "accountDoesNotExist", "the JWS kid names no account")
        }
        guard !state.deactivatedAccounts.contains(account) else {
            return problem(403, "unauthorized", "the account is deactivated")
        }
        if path == "/key-change" { return keyChange(payload ?? [:], account: account, oldThumbprint: thumbprint, &state) }
        let parts = path.split(separator: "/").map(String.init)
        let id = parts.count == 2 ? Int(parts[1]) : nil
        switch (parts.first ?? "", id) {
        case ("acct", _?) where account == request.url:
            return accountRequest(payload, account: account, &state)
        case ("new-order", nil) where parts.count == 1:
            return newOrder(payload ?? [:], account: account, &state)
        case ("order", let id?) where state.orders.indices.contains(id) && state.orders[id].accountURL == account:
            if state.orders[id].finalized { state.orders[id].polledSinceFinalize = true }
            return json(200, orderObject(id, state), headers: [("Location", base + "/order/\(id)")])
        case ("authz", let id?) where state.authorizations.indices.contains(id):
            return json(200, authorizationObject(id, state))
        case ("chall", let id?) where state.authorizations.indices.contains(id):
            return respondToChallenge(id, thumbprint: thumbprint, &state)
        case ("finalize", let id?) where state.orders.indices.contains(id) && state.orders[id].accountURL == account:
            return finalize(id, payload: payload ?? [:], &state)
        case ("cert", let id?) where state.issued.indices.contains(id):
            let accept = request.headers.first { $0.name.lowercased() == "accept" }?.value
            guard payload == nil, accept == "application/pem-certificate-chain" else {
                return problem(406, "malformed", "download with POST-as-GET and Accept: application/pem-certificate-chain")
            }
            return HTTPResponse(status: 200, headers: [(name: "Content-Type", value: "application/pem-certificate-chain")],
                                body: state.hostile.certificateBody ?? Array(state.issued[id].chainPEM.utf8))
        default:
            return problem(404, "malformed", "no resource at \(path)")
        }
    }

    // MARK: Accounts (RFC 8555 §7.3.2, §7.3.5, §7.3.6)

    private func accountRequest(_ payload: [String: Any]?, account: String, _ state: inout State) -> HTTPResponse {
        if let contact = payload?["contact"] as? [String] { state.contactsByAccount[account] = contact }
        if payload?["status"] as? String == "deactivated" { state.deactivatedAccounts.insert(account) }
        let status = state.deactivatedAccounts.contains(account) ? "deactivated" : "valid"
        return json(200, ["status": status, "contact": state.contactsByAccount[account] ?? []])
    }

    /// The payload is the inner JWS, signed by the new key (its `jwk`), with {account, oldKey}.
    private func keyChange(_ inner: [String: Any], account: String, oldThumbprint: String, _ state: inout State) -> HTTPResponse {
        if let failure = state.keyChangeFailure { return problem(failure.status, failure.type, failure.detail) }
        guard let protectedText = inner["protected"] as? String, let payloadText = inner["payload"] as? String,
              let protectedBytes = Self.base64urlDecode(protectedText), let payloadBytes = Self.base64urlDecode(payloadText),
              let header = try? JSONSerialization.jsonObject(with: Data(protectedBytes)) as? [String: Any],
              let body = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any],
              let jwk = header["jwk"] as? [String: String], let newThumbprint = Self.thumbprint(jwk),
              header["nonce"] == nil, header["url"] as? String == base + "/key-change" else {
            return problem(400, "malformed", "the keyChange payload is not an inner JWS with a jwk, the url and no nonce")
        }
        guard body["account"] as? String == account,
              let oldKey = body["oldKey"] as? [String: String], Self.thumbprint(oldKey) == oldThumbprint else {
            return problem(400, "malformed", "the inner payload must name this account and its current key")
        }
        if let other = state.accountsByThumbprint[newThumbprint] {
            return problem(409, "malformed", "the new key already belongs to \(other)")
        }
        state.accountsByThumbprint[oldThumbprint] = nil
        state.accountsByThumbprint[newThumbprint] = account
        state.thumbprintsByAccount[account] = newThumbprint
        return json(200, ["status": "valid", "contact": state.contactsByAccount[account] ?? []])
    }

    // MARK: Orders

    private func newOrder(_ payload: [String: Any], account: String, _ state: inout State) -> HTTPResponse {
        let identifiers = (payload["identifiers"] as? [[String: Any]] ?? []).compactMap { entry -> String? in
            entry["type"] as? String == "dns" ? entry["value"] as? String : nil
        }
        let replaces = payload["replaces"] as? String
        let profile = payload["profile"] as? String
        var placed = PlacedOrder(identifiers: identifiers, replaces: replaces, hasReplacesMember: payload["replaces"] != nil, accepted: false,
                                 profile: profile)
        defer { state.placedOrders.append(placed) }
        if let failure = state.newOrderFailure {
            return problem(failure.status, failure.type, failure.detail, headers: failure.retryAfter.map { [("Retry-After", $0)] } ?? [])
        }
        guard !identifiers.isEmpty else { return problem(400, "malformed", "an order needs dns identifiers") }
        if let profile, state.profiles?[profile] == nil {
            return problem(400, "invalidProfile", "the profile \(profile) is not offered")
        }
        if let replaces {
            guard state.issued.contains(where: { $0.certificateID == replaces }) else {
                return problem(400, "malformed", "replaces names no certificate this CA issued: \(replaces)")
            }
            guard !state.replaced.contains(replaces) else {
                return problem(409, "alreadyReplaced", "\(replaces) was already replaced")
            }
        }
        var authorizations: [Int] = []
        for domain in identifiers {
            authorizations.append(state.authorizations.count)
            state.authorizations.append(Authorization(domain: domain, token: state.hostile.challengeToken ?? Self.base64url(Self.randomBytes(32))))
        }
        state.orders.append(Order(accountURL: account, identifiers: identifiers, authorizations: authorizations, replaces: replaces,
                                  profile: profile))
        placed.accepted = true
        let id = state.orders.count - 1
        return json(201, orderObject(id, state), headers: [("Location", base + "/order/\(id)")])
    }

    private func orderStatus(_ id: Int, _ state: State) -> String {
        let order = state.orders[id]
        if order.invalid || order.authorizations.contains(where: { state.authorizations[$0].challengeStatus == "invalid" }) { return "invalid" }
        if order.finalized { return order.certificate != nil && order.polledSinceFinalize ? "valid" : "processing" }
        return order.authorizations.allSatisfy { state.authorizations[$0].challengeStatus == "valid" } ? "ready" : "pending"
    }

    private func orderObject(_ id: Int, _ state: State) -> [String: Any] {
        let order = state.orders[id]
        let status = orderStatus(id, state)
        var object: [String: Any] = [
            "status": status,
            "expires": Date().addingTimeInterval(7 * 86_400).formatted(.iso8601),
            "identifiers": order.identifiers.map { ["type": "dns", "value": $0] },
            "authorizations": order.authorizations.map { base + "/authz/\($0)" },
            "finalize": base + "/finalize/\(id)",
        ]
        if let replaces = order.replaces { object["replaces"] = replaces }
        if let profile = order.profile { object["profile"] = profile }
        if status == "valid", let certificate = order.certificate { object["certificate"] = base + "/cert/\(certificate)" }
        return object
    }

    private func authorizationObject(_ id: Int, _ state: State) -> [String: Any] {
        let authorization = state.authorizations[id]
        var challenge: [String: Any] = [
            "type": "http-01", "url": base + "/chall/\(id)", "status": authorization.challengeStatus, "token": authorization.token,
        ]
        if let error = authorization.error {
            challenge["error"] = ["type": Self.errorPrefix + "unauthorized", "detail": error]
        }
        return [
            "identifier": ["type": "dns", "value": authorization.domain],
            "status": authorization.challengeStatus,
            "expires": Date().addingTimeInterval(30 * 86_400).formatted(.iso8601),
            "challenges": [challenge],
        ]
    }

    /// "Fetches" http://<domain>/.well-known/acme-challenge/<token> from the domain's webroot.
    private func respondToChallenge(_ id: Int, thumbprint: String, _ state: inout State) -> HTTPResponse {
        var authorization = state.authorizations[id]
        if authorization.challengeStatus == "pending" {
            let expected = authorization.token + "." + thumbprint
            let file = (webroots[authorization.domain] ?? "/nonexistent") + "/.well-known/acme-challenge/" + authorization.token
            let served = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if served == expected {
                authorization.challengeStatus = "valid"
                state.challengeFilesChecked.append(file)
            } else {
                authorization.challengeStatus = "invalid"
                authorization.error = "\(file): expected \(expected), found \(served ?? "no file")"
            }
            state.authorizations[id] = authorization
        }
        var object = authorizationObject(id, state)["challenges"].flatMap { ($0 as? [[String: Any]])?.first } ?? [:]
        object["status"] = authorization.challengeStatus
        return json(200, object, headers: [("Link", "<\(base)/authz/\(id)>;rel=\"up\"")])
    }

    private func finalize(_ id: Int, payload: [String: Any], _ state: inout State) -> HTTPResponse {
        guard orderStatus(id, state) == "ready" else { return problem(403, "orderNotReady", "the order is \(orderStatus(id, state))") }
        guard let csrText = payload["csr"] as? String, let csr = Self.base64urlDecode(csrText) else {
            return problem(400, "badCSR", "no base64url csr in the payload")
        }
        let serialHex = String(format: "8A51C0DE%04X", state.nextSerial)
        state.nextSerial += 1
        let leafPEM: String
        do {
            let extra = state.hostile.extraNames
            leafPEM = try ca.sign(csrDER: csr, serialHex: serialHex, days: state.leafLifetimeDays,
                                  subjectAltNames: extra.isEmpty ? nil : state.orders[id].identifiers.map { "DNS:" + $0 } + extra)
        } catch {
            state.orders[id].invalid = true
            return problem(400, "badCSR", "\(error)")
        }
        let names = Set(((try? Certificate(pem: leafPEM))?.subjectAlternativeNames ?? []).map { $0.lowercased() })
        let added = Set(state.hostile.extraNames.map { $0.split(separator: ":", maxSplits: 1).last.map(String.init)?.lowercased() ?? $0 })
        guard names.subtracting(added) == Set(state.orders[id].identifiers.map { $0.lowercased() }) else {
            state.orders[id].invalid = true
            return problem(400, "badCSR", "the CSR names \(names.sorted()), the order \(state.orders[id].identifiers)")
        }
        state.issued.append(IssuedLeaf(serialHex: serialHex, certificateID: ca.ariCertificateID(serialHex: serialHex),
                                       chainPEM: leafPEM + ca.certificatePEM))
        if let replaces = state.orders[id].replaces { state.replaced.insert(replaces) }
        state.orders[id].finalized = true
        state.orders[id].certificate = state.issued.count - 1
        return json(200, orderObject(id, state), headers: [("Location", base + "/order/\(id)"), ("Retry-After", "0")])
    }

    // MARK: Renewal information (RFC 9773 §4.2)

    private func renewalInfo(certificateID: String, _ state: inout State) -> HTTPResponse {
        guard state.issued.contains(where: { $0.certificateID == certificateID }) else {
            return problem(404, "malformed", "no certificate with ARI identifier \(certificateID)")
        }
        switch state.renewalInfoScript {
        case .window(let start, let end, let retryAfter)?:
            return json(200, ["suggestedWindow": ["start": start.formatted(.iso8601), "end": end.formatted(.iso8601)]],
                        headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
        case .failure(let status)?:
            return problem(status, "serverInternal", "renewal information is unavailable")
        case nil:
            return problem(404, "malformed", "no renewal information scripted")
        }
    }

    // MARK: Encoding

    private func json(_ status: Int, _ object: [String: Any], headers: [(String, String)] = []) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/json")] + headers.map { (name: $0.0, value: $0.1) },
                            body: Array(body))
    }

    private func problem(_ status: Int, _ type: String, _ detail: String, headers: [(String, String)] = []) -> HTTPResponse {
        var response = json(status, ["type": Self.errorPrefix + type, "detail": detail], headers: headers)
        response.headers[0].value = "application/problem+json"
        return response
    }

    /// RFC 7638 thumbprint of an EC JWK: SHA-256 over the required members in lexicographic order.
    static func thumbprint(_ jwk: [String: String]) -> String? {
        guard jwk["kty"] == "EC", let crv = jwk["crv"], let x = jwk["x"], let y = jwk["y"] else { return nil }
        return Self.base64url(Digest.sha256(Array("{\"crv\":\"\(crv)\",\"kty\":\"EC\",\"x\":\"\(x)\",\"y\":\"\(y)\"}".utf8)))
    }

    static func base64url(_ bytes: [UInt8]) -> String { ScriptedIssuingCA.base64url(bytes) }

    static func base64urlDecode(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
