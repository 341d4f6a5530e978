// YAML settings text → a tree of plain values, refusing what Yams would trap on:
// Yams' `Node.any` force-unwraps every mapping key as a string, so a key that is
// a list or a mapping (`? [a]: 1`, `{[1]: 2}`) stops the process. Found by
// scripts/fuzz (the config harness); SettingsFileHostileTests keeps it fixed.

import Foundation
import Yams

extension SettingsFile {
    struct YAMLKeyError: Error, CustomStringConvertible {
        let description = "setting names must be plain text, not lists or mappings"
    }

    /// The YAML document as dictionaries, arrays and scalars (nil when empty).
    static func yamlTree(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        try requireScalarKeys(node)
        return node.any
    }

    private static func requireScalarKeys(_ node: Node) throws {
        switch node {
        case let .mapping(mapping):
            for (key, value) in mapping {
                guard case .scalar = key else { throw YAMLKeyError() }
                try requireScalarKeys(value)
            }
        case let .sequence(sequence):
            for value in sequence { try requireScalarKeys(value) }
        default:
            break
        }
    }
}
