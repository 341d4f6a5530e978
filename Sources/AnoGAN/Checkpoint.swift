// Training checkpoints (contracts §3): one safetensors file holding everything
// needed to continue a run bit-for-bit — G and D parameters and BatchNorm
// statistics, both Adam states, the random generator's state, the position in
// the run — and the architecture, settings and seed in the header metadata so
// `score` can rebuild the networks and refuse a mismatching request.

import Foundation
import NeuralNet
import Records

/// Where a training run stands; stored in checkpoint metadata.
public struct TrainingPosition: Codable, Equatable, Sendable {
    /// Epochs fully completed.
    public var epoch: Int
    /// Iterations (batches) completed over the whole run.
    public var iteration: Int
    /// The trainer's random generator state after `iteration`.
    public var rngState: [UInt64]
    /// Adam update counts (bias correction depends on them).
    public var generatorAdamSteps: Int
    public var discriminatorAdamSteps: Int
    /// The random state before the current epoch's shuffle, when the run stopped mid-epoch
    /// (an iteration budget); nil at an epoch boundary and in older checkpoints.
    public var epochStartRNGState: [UInt64]? = nil
}

/// A training checkpoint as read from disk.
public struct Checkpoint {
    public static let format = "anogan-checkpoint"
    public static let version = 1

    public var url: URL
    public var config: DCGANConfig
    public var settings: TrainingSettings
    public var position: TrainingPosition
    /// Number of training images and their source, to catch resuming on other data.
    public var datasetCount: Int
    public var datasetPath: String
    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    // MARK: Writing

    /// Writes G, D, both Adam states and `position` to `url` atomically.
    public static func write(generator: Generator, discriminator: Discriminator,
                             generatorAdam: Adam, discriminatorAdam: Adam,
                             settings: TrainingSettings, position: TrainingPosition,
                             datasetCount: Int, datasetPath: String, to url: URL) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        func add(_ prefix: String, _ set: ParameterSet) {
            for spec in set.specs { tensors.append((prefix + spec.name, set.value(spec.name))) }
        }
        add("generator.", generator.parameters)
        add("generator.", generator.statistics)
        add("discriminator.", discriminator.parameters)
        add("discriminator.", discriminator.statistics)
        tensors.append(("optim.generator.m", generatorAdam.m))
        tensors.append(("optim.generator.v", generatorAdam.v))
        tensors.append(("optim.discriminator.m", discriminatorAdam.m))
        tensors.append(("optim.discriminator.v", discriminatorAdam.v))
        let metadata: [String: String] = [
            "format": format,
            "version": String(version),
            "architecture": try jsonString(generator.config),
            "settings": try jsonString(settings),
            "position": try jsonString(position),
            "seed": String(settings.seed),
            "epoch": String(position.epoch),
            "iteration": String(position.iteration),
            "dataset.count": String(datasetCount),
            "dataset.path": datasetPath,
        ]
        try Safetensors.write(tensors, metadata: metadata, to: url)
    }

    // MARK: Reading

    /// Reads and checks a checkpoint: format, metadata and every tensor's shape
    /// against the architecture it declares.
    public static func read(_ url: URL) throws -> Checkpoint {
        let file = try Safetensors.read(url)
        let meta = file.metadata
        guard meta["format"] == format else {
            throw FileError(url, "not an anogan checkpoint (metadata \"format\" is \(meta["format"].map { "\"\($0)\"" } ?? "missing"))")
        }
        guard let v = meta["version"].flatMap(Int.init), v <= version else {
            throw FileError(url, "checkpoint version \(meta["version"] ?? "missing") is not supported (this build reads ≤ \(version))")
        }
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let text = meta[key] else { throw FileError(url, "checkpoint metadata lacks \"\(key)\"") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw FileError(url, "checkpoint metadata \"\(key)\" is not valid: \(text)")
            }
        }
        let config = try decode("architecture", DCGANConfig.self)
        guard config.imageSize > 0, config.imageSize % 16 == 0, config.width > 0, config.channels > 0,
              config.latentDimension > 0 else {
            throw FileError(url, "checkpoint declares an impossible architecture \(describe(config))")
        }
        let checkpoint = Checkpoint(
            url: url, config: config,
            settings: try decode("settings", TrainingSettings.self),
            position: try decode("position", TrainingPosition.self),
            datasetCount: Int(meta["dataset.count"] ?? "") ?? 0,
            datasetPath: meta["dataset.path"] ?? "",
            tensors: file.tensors, metadata: meta)
        guard checkpoint.position.rngState.count == 4 else { throw FileError(url, "checkpoint random state is malformed") }
        return checkpoint
    }

    /// Throws when the checkpoint's architecture differs from `requested` in any field.
    public func check(matches requested: DCGANConfig) throws {
        guard requested != config else { return }
        throw FileError(url, "checkpoint holds a model with \(Checkpoint.describe(config)), but \(Checkpoint.describe(requested)) was requested")
    }

    static func describe(_ c: DCGANConfig) -> String {
        "image size \(c.imageSize), width \(c.width), \(c.channels) channel(s), latent dimension \(c.latentDimension)"
    }

    /// Copies the stored parameters and statistics into `generator` and `discriminator`,
    /// checking every name and shape.
    public func load(into generator: Generator, _ discriminator: Discriminator) throws {
        try copy("generator.", into: generator.parameters)
        try copy("generator.", into: generator.statistics)
        try copy("discriminator.", into: discriminator.parameters)
        try copy("discriminator.", into: discriminator.statistics)
    }

    /// New G and D in the checkpoint's architecture, holding its weights.
    public func makeNetworks() throws -> (generator: Generator, discriminator: Discriminator) {
        let g = Generator(config: config), d = Discriminator(config: config)
        try load(into: g, d)
        return (g, d)
    }

    /// Restores an Adam state stored under `optim.<network>.{m,v}`.
    public func restore(_ adam: Adam, network: String, steps: Int) throws {
        for (name, target) in [("m", adam.m), ("v", adam.v)] {
            let key = "optim.\(network).\(name)"
            guard let t = tensors[key] else { throw FileError(url, "checkpoint lacks \(key)") }
            guard t.count == target.count else {
                throw FileError(url, "\(key) holds \(t.count) values, the model has \(target.count) parameters")
            }
            target.assign(from: t)
        }
        adam.step = steps
    }

    private func copy(_ prefix: String, into set: ParameterSet) throws {
        for spec in set.specs {
            let key = prefix + spec.name
            guard let t = tensors[key] else { throw FileError(url, "checkpoint lacks tensor \(key)") }
            guard t.shape == spec.shape else {
                throw FileError(url, "tensor \(key) has shape \(t.shape), the declared architecture needs \(spec.shape)")
            }
            guard t.isFinite else { throw FileError(url, "tensor \(key) holds NaN or Inf") }
            set.value(spec.name).assign(from: t)
        }
    }
}

func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
