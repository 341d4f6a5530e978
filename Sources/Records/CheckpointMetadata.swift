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

    public init(count: Int, path: String) {
        self.count = count
        self.path = path
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
            datasetCount = "dataset.count", datasetPath = "dataset.path"
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
        [
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
        dataset = CheckpointDataset(count: Int(meta[Keys.datasetCount] ?? "") ?? 0, path: meta[Keys.datasetPath] ?? "")
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

    /// Compact JSON with sorted keys (the form stored under a key).
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
