import FoundationEssentials

/// Parses the two date formats ACME meets: RFC 3339 timestamps in JSON (RFC 8555 §7.1)
/// and HTTP-dates in `Retry-After` (RFC 9110 §5.6.7, §10.2.3). Pure arithmetic, no locale.
enum Timestamps {
    /// `2025-06-01T12:00:00Z`, `2025-06-01T12:00:00.123456789Z`, `2025-06-01T14:00:00+02:00`
    /// (`T`/`t`/space separator, `Z`/`z` or numeric offset, any number of fractional digits).
    static func rfc3339(_ string: String) -> Date? {
        var scanner = Scanner8(string.utf8)
        guard let year = scanner.digits(4), scanner.take("-"),
              let month = scanner.digits(2), scanner.take("-"),
              let day = scanner.digits(2),
              scanner.take("T") || scanner.take("t") || scanner.take(" "),
              let hour = scanner.digits(2), scanner.take(":"),
              let minute = scanner.digits(2), scanner.take(":"),
              let second = scanner.digits(2)
        else { return nil }
        var fraction = 0.0
        if scanner.take(".") {
            var scale = 0.1
            var any = false
            while let d = scanner.digits(1) { fraction += Double(d) * scale; scale /= 10; any = true }
            guard any else { return nil }
        }
        var offset = 0
        if scanner.take("Z") || scanner.take("z") {
            offset = 0
        } else if let sign = scanner.takeSign(), let oh = scanner.digits(2), scanner.take(":"), let om = scanner.digits(2) {
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard scanner.atEnd, (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second <= 60 else { return nil }
        let seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` (the weekday is optional and not checked).
    static func httpDate(_ string: String) -> Date? {
        var parts = string.split(separator: " ").map(String.init)
        if let first = parts.first, first.hasSuffix(",") { parts.removeFirst() }
        guard parts.count == 5, parts[4] == "GMT" || parts[4] == "UTC",
              let day = Int(parts[0]), let year = Int(parts[2]),
              let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: parts[1]).map({ $0 + 1 })
        else { return nil }
        let hms = parts[3].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3, (1...31).contains(day), hms[0] < 24, hms[1] < 60, hms[2] <= 60 else { return nil }
        let seconds = daysFromCivil(year, month, day) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
        return Date(timeIntervalSince1970: Double(seconds))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// A forward-only reader over UTF-8 bytes.
private struct Scanner8 {
    let bytes: [UInt8]
    var index = 0
    init(_ utf8: String.UTF8View) { bytes = Array(utf8) }
    var atEnd: Bool { index == bytes.count }

    mutating func take(_ literal: Character) -> Bool {
        guard index < bytes.count, let ascii = literal.asciiValue, bytes[index] == ascii else { return false }
        index += 1
        return true
    }

    mutating func takeSign() -> Int? {
        if take("+") { return 1 }
        if take("-") { return -1 }
        return nil
    }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for b in bytes[index..<index + count] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        index += count
        return value
    }
}
