// The one-class protocol on a public IDX data set (Fashion-MNIST, MNIST): train
// AnoGAN on the training images of one class for a fixed iteration budget (with
// a validation slice held out for the health check), train the izi_f encoder for
// it, and score a balanced test subset from three starts — the prior (the paper,
// Γ steps of both mappings), E(x) alone (Γ = 0) and E(x) refined for a few
// steps — reporting the AUC of every score column per start, as in published
// one-class tables. Because the protocol knows the labels, an inverted headline
// AUC (A below 0.5) never goes out without a warning that names what the
// training health says. Data: Imaging.OneClassIDX; training: trainOrResume and
// trainEncoder; scoring: scoreAndWrite; AUCs: Evaluation.evaluate.

import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records

/// What a one-class benchmark run does. The defaults are the protocol's (the CLI reads them).
public struct OneClassBenchmarkSettings: Codable, Equatable, Sendable {
    /// Directory with the four IDX files.
    public var dataDirectory: String
    public var dataName: String
    public var normalClass: Int
    /// GAN training budget in iterations (batches of `batchSize`), the same whatever the set's
    /// size: 2000 iterations are 22 epochs of Fashion-MNIST's 5700 training images of a class
    /// (after the hold-out) and 333 epochs of 380. Measured before this budget existed (Γ = 100
    /// or 200): 6000 images, 468 iterations A 0.67, 1875 iterations A 0.89; 400 images, 30
    /// iterations 0.997, 180 iterations collapsed (0.14), 1800 iterations 0.94. A budget in
    /// epochs gives a small set too few steps, or lands it in such a collapse with no warning.
    public var iterations = 2000
    /// Training images held out (never trained on) for the health check's reconstruction test.
    public var validationFraction = TrainingSettings.defaultValidationFraction
    /// Iterations of the izi_f encoder E, trained after the GAN with G and D frozen (the demo's 600).
    public var encoderIterations = 600
    /// Decay of the moving average of G's weights (TrainingSettings.generatorAverageDecay); nil: none.
    public var generatorAverageDecay: Double? = nil
    /// Γ of the prior start, mapping steps per image (the paper: 500).
    public var steps = 100
    /// The prior start's z₁ is the best of this many draws by the mapping's loss
    /// (MappingSettings.priorCandidates; nil or 1: the paper's single draw): a guard against a
    /// start that the shorter mapping cannot bring to the image's fit (class 0: A 0.880 → 0.882).
    public var priorCandidates: Int? = 16
    /// Γ of the mapping refined from E(x) (the encoder start at Γ = 0 is always scored too).
    public var refinementSteps = 20
    /// Test images scored: up to half normal, the rest anomalous, first in file order.
    public var testLimit = 1000
    /// Training images of the normal class used (nil: all, 6000 for Fashion-MNIST).
    public var trainLimit: Int?
    public var width = 32
    public var batchSize = 64
    public var seed: UInt64 = 0
    /// Precision of every stage's convolutions: GAN and encoder training and all three scorings
    /// (Precision). nil (and in results.json files written before it existed): `Precision.default`, f32;
    /// a run records it explicitly.
    public var precision: Precision?

    public init(dataDirectory: String, dataName: String, normalClass: Int) {
        self.dataDirectory = dataDirectory
        self.dataName = dataName
        self.normalClass = normalClass
    }

    /// The model: 32×32 (IDX images are padded from 28×28), one channel.
    public var architecture: DCGANConfig { DCGANConfig(latentDimension: 100, imageSize: 32, width: width, channels: 1) }

    /// The precision every stage runs in (nil: f32).
    public var resolvedPrecision: Precision { precision ?? .default }

    /// These settings with the precision spelled out, as a run records them (so that nil and f32 compare equal).
    public var resolved: OneClassBenchmarkSettings {
        var s = self
        s.precision = resolvedPrecision
        return s
    }

    /// Throws a SettingsError naming the setting (normalClass, iterations, …) that cannot run.
    public func validate() throws {
        guard normalClass >= 0 else { throw SettingsError("normalClass must be ≥ 0, got \(normalClass)") }
        guard iterations >= 1 else { throw SettingsError("iterations must be ≥ 1, got \(iterations)") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw SettingsError("validationFraction must lie in [0, 1), got \(validationFraction)")
        }
        guard encoderIterations >= 1 else { throw SettingsError("encoderIterations must be ≥ 1, got \(encoderIterations)") }
        guard steps >= 1 else { throw SettingsError("steps must be ≥ 1, got \(steps)") }
        if let priorCandidates { try Limits.check("priorCandidates", priorCandidates, in: 1...Limits.priorCandidates) }
        guard refinementSteps >= 1 else { throw SettingsError("refinementSteps must be ≥ 1, got \(refinementSteps)") }
        guard testLimit >= 2 else { throw SettingsError("testLimit must be ≥ 2 (one normal, one anomalous), got \(testLimit)") }
        guard batchSize >= 2 else { throw SettingsError("batchSize must be ≥ 2, got \(batchSize)") }
        if let trainLimit, trainLimit < batchSize { throw SettingsError("trainLimit \(trainLimit) is smaller than one batch of \(batchSize) (batchSize)") }
        guard width >= 1 else { throw SettingsError("width must be ≥ 1, got \(width)") }
        do { try resolvedPrecision.checkSupported() } catch { throw SettingsError("\(error)") }
    }

    /// One line: the budget every class gets (the all-classes table's header says it).
    public var budget: String {
        "\(iterations) GAN iterations (batch \(batchSize), \(Int((validationFraction * 100).rounded())) % held out"
            + (generatorAverageDecay.map { ", G averaged with decay \($0)" } ?? "") + "), "
            + "\(encoderIterations) encoder iterations, Γ = \(steps) from the prior"
            + (MappingSettings.priorChoice(priorCandidates).map { " (\($0))" } ?? "") + ", 0 and \(refinementSteps) from E(x); "
            + "32×32, width \(width), test subset \(testLimit), seed \(seed)"
            + (resolvedPrecision == .default ? "" : ", \(resolvedPrecision.rawValue)")
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

    public init(column: String, auc: Double, lower: Double, upper: Double, anomalousWhen: String) {
        self.column = column
        self.auc = auc
        self.lower = lower
        self.upper = upper
        self.anomalousWhen = anomalousWhen
    }
}

/// The scores of one start: where the mapping began, Γ, each column's AUC and the scoring speed.
public struct OneClassStartResult: Codable, Equatable, Sendable {
    /// "prior", "encoder" (E(x) alone, Γ = 0) or "encoder+refine" (E(x) then Γ steps).
    public var name: String
    public var start: LatentStart
    public var steps: Int
    /// The score run directory, relative to the run's directory.
    public var scores: String
    public var aucs: [ColumnAUC]
    /// Wall-clock seconds of the scoring (both mappings) and test images per second.
    public var seconds: Double
    public var imagesPerSecond: Double

    public init(name: String, start: LatentStart, steps: Int, scores: String, aucs: [ColumnAUC], seconds: Double, imagesPerSecond: Double) {
        self.name = name
        self.start = start
        self.steps = steps
        self.scores = scores
        self.aucs = aucs
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
    }

    /// The AUC of `column` (nil when this start did not produce it).
    public func auc(_ column: String) -> ColumnAUC? { aucs.first { $0.column == column } }

    /// "prior start, Γ = 100" and the like.
    public var title: String {
        switch name {
        case OneClassBenchmark.priorStart: return "prior start (z₁ ~ U[-1, 1]), Γ = \(steps)"
        case OneClassBenchmark.encoderStart: return "encoder start (z₁ = E(x)), Γ = 0: the encoder score alone"
        default: return "encoder start (z₁ = E(x)) refined, Γ = \(steps)"
        }
    }
}

/// A warning of a one-class run: the training health's, or an inverted headline AUC.
public struct OneClassWarning: Codable, Equatable, Sendable {
    /// A TrainingHealth.Issue's raw value ("collapsed", …) or "inverted".
    public var kind: String
    public var message: String

    public init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The outcome, also written as results.json.
public struct OneClassBenchmarkResult: Codable, Equatable, Sendable {
    public var settings: OneClassBenchmarkSettings
    /// Images the GAN trained on, and those held out (the validation slice).
    public var trainCount: Int
    public var validationCount: Int
    public var testNormal: Int
    public var testAnomalous: Int
    /// Iterations behind the checkpoint that was scored.
    public var trainingIterations: Int
    /// Seconds of this invocation's GAN and encoder training (0 when a finished checkpoint was reused).
    public var trainingSeconds: Double
    public var encoderSeconds: Double
    /// The health report of the scored checkpoint (nil when it could not be had).
    public var health: TrainingHealth?
    /// One block per start: prior, encoder (Γ = 0), encoder+refine.
    public var starts: [OneClassStartResult]
    /// The health warnings, then one per inverted headline AUC.
    public var warnings: [OneClassWarning]

    public func start(_ name: String) -> OneClassStartResult? { starts.first { $0.name == name } }

    /// A fixed-width table, one block per start with a row per score column, then the warnings.
    public var table: String {
        var lines: [String] = []
        for block in starts {
            lines.append(String(format: "%@: %d images in %.1f s (%.1f images/s)", block.title, testNormal + testAnomalous,
                                block.seconds, block.imagesPerSecond))
            lines += ["  score   AUC     95% CI", "  ------  ------  ---------------"]
            for a in block.aucs {
                lines.append("  " + a.column.padding(toLength: 8, withPad: " ", startingAt: 0)
                             + String(format: "%.4f  [%.3f, %.3f]", a.auc, a.lower, a.upper))
            }
        }
        if let health, warnings.isEmpty { lines += healthLines(health) }
        lines += warnings.map { "WARNING: " + $0.message }
        return lines.joined(separator: "\n")
    }

    /// Writes results.json (pretty, sorted keys), atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).writeAtomically(to: url)
    }

    public static func read(_ url: URL) throws -> OneClassBenchmarkResult {
        do { return try JSONDecoder().decode(OneClassBenchmarkResult.self, from: readFile(url)) } catch let e as FileError { throw e } catch {
            throw FileError(url, "not a one-class results file: \(error)")
        }
    }
}

public enum OneClassBenchmark {
    /// The names of the three starts, in the order they are scored and reported.
    public static let priorStart = "prior", encoderStart = "encoder", refinedStart = "encoder+refine"
    /// The results file in a run's directory.
    public static let resultsFileName = "results.json"
    /// The headline column: the paper's anomaly score A (feature-matching mapping).
    public static let headline = "A"

    /// Runs the protocol, writing into `directory`: patches/, anogan/ (checkpoint, losses,
    /// samples, health.json, encoder.safetensors), scores/<start>/ (score runs), results.json.
    /// An existing checkpoint of the same run is resumed (or reused when finished); the encoder is
    /// retrained unless a finished GAN was reused and its encoder checkpoint loads.
    public static func run(settings: OneClassBenchmarkSettings, directory: URL,
                           log: @escaping (String) -> Void = { print($0); fflush(stdout) }) throws -> OneClassBenchmarkResult {
        let s = settings.resolved
        try s.validate()
        let data = try OneClassIDX.load(directory: URL(fileURLWithPath: s.dataDirectory), normalClass: s.normalClass,
                                        trainLimit: s.trainLimit, imageSize: 32)
        let test = balancedSubset(data.test, limit: s.testLimit)
        let normal = test.labels!.filter { $0 == 0 }.count, anomalous = test.count - normal
        guard normal > 0, anomalous > 0 else { throw DemoError("the test subset holds \(normal) normal and \(anomalous) anomalous images") }
        log("\(s.dataName), normal class \(s.normalClass): \(data.train.count) training images, test subset \(test.count) "
            + "(\(normal) normal, \(anomalous) anomalous); \(s.budget)")
        let trainDir = directory.appendingPathComponent("patches/train"), testDir = directory.appendingPathComponent("patches/test")
        try data.train.save(to: trainDir)
        try test.save(to: testDir)

        // The GAN, for a fixed number of iterations, with the validation slice held out.
        let output = TrainingOutput(directory: directory.appendingPathComponent("anogan"))
        let trainStart = Date()
        let before = (try? Checkpoint.read(output.checkpoint))?.position.iteration
        let trainer = try trainOrResume(try ImageInput.load(trainDir), config: s.architecture,
                                        settings: TrainingSettings(batchSize: s.batchSize, seed: s.seed, iterations: s.iterations,
                                                                   validationFraction: s.validationFraction,
                                                                   generatorAverageDecay: s.generatorAverageDecay,
                                                                   precision: s.resolvedPrecision),
                                        output: output, resume: .whenSameRun, health: nil, log: log)
        // A fresh start over a checkpoint of another run (other seed or precision) may end at the same iteration.
        let ganWasTrained = trainer.resumedFrom == nil || before != trainer.completedIterations
        let trainingSeconds = Date().timeIntervalSince(trainStart)
        // The health check once, of the checkpoint that is scored: after every epoch it would cost
        // more than the training of a small set (an epoch of 380 images is 5 iterations).
        let health: TrainingHealth
        if !ganWasTrained, let saved = try? TrainingHealth.read(output.health), saved.iteration == trainer.completedIterations {
            health = saved
        } else {
            health = try trainer.assessHealth(lossHistory: try lossHistory(output.lossLog))
            try health.write(to: output.health)
            log("health of the trained GAN: " + healthLines(health).joined(separator: "\n    "))
        }

        // The izi_f encoder for it (G and D frozen), on the same training images.
        let encoderOutput = EncoderTrainingOutput(directory: output.directory)
        let encoderSettings = EncoderTrainingSettings(iterations: s.encoderIterations, batchSize: s.batchSize, seed: s.seed,
                                                      precision: s.resolvedPrecision)
        let encoderClock = Date()
        try trainEncoderForRun(gan: output.checkpoint, data: trainDir, settings: encoderSettings, output: encoderOutput,
                               freshGAN: ganWasTrained, log: log)
        let encoderSeconds = Date().timeIntervalSince(encoderClock)

        // Scoring from each start; both mappings, so every column is there.
        let input = try ImageInput.load(testDir)
        var evaluation = EvaluationSettings()
        evaluation.seed = s.seed
        var starts: [OneClassStartResult] = []
        for (name, start, steps) in [(priorStart, LatentStart.prior, s.steps), (encoderStart, .encoder, 0),
                                     (refinedStart, .encoder, s.refinementSteps)] {
            let scoring = ScoringSettings(mapping: MappingSettings(steps: steps, batchSize: 256, adam: start.defaultAdam, precision: s.resolvedPrecision,
                                                                   priorCandidates: start == .prior ? s.priorCandidates : nil),
                                          variant: .both, seed: s.seed, start: start)
            let (scorer, _) = try latentMappingScorer(checkpoint: output.checkpoint, settings: scoring,
                                                      encoder: start == .encoder ? encoderOutput.checkpoint : nil)
            let relative = "scores/\(name)"
            let result = try scoreAndWrite(scorer, input: input, checkpoint: output.checkpoint,
                                           encoderCheckpoint: start == .encoder ? encoderOutput.checkpoint : nil,
                                           to: directory.appendingPathComponent(relative),
                                           options: ScoreRunOptions(trace: steps > 0), label: "scoring (\(name), Γ = \(steps))")
            let evaluated = try evaluate(runs: [NamedScoreTable(name: name, table: result.scoreTable())], settings: evaluation)
            let aucs = evaluated.scores.map {
                ColumnAUC(column: $0.column, auc: $0.auc, lower: $0.confidenceInterval.lower, upper: $0.confidenceInterval.upper,
                          anomalousWhen: $0.orientation == .lowerIsAnomalous ? "lower" : "higher")
            }
            let block = OneClassStartResult(name: name, start: start, steps: steps, scores: relative, aucs: aucs, seconds: result.seconds,
                                            imagesPerSecond: Double(input.count) / max(result.seconds, 1e-9))
            log(String(format: "%@: A %.4f, %.1f s (%.1f images/s)", block.title, block.auc(headline)?.auc ?? Double.nan, block.seconds,
                       block.imagesPerSecond))
            starts.append(block)
        }

        let outcome = OneClassBenchmarkResult(
            settings: s, trainCount: trainer.trainingIndices.count, validationCount: trainer.validationIndices.count,
            testNormal: normal, testAnomalous: anomalous, trainingIterations: trainer.completedIterations,
            trainingSeconds: trainingSeconds, encoderSeconds: encoderSeconds, health: health, starts: starts,
            warnings: warnings(starts: starts, health: health, settings: s))
        try outcome.write(to: directory.appendingPathComponent(resultsFileName))
        return outcome
    }

    /// D(x), D(G(z)) and the losses of every iteration in a loss log (losses.csv of Trainer.run).
    static func lossHistory(_ url: URL) throws -> [GANStepLosses] {
        let lines = String(decoding: try readFile(url), as: UTF8.self).split(separator: "\n").dropFirst()
        return lines.compactMap { line in
            let f = line.split(separator: ",").compactMap { Float($0) }
            guard f.count == 7 else { return nil }
            return GANStepLosses(lossD: f[2], lossG: f[3], dReal: f[4], dFake: f[5], dFakeAfter: f[6])
        }
    }

    /// Trains E for the GAN of `gan`: continued from the checkpoint there when the GAN was not
    /// retrained and that checkpoint loads for it, else from scratch (an old E belongs to an old G).
    private static func trainEncoderForRun(gan: URL, data: URL, settings: EncoderTrainingSettings, output: EncoderTrainingOutput,
                                           freshGAN: Bool, log: (String) -> Void) throws {
        if !freshGAN, FileManager.default.fileExists(atPath: output.checkpoint.path) {
            do {
                try trainEncoder(gan: gan, data: data, settings: settings, output: output,
                                 resume: .from(output.checkpoint, iterations: settings.iterations), log: log)
                return
            } catch {
                log("the encoder checkpoint \(output.checkpoint.path) does not continue (\(error)); training a new one")
            }
        }
        try? FileManager.default.removeItem(at: output.checkpoint)
        try trainEncoder(gan: gan, data: data, settings: settings, output: output, resume: .fresh, log: log)
    }

    /// The run's warnings: every health warning, then one per start whose headline AUC (A) is
    /// below 0.5, saying what the health report says about it and what to try.
    public static func warnings(starts: [OneClassStartResult], health: TrainingHealth?,
                                settings: OneClassBenchmarkSettings) -> [OneClassWarning] {
        var out = (health?.warnings ?? []).map { OneClassWarning(kind: $0.issue.rawValue, message: $0.message) }
        for block in starts {
            guard let a = block.auc(headline), a.auc < 0.5 else { continue }
            let significance = a.upper < 0.5 ? "its 95 % CI [\(f3(a.lower)), \(f3(a.upper))] lies below 0.5"
                : "its 95 % CI [\(f3(a.lower)), \(f3(a.upper))] reaches 0.5, so it may be chance"
            let says: String, tryThis: String
            if let health, !health.warnings.isEmpty {
                says = health.warnings.map(\.issue.rawValue).joined(separator: ", ") + " (see the warnings above)"
                if health.callsForFewerIterations {
                    tryThis = "fewer iterations (iterations, now \(settings.iterations)), more training images, or another seed"
                } else {
                    tryThis = "more iterations (iterations, now \(settings.iterations))"
                }
            } else {
                says = health == nil ? "nothing (no health report)" : "nothing wrong (the GAN looks healthy)"
                tryThis = "another start or more mapping steps (steps, now \(settings.steps)); a healthy GAN whose normal class "
                    + "is more varied than the others can rank normal images as more anomalous"
            }
            out.append(OneClassWarning(kind: "inverted", message:
                "scores are inverted: \(headline) from the \(block.name) start (Γ = \(block.steps)) has AUC \(f3(a.auc)) < 0.5, "
                + "normal class \(settings.normalClass) scores as more anomalous than the other classes; \(significance); "
                + "the training health says \(says); try \(tryThis)"))
        }
        // No AUC below 0.5 goes unremarked: the other columns of each start, in one line per start.
        for block in starts {
            let low = block.aucs.filter { $0.column != headline && $0.auc < 0.5 }
            guard !low.isEmpty else { continue }
            out.append(OneClassWarning(kind: "below-chance", message:
                "below chance in the \(block.name) start (Γ = \(block.steps)): "
                + low.map { "\($0.column) \(f3($0.auc)) [\(f3($0.lower)), \(f3($0.upper))]" }.joined(separator: ", ")
                + " — these columns rank normal class \(settings.normalClass) as more anomalous than the others; "
                + "read \(headline), and do not use them as anomaly scores on this data"))
        }
        return out
    }

    private static func f3(_ x: Double) -> String { String(format: "%.3f", x) }

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
