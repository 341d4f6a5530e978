// Settings files (`--config FILE`): JSON or YAML holding the Codable settings
// structs. A file gives only what it changes: its tree is laid over the
// encoded defaults and the result decoded, so every default stays in its
// settings struct. A key the settings do not have, or a value of the wrong
// type, is a one-line FileError naming the file and the key path.

import Foundation
import Records
import Yams

/// Settings read from a file, with the key paths the file set ("training.epochs").
public struct LoadedSettings<Value> {
    public var value: Value
    public var keys: Set<String>

    public init(value: Value, keys: Set<String>) {
        self.value = value
        self.keys = keys
    }

    /// Whether the file set `path` (dotted) or anything under it.
    public func sets(_ path: String) -> Bool { keys.contains { $0 == path || $0.hasPrefix(path + ".") } }
}

public enum SettingsFile {
    /// Reads `url` (`.json`; `.yaml`/`.yml`; by content otherwise) and lays it over `defaults`.
    public static func load<Value: Codable>(_ url: URL, over defaults: Value) throws -> LoadedSettings<Value> {
        let text = String(decoding: try readFile(url), as: UTF8.self)
        return try parse(text, over: defaults, file: url)
    }

    /// Parses settings text (JSON is YAML too, but JSON's own parser gives better messages for .json).
    public static func parse<Value: Codable>(_ text: String, over defaults: Value, file url: URL) throws -> LoadedSettings<Value> {
        let tree: Any?
        if url.pathExtension.lowercased() == "json" {
            do { tree = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) } catch {
                throw FileError(url, "not valid JSON")
            }
        } else {
            do { tree = try yamlTree(text) } catch {
                throw FileError(url, "not valid YAML or JSON: \(oneLine("\(error)"))")
            }
        }
        guard let object = tree as? [String: Any] else { throw FileError(url, "must hold a mapping of settings (key: value)") }

        let encoder = JSONEncoder()
        let base = try JSONSerialization.jsonObject(with: encoder.encode(defaults)) as? [String: Any] ?? [:]
        var keys = Set<String>()
        let merged = try overlay(object, on: base, template: defaults, path: [], keys: &keys, file: url)
        do {
            let data = try JSONSerialization.data(withJSONObject: merged)
            return LoadedSettings(value: try JSONDecoder().decode(Value.self, from: data), keys: keys)
        } catch let error as DecodingError {
            throw FileError(url, describe(error))
        }
    }

    /// `file` over `base`, key by key; a key must exist in `base` or be a property of `template`
    /// (an optional setting that is nil by default is not encoded, but is still a property).
    private static func overlay(_ file: [String: Any], on base: [String: Any], template: Any?, path: [String],
                                keys: inout Set<String>, file url: URL) throws -> [String: Any] {
        var out = base
        let properties = template.map { Mirror(reflecting: $0).children.compactMap(\.label) } ?? []
        for (key, value) in file {
            let here = path + [key]
            guard base[key] != nil || properties.contains(key) else {
                let known = Set(base.keys).union(properties).sorted().joined(separator: ", ")
                throw FileError(url, "unknown setting \(here.joined(separator: ".")) (known here: \(known))")
            }
            keys.insert(here.joined(separator: "."))
            let child = template.flatMap { t in Mirror(reflecting: t).children.first { $0.label == key }?.value }
            // Foundation's decoder reports a fraction for an integer without its key: say it here. The
            // dynamic type, because `is Int?` also holds for a nil of any optional (a Float? setting).
            if let child, integerTypes.contains(where: { $0 == type(of: child) }),
               !(value is Bool), let number = value as? Double, number.rounded() != number {
                throw FileError(url, "setting \(here.joined(separator: ".")) must be an integer, got \(number)")
            }
            if let sub = value as? [String: Any], let subBase = base[key] as? [String: Any] {
                out[key] = try overlay(sub, on: subBase, template: child, path: here, keys: &keys, file: url)
            } else {
                out[key] = value is NSNull ? nil : value
            }
        }
        return out
    }

    private static let integerTypes: [Any.Type] = [Int.self, Int?.self, UInt64.self, UInt64?.self, UInt8.self, UInt8?.self]

    private static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .typeMismatch(type, context):
            return "setting \(at(context.codingPath)) must be \(typeName(type))"
        case let .valueNotFound(type, context):
            return "setting \(at(context.codingPath)) must be \(typeName(type)), not null"
        case let .keyNotFound(key, context):
            return "setting \(at(context.codingPath + [key])) is missing"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return "does not fit the settings: \(oneLine(context.debugDescription))" }
            return "setting \(at(context.codingPath)): \(oneLine(context.debugDescription))"
        @unknown default:
            return oneLine("\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type, is Int64.Type, is UInt8.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a \(name) mapping"
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
