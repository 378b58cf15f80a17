import ByteEncoding
import FoundationEssentials

/// The encodings a master key may have in a systemd credential.
///
/// Accepted, in this order:
/// 1. exactly 32 bytes: the raw key (what `head -c 32 /dev/urandom` writes; the key file's only format);
/// 2. otherwise, after removing one trailing `\n` (or `\r\n`): 64 hexadecimal digits (either case),
///    as written by `openssl rand -hex 32`;
/// 3. or standard base64 of 32 bytes: 44 characters ending in `=`, or the same 43 without the padding,
///    as written by `openssl rand -base64 32`.
/// Anything else is refused.
enum MasterKeyEncoding {
    static func decode(_ data: [UInt8]) -> [UInt8]? {
        if data.count == MasterKey.length { return data }
        var text = data[...]
        if text.last == UInt8(ascii: "\n") {
            text = text.dropLast()
            if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
        }
        if text.count == 64 { return Hex.decode(utf8: Array(text)) }
        if text.count == 43 || text.count == 44 { return decodeBase64(Array(text)) }
        return nil
    }

    private static func decodeBase64(_ characters: [UInt8]) -> [UInt8]? {
        var text = String(decoding: characters, as: UTF8.self)
        if characters.count == 43 { text += "=" }
        guard text.hasSuffix("="), !text.hasSuffix("=="), let data = Data(base64Encoded: text), data.count == MasterKey.length else {
            return nil
        }
        return Array(data)
    }
}
