/// Secret names: 1 to 64 characters from `A-Z a-z 0-9 . _ -`.
public enum SecretName {
    /// The longest name allowed.
    public static let maximumLength = 64

    /// True when `name` matches `[A-Za-z0-9._-]{1,64}`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"),
                 UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// The name for an error message: escaped and shortened, since an invalid name may be anything.
    static func quoted(_ name: String) -> String {
        let shown = name.count > 80 ? String(name.prefix(77)) + "…" : name
        return "\"" + shown.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : $0.escaped(asASCII: true) }.joined() + "\""
    }
}
