/// Literals for `OrderedJSON`, so a document built in Swift (the config's JSON Schema) reads like the JSON it prints:
/// `["type": "string", "maxLength": 64]` keeps its members in the order written.
extension OrderedJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: OrderedJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, OrderedJSON)...) { self = .object(elements.map { Member($0.0, $0.1) }) }

    /// A whole number.
    public static func int(_ value: Int) -> OrderedJSON { .number(Double(value)) }

    /// The member `key` of an object (nil for anything else, or when absent).
    public subscript(key: String) -> OrderedJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// An object with `key` set to `value`: replaced in place when present, appended otherwise (other values unchanged).
    func setting(_ key: String, to value: OrderedJSON) -> OrderedJSON {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) { members[index].value = value } else { members.append(Member(key, value)) }
        return .object(members)
    }
}
