import FoundationEssentials

extension ACMEClient {
    /// Polls the authorization (RFC 8555 §7.5.1) until it is `valid`, per `polling` and the server's `Retry-After`.
    /// Throws `authorizationFailed` with the failed challenge's error (subproblems kept) once it is `invalid`,
    /// `deactivated`, `expired` or `revoked`; `timedOut` past the deadline.
    public func waitForAuthorization(at url: String) throws -> ACMEAuthorization {
        try poll(what: "authorization", url: url) {
            let (authorization, retryAfter) = try authorizationAndRetryAfter(at: url)
            switch authorization.status {
            case "valid":
                return .done(authorization)
            case "pending":
                return .again(retryAfter: retryAfter)
            default:
                throw ACMEError.authorizationFailed(identifier: authorization.identifier, problem: authorization.failure)
            }
        }
    }

    /// Polls the order (RFC 8555 §7.4, §7.1.6) until it reaches `status` (`valid` by default; `ready` to wait
    /// before finalizing) or a later state. Throws `orderFailed` when it is `invalid`; `timedOut` past the deadline.
    public func waitForOrder(at url: String, until status: String = "valid") throws -> ACMEOrder {
        let progression = ["pending", "ready", "processing", "valid"]
        let target = progression.firstIndex(of: status) ?? progression.count - 1
        return try poll(what: "order", url: url) {
            let (order, retryAfter) = try orderAndRetryAfter(at: url)
            guard let reached = progression.firstIndex(of: order.status) else {
                throw ACMEError.orderFailed(url: url, status: order.status, problem: order.error)
            }
            if reached >= target { return .done(order) }
            // A ready order does not move on by itself: waiting for `valid` then needs a finalize first.
            if order.status == "ready" && target > reached + 1 {
                throw ACMEError.orderFailed(url: url, status: order.status, problem: ACMEProblem(
                    type: ACMEProblem.Kind.prefix + "orderNotReady", detail: "the order is ready but not finalized"))
            }
            return .again(retryAfter: retryAfter)
        }
    }

    /// One poll's outcome.
    enum PollStep<T> {
        case done(T)
        case again(retryAfter: TimeInterval?)
    }

    /// Waits, polls, and repeats: the first wait `initialDelay`, then ×`multiplier` up to `maximumDelay`;
    /// a `Retry-After` is waited at least; no wait passes the deadline (`timeout` from now), where one last
    /// poll is made before `timedOut`.
    func poll<T>(what: String, url: String, _ step: () throws -> PollStep<T>) throws -> T {
        let deadline = clock.now().addingTimeInterval(polling.timeout)
        var delay = polling.initialDelay
        var retryAfter: TimeInterval? = nil
        while true {
            let remaining = deadline.timeIntervalSince(clock.now())
            guard remaining > 0 else { throw ACMEError.timedOut(what: what, url: url) }
            try clock.sleep(seconds: min(max(delay, retryAfter ?? 0), remaining))
            switch try step() {
            case .done(let value):
                return value
            case .again(let next):
                retryAfter = next
                delay = min(delay * polling.multiplier, polling.maximumDelay)
            }
        }
    }
}
