// The header metadata of a training checkpoint (a safetensors file written by
// AnoGAN's Checkpoint): what the run was — architecture, settings, seed, data —
// and where it stands, so `score` can rebuild the networks and `train` can
// resume or refuse. Safetensors metadata is a flat string map, so the nested
// records are stored as JSON strings under fixed keys (`Keys`); the keys are
// those of the first checkpoints, which therefore still load.

import Foundation

/// The training set a checkpoint was trained on, to catch resuming on other data.
public struct CheckpointDataset: Codable, Equatable, Sendable {
    /// Number of training images (0 when unknown).
    public var count: Int
    /// The patch set directory or .npy file, as given to `train` ("" when unknown).
    public var path: String
    /// FNV-1a of the images (`Tensor.fingerprint`), so a resume on other data of the same
    /// size is caught (nil in checkpoints written before it was recorded).
    public var fingerprint: String?

    public init(count: Int, path: String, fingerprint: String? = nil) {
        self.count = count
        self.path = path
        self.fingerprint = fingerprint
    }
}

/// Everything a training checkpoint says about itself besides its tensors.
public struct CheckpointMetadata: Codable, Equatable, Sendable {
    public static let currentFormat = "anogan-checkpoint"
    public static let currentVersion = 1

    /// Metadata keys in the safetensors header. `seed`, `epoch` and `iteration` repeat
    /// fields of `settings` and `position` for people reading the header by hand.
    public enum Keys {
        public static let format = "format", version = "version", architecture = "architecture",
            settings = "settings", position = "position", seed = "seed", epoch = "epoch", iteration = "iteration",
            datasetCount = "dataset.count", datasetPath = "dataset.path", datasetFingerprint = "dataset.fingerprint"
    }

    public var format: String
    public var version: Int
    public var architecture: DCGANConfig
    public var settings: TrainingSettings
    public var position: TrainingPosition
    public var dataset: CheckpointDataset

    public init(architecture: DCGANConfig, settings: TrainingSettings, position: TrainingPosition, dataset: CheckpointDataset) {
        format = Self.currentFormat
        version = Self.currentVersion
        self.architecture = architecture
        self.settings = settings
        self.position = position
        self.dataset = dataset
    }

    /// The flat string map written into the safetensors header.
    public func safetensorsMetadata() throws -> [String: String] {
        var meta = [
            Keys.format: format,
            Keys.version: String(version),
            Keys.architecture: try Self.json(architecture),
            Keys.settings: try Self.json(settings),
            Keys.position: try Self.json(position),
            Keys.seed: String(settings.seed),
            Keys.epoch: String(position.epoch),
            Keys.iteration: String(position.iteration),
            Keys.datasetCount: String(dataset.count),
            Keys.datasetPath: dataset.path,
        ]
        if let fingerprint = dataset.fingerprint { meta[Keys.datasetFingerprint] = fingerprint }
        return meta
    }

    /// Reads the header map of `url`: format, version (≤ current) and the JSON of
    /// every nested record are checked; errors name the file and the key.
    public init(safetensorsMetadata meta: [String: String], of url: URL) throws {
        guard meta[Keys.format] == Self.currentFormat else {
            throw FileError(url, "not an anogan checkpoint (metadata \"format\" is \(meta[Keys.format].map { "\"\($0)\"" } ?? "missing"))")
        }
        guard let v = meta[Keys.version].flatMap(Int.init), v <= Self.currentVersion else {
            throw FileError(url, "checkpoint version \(meta[Keys.version] ?? "missing") is not supported (this build reads ≤ \(Self.currentVersion))")
        }
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let text = meta[key] else { throw FileError(url, "checkpoint metadata lacks \"\(key)\"") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw FileError(url, "checkpoint metadata \"\(key)\" is not valid: \(text)")
            }
        }
        format = Self.currentFormat
        version = v
        architecture = try decode(Keys.architecture, DCGANConfig.self)
        settings = try decode(Keys.settings, TrainingSettings.self)
        position = try decode(Keys.position, TrainingPosition.self)
        dataset = CheckpointDataset(count: Int(meta[Keys.datasetCount] ?? "") ?? 0, path: meta[Keys.datasetPath] ?? "",
                                    fingerprint: meta[Keys.datasetFingerprint])
        try validate(url)
    }

    /// Bounds on the counters and sizes a checkpoint may declare. Far beyond any real run,
    /// yet small enough that the trainer's arithmetic on them (epochs × iterations per
    /// epoch, counter + 1, batch × image) cannot overflow.
    public enum Bounds {
        public static let epochs = 1_000_000
        public static let counter = 1 << 48
        public static let batchSize = 1 << 20
        public static let sampleCount = 1 << 16
        public static let latentDimension = 1 << 20
        public static let imageSize = 1 << 16
        public static let width = 1 << 20
        public static let channels = 1 << 10
    }

    /// Checks what a hostile or corrupt header could declare: architecture sizes, the
    /// settings and the position counters, each within `Bounds`, Adam's constants sane.
    /// Throws a `FileError` naming `url` and the field.
    public func validate(_ url: URL) throws {
        let a = architecture, s = settings, p = position
        func within(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws {
            guard range.contains(value) else {
                throw FileError(url, "checkpoint \(name) is \(value), outside \(range.lowerBound)…\(range.upperBound)")
            }
        }
        do { try a.validate() } catch {
            throw FileError(url, "checkpoint declares an impossible architecture: \(error)")
        }
        try within(a.latentDimension, 1...Bounds.latentDimension, "architecture latentDimension")
        try within(a.imageSize, 16...Bounds.imageSize, "architecture imageSize")
        try within(a.width, 1...Bounds.width, "architecture width")
        try within(a.channels, 1...Bounds.channels, "architecture channels")
        try within(s.epochs, 0...Bounds.epochs, "settings epochs")
        try within(s.batchSize, 1...Bounds.batchSize, "settings batchSize")
        try within(s.sampleCount, 0...Bounds.sampleCount, "settings sampleCount")
        let adam = s.adam
        guard adam.learningRate.isFinite, adam.learningRate >= 0, (0..<1).contains(adam.beta1), (0..<1).contains(adam.beta2),
              adam.epsilon.isFinite, adam.epsilon > 0 else {
            throw FileError(url, "checkpoint Adam settings are not usable (learning rate \(adam.learningRate), β₁ \(adam.beta1), β₂ \(adam.beta2), ε \(adam.epsilon))")
        }
        try within(p.epoch, 0...Bounds.epochs, "position epoch")
        try within(p.iteration, 0...Bounds.counter, "position iteration")
        try within(p.generatorAdamSteps, 0...Bounds.counter, "position generatorAdamSteps")
        try within(p.discriminatorAdamSteps, 0...Bounds.counter, "position discriminatorAdamSteps")
        guard p.rngState.count == 4, p.rngState.contains(where: { $0 != 0 }) else {
            throw FileError(url, "checkpoint random state is malformed (\(p.rngState.count) words)")
        }
        try within(dataset.count, 0...Bounds.counter, "dataset.count")
    }

    // MARK: Tensors

    /// The tensors of G and D a checkpoint holds (PyTorch state-dict names with the
    /// "generator." / "discriminator." prefix) for an architecture, known without building
    /// the networks: a checkpoint is checked against this before any allocation its header
    /// could inflate. AnoGAN's `Generator` and `Discriminator` define the same names and
    /// shapes; CheckpointTests.testLayoutMatchesTheNetworks keeps the two in step.
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
    public static func isStatistic(_ name: String) -> Bool { name.hasSuffix(".running_mean") || name.hasSuffix(".running_var") }

    /// Checks a checkpoint's tensors against this header before any network is built:
    /// the declared architecture's parameters (with gradients and Adam state) within
    /// `MemoryBudget`; every tensor of `layout(for:)` present with its shape; the Adam
    /// moments `optim.{generator,discriminator}.{m,v}` sized to the parameters; every
    /// value finite; BatchNorm running variances and Adam second moments ≥ 0.
    public func validate(tensors: [String: Tensor], order: [String], of url: URL) throws {
        let layout = Self.layout(for: architecture)
        func count(_ prefix: String) -> Int? {
            MemoryBudget.sum(layout.filter { $0.name.hasPrefix(prefix) && !Self.isStatistic($0.name) }.map { MemoryBudget.product($0.shape) })
        }
        let generatorCount = count("generator."), discriminatorCount = count("discriminator.")
        // Values, gradients and both Adam moments of both networks: 16 bytes per parameter.
        try MemoryBudget.check(MemoryBudget.sum([generatorCount, discriminatorCount]).flatMap { MemoryBudget.product([$0, 16]) },
                               for: url.path, "the declared architecture (latent \(architecture.latentDimension), image \(architecture.imageSize), width \(architecture.width), \(architecture.channels) channel(s)) with its gradients and Adam state")
        for entry in layout {
            guard let t = tensors[entry.name] else { throw FileError(url, "checkpoint lacks tensor \(entry.name)") }
            guard t.shape == entry.shape else {
                throw FileError(url, "tensor \(entry.name) has shape \(t.shape), the declared architecture needs \(entry.shape)")
            }
        }
        for (network, parameters) in [("generator", generatorCount!), ("discriminator", discriminatorCount!)] {
            for moment in ["m", "v"] {
                let key = "optim.\(network).\(moment)"
                guard let t = tensors[key] else { throw FileError(url, "checkpoint lacks \(key)") }
                guard t.count == parameters else {
                    throw FileError(url, "\(key) holds \(t.count) values, the declared architecture has \(parameters) \(network) parameters")
                }
            }
        }
        for name in order {
            guard let t = tensors[name] else { continue }
            guard t.isFinite else { throw FileError(url, "tensor \(name) holds NaN or Inf") }
            let isVariance = name.hasSuffix(".running_var") || (name.hasPrefix("optim.") && name.hasSuffix(".v"))
            if isVariance, let i = t.buffer.firstIndex(where: { $0 < 0 }) {
                throw FileError(url, "tensor \(name) holds the negative variance \(t.buffer[i]) at index \(i)")
            }
        }
    }

    /// Compact JSON with sorted keys (the form stored under a key).
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
