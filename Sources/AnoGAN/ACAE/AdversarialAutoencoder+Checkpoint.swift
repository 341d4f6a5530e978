// aCAE checkpoints: one safetensors file with encoder.*, decoder.* (Generator
// names) and discriminator.* tensors (parameters and BatchNorm statistics), and
// the architecture, settings and completed epochs in the metadata.

import Foundation
import NeuralNet
import Records

extension AdversarialAutoencoder {
    public static let checkpointFormat = "anogan-acae-checkpoint"

    private var sets: [(prefix: String, set: ParameterSet)] {
        [("encoder.", encoder.parameters), ("encoder.", encoder.statistics),
         ("decoder.", decoder.parameters), ("decoder.", decoder.statistics),
         ("discriminator.", discriminator.parameters), ("discriminator.", discriminator.statistics)]
    }

    /// Writes the weights and statistics (not the optimizer state) atomically.
    public func save(to url: URL) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        for (prefix, set) in sets {
            for spec in set.specs { tensors.append((prefix + spec.name, set.value(spec.name))) }
        }
        try Safetensors.write(tensors, metadata: [
            "format": Self.checkpointFormat, "version": "1",
            "architecture": try jsonString(config), "settings": try jsonString(settings),
            "seed": String(settings.seed), "epoch": String(completedEpochs),
        ], to: url)
    }

    /// Reads a checkpoint written by `save`, checking format, names, shapes and finiteness.
    public static func load(from url: URL) throws -> AdversarialAutoencoder {
        let file = try Safetensors.read(url)
        guard file.metadata["format"] == checkpointFormat else {
            throw FileError(url, "not an aCAE checkpoint (metadata \"format\" is \(file.metadata["format"] ?? "missing"))")
        }
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let text = file.metadata[key], let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
                throw FileError(url, "aCAE checkpoint metadata \"\(key)\" is missing or invalid")
            }
            return value
        }
        let config = try decode("architecture", DCGANConfig.self)
        do { try config.validate() } catch { throw FileError(url, "aCAE checkpoint declares an impossible architecture: \(error)") }
        let model = AdversarialAutoencoder(config: config, settings: try decode("settings", ACAESettings.self))
        for (prefix, set) in model.sets {
            for spec in set.specs {
                let key = prefix + spec.name
                guard let t = file.tensors[key] else { throw FileError(url, "aCAE checkpoint lacks tensor \(key)") }
                guard t.shape == spec.shape else { throw FileError(url, "tensor \(key) has shape \(t.shape), expected \(spec.shape)") }
                guard t.isFinite else { throw FileError(url, "tensor \(key) holds NaN or Inf") }
                set.value(spec.name).assign(from: t)
            }
        }
        model.completedEpochs = Int(file.metadata["epoch"] ?? "") ?? 0
        return model
    }
}
