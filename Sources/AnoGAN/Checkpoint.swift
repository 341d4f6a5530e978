// Training checkpoints: one safetensors file holding everything needed to
// continue a run bit-for-bit — G and D parameters and BatchNorm statistics,
// both Adam states, the random generator's state, the position in the run —
// and the architecture, settings and seed in the header (Records'
// CheckpointMetadata) so `score` can rebuild the networks and refuse a
// mismatching request.

import Foundation
import NeuralNet
import Records

/// A training checkpoint as read from disk.
public struct Checkpoint {
    public static let format = CheckpointMetadata.currentFormat
    public static let version = CheckpointMetadata.currentVersion

    public var url: URL
    public var config: DCGANConfig
    public var settings: TrainingSettings
    public var position: TrainingPosition
    /// Number of training images and their source, to catch resuming on other data.
    public var datasetCount: Int
    public var datasetPath: String
    public var tensors: [String: Tensor]
    /// The header as read.
    public var metadata: CheckpointMetadata

    // MARK: Writing

    /// Writes G, D, both Adam states and `position` to `url` atomically. With an averaged
    /// generator, `generator.*` holds the average (what every later stage uses) and
    /// `training.generator.*` the trained weights a resume continues from.
    public static func write(generator: Generator, averagedGenerator: Generator? = nil, discriminator: Discriminator,
                             generatorAdam: Adam, discriminatorAdam: Adam,
                             settings: TrainingSettings, position: TrainingPosition,
                             datasetCount: Int, datasetPath: String, datasetFingerprint: String? = nil, to url: URL) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        func add(_ prefix: String, _ set: ParameterSet) {
            for spec in set.specs { tensors.append((prefix + spec.name, set.value(spec.name))) }
        }
        add("generator.", (averagedGenerator ?? generator).parameters)
        add("generator.", (averagedGenerator ?? generator).statistics)
        if averagedGenerator != nil {
            add(trainingGeneratorPrefix, generator.parameters)
            add(trainingGeneratorPrefix, generator.statistics)
        }
        add("discriminator.", discriminator.parameters)
        add("discriminator.", discriminator.statistics)
        tensors.append(("optim.generator.m", generatorAdam.m))
        tensors.append(("optim.generator.v", generatorAdam.v))
        tensors.append(("optim.discriminator.m", discriminatorAdam.m))
        tensors.append(("optim.discriminator.v", discriminatorAdam.v))
        let metadata = CheckpointMetadata(architecture: generator.config, settings: settings, position: position,
                                          dataset: CheckpointDataset(count: datasetCount, path: datasetPath,
                                                                             fingerprint: datasetFingerprint))
        try Safetensors.write(tensors, metadata: try metadata.safetensorsMetadata(), to: url)
    }

    // MARK: Reading

    /// Reads and checks a checkpoint before any network is built: format, metadata
    /// (sizes, settings, counters within bounds), the declared architecture's memory
    /// against `MemoryBudget`, every tensor's shape, finite values, variances ≥ 0
    /// (`CheckpointMetadata.validate(tensors:order:of:)`).
    public static func read(_ url: URL) throws -> Checkpoint {
        let file = try Safetensors.read(url)
        let meta = try CheckpointMetadata(safetensorsMetadata: file.metadata, of: url)
        let config = meta.architecture
        try meta.validate(tensors: file.tensors, order: file.order, of: url)
        return Checkpoint(url: url, config: config, settings: meta.settings, position: meta.position,
                          datasetCount: meta.dataset.count, datasetPath: meta.dataset.path,
                          tensors: file.tensors, metadata: meta)
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

    /// Where a checkpoint of a run with an averaged generator keeps the trained generator.
    static let trainingGeneratorPrefix = "training.generator."

    /// Loads a training run's state: with `averagedGenerator`, the trained weights from
    /// `training.generator.*` into `generator` and the average into `averagedGenerator`.
    public func loadTraining(into generator: Generator, _ discriminator: Discriminator, averagedGenerator: Generator?) throws {
        try load(into: averagedGenerator ?? generator, discriminator)
        if averagedGenerator != nil {
            try copy(Self.trainingGeneratorPrefix, into: generator.parameters)
            try copy(Self.trainingGeneratorPrefix, into: generator.statistics)
        }
    }

    /// New G and D in the checkpoint's architecture, holding its weights, with convolutions in `precision`.
    public func makeNetworks(precision: Precision = .default) throws -> (generator: Generator, discriminator: Discriminator) {
        let g = Generator(config: config, precision: precision), d = Discriminator(config: config, precision: precision)
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

func jsonString<T: Encodable>(_ value: T) throws -> String { try CheckpointMetadata.json(value) }
