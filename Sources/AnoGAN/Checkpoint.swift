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
        let metadata = CheckpointMetadata(architecture: generator.config, settings: settings, position: position,
                                          dataset: CheckpointDataset(count: datasetCount, path: datasetPath))
        try Safetensors.write(tensors, metadata: try metadata.safetensorsMetadata(), to: url)
    }

    // MARK: Reading

    /// Reads and checks a checkpoint before any network is built: format, metadata
    /// (sizes, settings, counters within bounds: `CheckpointMetadata.validate`), the
    /// declared architecture's memory against `MemoryBudget`, then every tensor of
    /// `layout(for:)` present with its shape, the Adam states sized to match, all values
    /// finite, BatchNorm running variances ≥ 0 and Adam's second moments ≥ 0.
    public static func read(_ url: URL) throws -> Checkpoint {
        let file = try Safetensors.read(url)
        let meta = try CheckpointMetadata(safetensorsMetadata: file.metadata, of: url)
        let config = meta.architecture
        let layout = Self.layout(for: config)
        func count(_ prefix: String) -> Int? {
            MemoryBudget.sum(layout.filter { $0.name.hasPrefix(prefix) && !isStatistic($0.name) }.map { MemoryBudget.product($0.shape) })
        }
        let generatorCount = count("generator."), discriminatorCount = count("discriminator.")
        // Values, gradients and both Adam moments of both networks: 16 bytes per parameter.
        try MemoryBudget.check(MemoryBudget.sum([generatorCount, discriminatorCount]).flatMap { MemoryBudget.product([$0, 16]) },
                               for: url.path, "the declared architecture (\(describe(config))) with its gradients and Adam state")
        for entry in layout {
            guard let t = file.tensors[entry.name] else { throw FileError(url, "checkpoint lacks tensor \(entry.name)") }
            guard t.shape == entry.shape else {
                throw FileError(url, "tensor \(entry.name) has shape \(t.shape), the declared architecture needs \(entry.shape)")
            }
        }
        for (network, parameters) in [("generator", generatorCount!), ("discriminator", discriminatorCount!)] {
            for moment in ["m", "v"] {
                let key = "optim.\(network).\(moment)"
                guard let t = file.tensors[key] else { throw FileError(url, "checkpoint lacks \(key)") }
                guard t.count == parameters else {
                    throw FileError(url, "\(key) holds \(t.count) values, the declared architecture has \(parameters) \(network) parameters")
                }
            }
        }
        for name in file.order {
            let t = file.tensors[name]!
            guard t.isFinite else { throw FileError(url, "tensor \(name) holds NaN or Inf") }
            if isStatistic(name) && name.hasSuffix("running_var") || name.hasSuffix(".v") && name.hasPrefix("optim."),
               let i = t.buffer.firstIndex(where: { $0 < 0 }) {
                throw FileError(url, "tensor \(name) holds the negative variance \(t.buffer[i]) at index \(i)")
            }
        }
        return Checkpoint(url: url, config: config, settings: meta.settings, position: meta.position,
                          datasetCount: meta.dataset.count, datasetPath: meta.dataset.path,
                          tensors: file.tensors, metadata: meta)
    }

    /// The tensors of G and D a checkpoint holds (PyTorch state-dict names with the
    /// "generator." / "discriminator." prefix) for an architecture, without building the
    /// networks: the checkpoint is checked against this before any allocation its header
    /// could inflate. `Generator` and `Discriminator` define the same names and shapes;
    /// CheckpointTests.testLayoutMatchesTheNetworks keeps the two in step.
    public static func layout(for c: DCGANConfig) -> [(name: String, shape: [Int])] {
        let w = c.width, s = c.baseSize
        var out: [(name: String, shape: [Int])] = []
        // G: project → 8w·s² · deconv 8w→4w→2w→w→C, BatchNorm on each hidden layer.
        let hidden = [8 * w, 4 * w, 2 * w, w]
        out.append(("generator.project.weight", [8 * w * s * s, c.latentDimension]))
        for i in 0..<4 {
            out += [("generator.bn\(i).weight", [hidden[i]]), ("generator.bn\(i).bias", [hidden[i]]),
                    ("generator.bn\(i).running_mean", [hidden[i]]), ("generator.bn\(i).running_var", [hidden[i]]),
                    ("generator.deconv\(i + 1).weight", [hidden[i], i < 3 ? hidden[i + 1] : c.channels, 5, 5])]
        }
        out.append(("generator.deconv4.bias", [c.channels]))
        // D: conv C→w→2w→4w→8w (BatchNorm after conv2…4) → linear 8w·s² → 1.
        let ch = [c.channels, w, 2 * w, 4 * w, 8 * w]
        out += [("discriminator.conv1.weight", [ch[1], ch[0], 5, 5]), ("discriminator.conv1.bias", [ch[1]])]
        for i in 2...4 {
            out += [("discriminator.conv\(i).weight", [ch[i], ch[i - 1], 5, 5]),
                    ("discriminator.bn\(i).weight", [ch[i]]), ("discriminator.bn\(i).bias", [ch[i]]),
                    ("discriminator.bn\(i).running_mean", [ch[i]]), ("discriminator.bn\(i).running_var", [ch[i]])]
        }
        out += [("discriminator.classify.weight", [1, 8 * w * s * s]), ("discriminator.classify.bias", [1])]
        return out
    }

    /// BatchNorm running statistics (not trained, not in the Adam state).
    static func isStatistic(_ name: String) -> Bool { name.hasSuffix(".running_mean") || name.hasSuffix(".running_var") }

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

func jsonString<T: Encodable>(_ value: T) throws -> String { try CheckpointMetadata.json(value) }
