// The one-class protocol on a public IDX data set (Fashion-MNIST, MNIST): train
// AnoGAN on the training images of one class, score a test subset with both
// mappings, and report the AUC of every score column (R, D, A, R_hat, D_hat,
// A_hat, P_D), as in published one-class tables. Data: Imaging.OneClassIDX;
// training: trainOrResume; scoring: scoreAndWrite with LatentMappingScorer; AUCs: Evaluation.evaluate.

import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records

/// What a one-class benchmark run does.
public struct OneClassBenchmarkSettings: Codable, Equatable, Sendable {
    /// Directory with the four IDX files.
    public var dataDirectory: String
    public var dataName: String
    public var normalClass: Int
    public var epochs = 5
    /// Γ, mapping steps per image.
    public var steps = 100
    /// Test images scored: up to half normal, the rest anomalous, first in file order.
    public var testLimit = 1000
    /// Training images of the normal class used (nil: all, 6000 for Fashion-MNIST).
    public var trainLimit: Int?
    public var width = 32
    public var batchSize = 64
    public var seed: UInt64 = 0

    public init(dataDirectory: String, dataName: String, normalClass: Int) {
        self.dataDirectory = dataDirectory
        self.dataName = dataName
        self.normalClass = normalClass
    }

    /// Throws a SettingsError naming the setting (normalClass, epochs, …) that cannot run.
    public func validate() throws {
        guard normalClass >= 0 else { throw SettingsError("normalClass must be ≥ 0, got \(normalClass)") }
        guard epochs >= 1 else { throw SettingsError("epochs must be ≥ 1, got \(epochs)") }
        guard steps >= 1 else { throw SettingsError("steps must be ≥ 1, got \(steps)") }
        guard testLimit >= 2 else { throw SettingsError("testLimit must be ≥ 2 (one normal, one anomalous), got \(testLimit)") }
        guard batchSize >= 2 else { throw SettingsError("batchSize must be ≥ 2, got \(batchSize)") }
        if let trainLimit, trainLimit < batchSize { throw SettingsError("trainLimit \(trainLimit) is smaller than one batch of \(batchSize) (batchSize)") }
        guard width >= 1 else { throw SettingsError("width must be ≥ 1, got \(width)") }
    }
}

/// AUC of one score column.
public struct ColumnAUC: Codable, Equatable, Sendable {
    public var column: String
    public var auc: Double
    public var lower: Double
    public var upper: Double
    /// "higher" or "lower": which end of the score means anomalous (P_D: lower).
    public var anomalousWhen: String
}

/// The outcome, also written as results.json.
public struct OneClassBenchmarkResult: Codable, Sendable {
    public var settings: OneClassBenchmarkSettings
    public var trainCount: Int
    public var testNormal: Int
    public var testAnomalous: Int
    public var aucs: [ColumnAUC]
    public var trainingSeconds: Double
    public var scoringSeconds: Double

    /// A fixed-width table, one row per score column.
    public var table: String {
        var lines = ["score   AUC     95% CI", "------  ------  ---------------"]
        for a in aucs {
            lines.append(a.column.padding(toLength: 8, withPad: " ", startingAt: 0)
                         + String(format: "%.4f  [%.3f, %.3f]", a.auc, a.lower, a.upper))
        }
        return lines.joined(separator: "\n")
    }
}

public enum OneClassBenchmark {
    /// Runs the protocol, writing into `directory`: anogan/ (checkpoint, losses, samples),
    /// scores/ (a ScoreRun directory), results.json. An existing finished checkpoint
    /// for the same settings is reused.
    public static func run(settings s: OneClassBenchmarkSettings, directory: URL,
                           log: @escaping (String) -> Void = { print($0); fflush(stdout) }) throws -> OneClassBenchmarkResult {
        try s.validate()
        let data = try OneClassIDX.load(directory: URL(fileURLWithPath: s.dataDirectory), normalClass: s.normalClass,
                                        trainLimit: s.trainLimit, imageSize: 32)
        let test = balancedSubset(data.test, limit: s.testLimit)
        let normal = test.labels!.filter { $0 == 0 }.count, anomalous = test.count - normal
        guard normal > 0, anomalous > 0 else { throw DemoError("the test subset holds \(normal) normal and \(anomalous) anomalous images") }
        log("\(s.dataName), normal class \(s.normalClass): \(data.train.count) training images, test subset \(test.count) "
            + "(\(normal) normal, \(anomalous) anomalous); 32×32, width \(s.width), \(s.epochs) epochs, Γ = \(s.steps), seed \(s.seed)")
        let trainDir = directory.appendingPathComponent("patches/train"), testDir = directory.appendingPathComponent("patches/test")
        try data.train.save(to: trainDir)
        try test.save(to: testDir)

        // Training (resumed when a checkpoint of the same run is there).
        let config = DCGANConfig(latentDimension: 100, imageSize: 32, width: s.width, channels: 1)
        let output = TrainingOutput(directory: directory.appendingPathComponent("anogan"))
        let trainStart = Date()
        let trainer = try trainOrResume(try ImageInput.load(trainDir), config: config,
                                        settings: TrainingSettings(epochs: s.epochs, batchSize: s.batchSize, seed: s.seed),
                                        output: output, resume: .whenSameRun, log: log)
        let trainingSeconds = Date().timeIntervalSince(trainStart)

        // Scoring with both mappings from the same z₁.
        let scoring = ScoringSettings(mapping: MappingSettings(steps: s.steps, batchSize: 256), variant: .both, seed: s.seed)
        let scorer = try LatentMappingScorer(generator: trainer.generator, discriminator: trainer.discriminator, settings: scoring)
        let result = try scoreAndWrite(scorer, input: try ImageInput.load(testDir), checkpoint: output.checkpoint,
                                       to: directory.appendingPathComponent("scores"),
                                       options: ScoreRunOptions(trace: true), label: "mapping")

        var evaluation = EvaluationSettings()
        evaluation.seed = s.seed
        let evaluated = try evaluate(runs: [NamedScoreTable(name: ScoreReference.mainRun, table: result.scoreTable())],
                                     settings: evaluation)
        let aucs = evaluated.scores.map {
            ColumnAUC(column: $0.column, auc: $0.auc, lower: $0.confidenceInterval.lower, upper: $0.confidenceInterval.upper,
                      anomalousWhen: $0.column == "P_D" ? "lower" : "higher")
        }
        let outcome = OneClassBenchmarkResult(settings: s, trainCount: data.train.count, testNormal: normal, testAnomalous: anomalous,
                                              aucs: aucs, trainingSeconds: trainingSeconds, scoringSeconds: result.seconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(outcome).writeAtomically(to: directory.appendingPathComponent("results.json"))
        return outcome
    }

    /// Up to limit/2 normal images (label 0) and the rest anomalous, each kind first in file order,
    /// kept in file order.
    static func balancedSubset(_ set: PatchSet, limit: Int) -> PatchSet {
        let labels = set.labels ?? Array(repeating: 0, count: set.count)
        let normals = labels.indices.filter { labels[$0] == 0 }, anomalies = labels.indices.filter { labels[$0] == 1 }
        let takeNormal = min(normals.count, limit / 2)
        let takeAnomalous = min(anomalies.count, limit - takeNormal)
        return set.selecting((Array(normals.prefix(takeNormal)) + Array(anomalies.prefix(takeAnomalous))).sorted())
    }
}
