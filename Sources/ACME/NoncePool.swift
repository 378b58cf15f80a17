import ByteEncoding

/// Anti-replay nonces collected from `Replay-Nonce` headers (RFC 8555 §6.5). Each is used once, newest first,
/// so a request retried after `badNonce` uses the nonce that came with the error (§6.5).
struct NoncePool: Sendable {
    /// Nonces kept at most; the oldest are dropped (the server may have forgotten them anyway).
    static let capacity = 16
    private(set) var nonces: [String] = []

    /// Adds `nonce` when it is valid base64url; "clients MUST ignore invalid Replay-Nonce values" (§6.5.1).
    mutating func add(_ nonce: String) {
        guard Base64URL.isAlphabet(nonce) else { return }
        nonces.append(nonce)
        if nonces.count > Self.capacity { nonces.removeFirst(nonces.count - Self.capacity) }
    }

    /// The newest unused nonce, removed from the pool.
    mutating func take() -> String? { nonces.popLast() }
}
