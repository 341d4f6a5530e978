// Adversarial training of the paper's DCGAN (Eq. 1, non-saturating generator
// loss) as a loop around core's GANTrainingStep, the PyTorch dcgan/main.py
// way: a seeded shuffle per epoch, z ~ U[-1,1]^latent per batch, a sample grid
// from fixed noise and a checkpoint after every epoch, and a resume that
// continues bit-for-bit. The CLI only prints what the callbacks report.

import Foundation
import Imaging
import NeuralNet
import Records

/// What the trainer reports after every iteration.
public struct TrainingIteration {
    /// Epoch in progress, 1-based.
    public var epoch: Int
    public var epochs: Int
    /// Iteration within the epoch, 1-based.
    public var iteration: Int
    public var iterationsPerEpoch: Int
    /// Iterations completed in the whole run (including any before a resume).
    public var globalIteration: Int
    public var totalIterations: Int
    public var batchSize: Int
    public var losses: GANStepLosses
}

/// What the trainer reports after every epoch.
public struct EpochSummary {
    /// The epoch just completed, 1-based.
    public var epoch: Int
    public var meanLossD: Double
    public var meanLossG: Double
    public var seconds: Double
    /// Files written for this epoch (nil when training in memory only).
    public var checkpoint: URL?
    public var samples: URL?
    /// The health check made with this epoch's checkpoint (nil when not run).
    public var health: TrainingHealth?
}

public enum TrainingError: Error, CustomStringConvertible {
    case tooFewImages(count: Int, batchSize: Int)
    case invalidSettings(String)
    case diverged(epoch: Int, iteration: Int, what: String, lastGood: URL?)

    public var description: String {
        switch self {
        case let .tooFewImages(count, batchSize):
            return "the training set has \(count) images, fewer than one batch of \(batchSize); lower the batch size"
        case let .invalidSettings(message):
            return message
        case let .diverged(epoch, iteration, what, lastGood):
            let keep = lastGood.map { "the last good checkpoint is kept at \($0.path)" } ?? "no checkpoint was written yet"
            return "training diverged at epoch \(epoch), iteration \(iteration): \(what); stopped, \(keep)"
        }
    }
}

/// One training run of G and D on a fixed image set.
public final class Trainer {
    public let config: DCGANConfig
    public private(set) var settings: TrainingSettings
    /// The generator being trained (D plays against this one).
    public let generator: Generator
    public let discriminator: Discriminator
    /// The moving average of `generator`'s weights when `settings.generatorAverageDecay` is set.
    /// Its BatchNorm statistics are only valid after `refreshAveragedStatistics()`; use `outputGenerator`.
    public let averagedGenerator: Generator?
    public let step: GANTrainingStep
    /// N×C×S×S in [-1, 1]: all given images, the validation slice included.
    public let images: Tensor
    /// Indices into `images` trained on and held out (both ascending; see `validationSplit`).
    public let trainingIndices: [Int]
    public let validationIndices: [Int]
    /// Recorded in checkpoints so a resume on other data is caught.
    public let datasetPath: String
    /// FNV-1a of `images` (`Tensor.fingerprint`), recorded in checkpoints and checked on resume.
    public let datasetFingerprint: String
    public private(set) var completedEpochs = 0
    public private(set) var completedIterations = 0
    /// The checkpoint this run was resumed from, if any.
    public let resumedFrom: URL?
    private var rng: SeededGenerator
    private let fixedNoise: Tensor
    private let batch: Tensor
    private let noise: Tensor
    private var order: [Int]
    /// The random state before the current epoch's shuffle while an epoch is in progress.
    private var epochStartRNGState: [UInt64]?

    /// A fresh run: weights drawn from `settings.seed`.
    public convenience init(config: DCGANConfig, settings: TrainingSettings, images: Tensor, datasetPath: String = "") throws {
        try self.init(config: config, settings: settings, images: images, datasetPath: datasetPath, checkpoint: nil,
                      fingerprint: images.fingerprint)
    }

    /// Continues the run saved in `checkpoint` on the same images. `epochs` or `iterations` may
    /// raise the budget (`epochs` alone replaces an iteration budget by that many epochs);
    /// every other setting, the validation slice included, is the checkpoint's.
    public convenience init(resuming checkpoint: Checkpoint, images: Tensor, datasetPath: String = "", epochs: Int? = nil,
                            iterations: Int? = nil) throws {
        var settings = checkpoint.settings
        if let epochs { settings.epochs = epochs; settings.iterations = nil; settings.minimumIterations = nil }
        if let iterations { settings.iterations = iterations }
        guard checkpoint.datasetCount == 0 || checkpoint.datasetCount == images.shape[0] else {
            throw FileError(checkpoint.url, "was trained on \(checkpoint.datasetCount) images, the given set has \(images.shape[0]); resume needs the same data")
        }
        let fingerprint = images.fingerprint
        if let saved = checkpoint.metadata.dataset.fingerprint, saved != fingerprint {
            throw FileError(checkpoint.url, "was trained on other images (data fingerprint \(saved), the given set's is \(fingerprint)); resume needs the same data")
        }
        try self.init(config: checkpoint.config, settings: settings, images: images,
                      datasetPath: datasetPath.isEmpty ? checkpoint.datasetPath : datasetPath, checkpoint: checkpoint,
                      fingerprint: fingerprint)
    }

    private init(config: DCGANConfig, settings: TrainingSettings, images: Tensor, datasetPath: String, checkpoint: Checkpoint?,
                 fingerprint: String) throws {
        guard settings.batchSize >= 2 else { throw TrainingError.invalidSettings("batch size must be at least 2 (BatchNorm needs a batch), got \(settings.batchSize)") }
        guard settings.epochs >= 0 else { throw TrainingError.invalidSettings("epochs must be ≥ 0, got \(settings.epochs)") }
        guard settings.sampleCount >= 1 else { throw TrainingError.invalidSettings("sample count must be ≥ 1") }
        if let iterations = settings.iterations, iterations < 0 { throw TrainingError.invalidSettings("iterations must be ≥ 0, got \(iterations)") }
        if let minimum = settings.minimumIterations, minimum < 0 { throw TrainingError.invalidSettings("minimum iterations must be ≥ 0, got \(minimum)") }
        if let f = settings.validationFraction, !(f >= 0 && f < 1) {
            throw TrainingError.invalidSettings("validation fraction must lie in [0, 1), got \(f)")
        }
        do { try config.validate() } catch { throw TrainingError.invalidSettings("\(error)") }  // before Generator's precondition
        let s = images.shape
        guard s.count == 4, s[1] == config.channels, s[2] == config.imageSize, s[3] == config.imageSize else {
            throw TrainingError.invalidSettings("training images have shape \(s), the model needs N×\(config.channels)×\(config.imageSize)×\(config.imageSize)")
        }
        guard s[0] >= settings.batchSize else { throw TrainingError.tooFewImages(count: s[0], batchSize: settings.batchSize) }
        (trainingIndices, validationIndices) = Self.validationSplit(count: s[0], settings: settings)
        self.config = config
        self.settings = settings
        self.images = images
        self.datasetPath = datasetPath
        datasetFingerprint = fingerprint
        resumedFrom = checkpoint?.url
        let precision = settings.precision ?? .default
        do { try precision.checkSupported() } catch { throw TrainingError.invalidSettings("training.\(error)") }
        generator = Generator(config: config, precision: precision)
        discriminator = Discriminator(config: config, precision: precision)
        rng = SeededGenerator(seed: settings.seed)
        generator.initialize(using: &rng)
        discriminator.initialize(using: &rng)
        step = GANTrainingStep(generator: generator, discriminator: discriminator, adam: settings.adam)
        if let label = settings.realLabel {
            guard label > 0.5 && label <= 1 else { throw TrainingError.invalidSettings("the real label must lie in (0.5, 1], got \(label)") }
            step.realTarget = label
        }
        if let decay = settings.generatorAverageDecay {
            guard decay > 0 && decay < 1 else { throw TrainingError.invalidSettings("the generator average decay must lie in (0, 1), got \(decay)") }
            let averaged = Generator(config: config, precision: precision)
            averaged.copyState(from: generator)
            averagedGenerator = averaged
        } else {
            averagedGenerator = nil
        }
        // The grid noise has its own stream so it is the same for a run and its resume.
        var sampleRNG = SeededGenerator(seed: settings.seed ^ 0x5EED_0F_F1_8ED_0015)
        fixedNoise = Tensor.uniform(shape: [settings.sampleCount, config.latentDimension], low: -1, high: 1, using: &sampleRNG)
        batch = Tensor(shape: [settings.batchSize] + Array(s.dropFirst()))
        noise = Tensor(shape: [settings.batchSize, config.latentDimension])
        order = trainingIndices
        if let checkpoint {
            try checkpoint.loadTraining(into: generator, discriminator, averagedGenerator: averagedGenerator)
            try checkpoint.restore(step.adamG, network: "generator", steps: checkpoint.position.generatorAdamSteps)
            try checkpoint.restore(step.adamD, network: "discriminator", steps: checkpoint.position.discriminatorAdamSteps)
            rng.state = checkpoint.position.rngState
            completedEpochs = checkpoint.position.epoch
            completedIterations = checkpoint.position.iteration
            if completedIterations > completedEpochs * iterationsPerEpoch {
                // Stopped mid-epoch: redo that epoch's shuffle from the state before it.
                guard let before = checkpoint.position.epochStartRNGState, before.count == 4 else {
                    throw FileError(checkpoint.url, "checkpoint stopped mid-epoch but lacks the epoch's random state")
                }
                rng.state = before
                shuffle(&order)
                rng.state = checkpoint.position.rngState
                epochStartRNGState = before
            }
        }
    }

    /// The validation split of `count` images under `settings`: k = round(fraction·count) images,
    /// clamped to [1, count − batchSize] (0 when the fraction is nil or 0, or count == batchSize),
    /// the first k of a Fisher–Yates permutation seeded by `settings.seed` on a stream of its own.
    /// Returns both index lists ascending; determined by (count, batchSize, seed, fraction) alone.
    public static func validationSplit(count: Int, settings: TrainingSettings) -> (training: [Int], validation: [Int]) {
        let fraction = settings.validationFraction ?? 0
        guard fraction > 0, count > settings.batchSize else { return (Array(0..<count), []) }
        let k = min(max(1, Int((fraction * Double(count)).rounded())), count - settings.batchSize)
        var rng = SeededGenerator(seed: settings.seed ^ 0x7A11_DA7E_0000_5E70)
        var a = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: rng.next()).high)
            a.swapAt(i, j)
        }
        let held = Set(a.prefix(k))
        return ((0..<count).filter { !held.contains($0) }, a.prefix(k).sorted())
    }

    /// The held-out images (validationIndices), a new V×C×S×S tensor (V may be 0).
    public var validationImages: Tensor { Self.gather(images, validationIndices) }

    /// Up to `count` training images (never validation ones), a seeded choice; a new tensor.
    public func trainingSample(count: Int, seed: UInt64 = 0) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var pick = trainingIndices
        pick.shuffle(using: &rng)
        return Self.gather(images, Array(pick.prefix(max(0, count))).sorted())
    }

    static func gather(_ images: Tensor, _ indices: [Int]) -> Tensor {
        let out = Tensor(shape: [indices.count] + Array(images.shape.dropFirst()))
        let item = images.itemCount
        for (k, i) in indices.enumerated() { (out.data + k * item).update(from: images.data + i * item, count: item) }
        return out
    }

    public var iterationsPerEpoch: Int { trainingIndices.count / settings.batchSize }
    /// The run's length: `settings.iterations` when set, else `settings.epochs` full epochs but at
    /// least `settings.minimumIterations`.
    public var totalIterations: Int { settings.iterations ?? max(settings.epochs * iterationsPerEpoch, settings.minimumIterations ?? 0) }
    /// Epochs the run touches (the last one may be partial under an iteration budget).
    public var totalEpochs: Int { (totalIterations + iterationsPerEpoch - 1) / iterationsPerEpoch }
    public var isFinished: Bool { completedIterations >= totalIterations }

    /// Where the run stands now (what a checkpoint written now would hold).
    public var position: TrainingPosition {
        TrainingPosition(epoch: completedEpochs, iteration: completedIterations, rngState: rng.state,
                         generatorAdamSteps: step.adamG.step, discriminatorAdamSteps: step.adamD.step,
                         epochStartRNGState: epochStartRNGState)
    }

    /// Trains (the rest of) one epoch: a seeded shuffle, then one GAN step per full batch, stopping
    /// early when the iteration budget is reached (the epoch then stays incomplete).
    /// Throws `TrainingError.diverged` as soon as a loss or, at the end, a weight is NaN/Inf;
    /// the networks are then unusable and nothing should be saved.
    public func trainEpoch(onIteration: (TrainingIteration) -> Void = { _ in }) throws -> EpochSummary {
        let start = Date()
        let epoch = completedEpochs + 1
        let first = completedIterations - completedEpochs * iterationsPerEpoch
        if first == 0 {
            // Each epoch's order is a function of the random state alone (not of the last
            // epoch's order), so a resumed run shuffles exactly as an uninterrupted one.
            epochStartRNGState = rng.state
            order = trainingIndices
            shuffle(&order)
        }
        let end = min(iterationsPerEpoch, max(first, totalIterations - completedEpochs * iterationsPerEpoch))
        let n = settings.batchSize, item = images.itemCount
        var sumD = 0.0, sumG = 0.0
        for i in first..<end {
            for b in 0..<n {
                (batch.data + b * item).update(from: images.data + order[i * n + b] * item, count: item)
            }
            for k in 0..<noise.count { noise.data[k] = rng.uniform(-1, 1) }
            let losses = step.step(real: batch, z: noise)
            completedIterations += 1
            if let averagedGenerator, let decay = settings.generatorAverageDecay {
                averagedGenerator.parameters.values.moveAverage(toward: generator.parameters.values,
                                                                decay: Self.averageDecay(decay, iteration: completedIterations))
            }
            let values = [losses.lossD, losses.lossG, losses.dReal, losses.dFake, losses.dFakeAfter]
            if let bad = values.first(where: { !$0.isFinite }) {
                throw TrainingError.diverged(epoch: epoch, iteration: i + 1,
                                             what: "a loss became \(bad) (Loss_D \(losses.lossD), Loss_G \(losses.lossG))", lastGood: nil)
            }
            sumD += Double(losses.lossD)
            sumG += Double(losses.lossG)
            onIteration(TrainingIteration(epoch: epoch, epochs: totalEpochs, iteration: i + 1,
                                          iterationsPerEpoch: iterationsPerEpoch, globalIteration: completedIterations,
                                          totalIterations: totalIterations, batchSize: n, losses: losses))
        }
        for (name, set) in [("generator", generator.parameters), ("discriminator", discriminator.parameters),
                            ("generator BatchNorm statistics", generator.statistics),
                            ("discriminator BatchNorm statistics", discriminator.statistics)] where !set.values.isFinite {
            throw TrainingError.diverged(epoch: epoch, iteration: end, what: "\(name) hold NaN or Inf", lastGood: nil)
        }
        if end == iterationsPerEpoch {
            completedEpochs = epoch
            epochStartRNGState = nil
        }
        let iterations = Double(max(end - first, 1))
        return EpochSummary(epoch: epoch, meanLossD: sumD / iterations, meanLossG: sumG / iterations,
                            seconds: Date().timeIntervalSince(start), checkpoint: nil, samples: nil)
    }

    /// G(fixed noise) in inference mode: N×C×S×S, the same noise every epoch.
    public func samples() -> Tensor {
        outputGenerator.forward(fixedNoise, training: false).copy()
    }

    /// The generator the run hands on (samples, health, checkpoint's `generator.*`): the averaged
    /// one, its statistics re-estimated first, when averaging is on; else the trained one.
    public var outputGenerator: Generator {
        guard let averagedGenerator else { return generator }
        refreshAveragedStatistics()
        return averagedGenerator
    }

    /// Effective decay after `iteration` updates: min(decay, (1+t)/(10+t)).
    static func averageDecay(_ decay: Double, iteration t: Int) -> Float {
        Float(min(decay, Double(1 + t) / Double(10 + t)))
    }

    /// Re-estimates the averaged generator's BatchNorm statistics: the running statistics of the
    /// trained G belong to other weights, so they are replaced by the mean of the batch statistics
    /// of `averageStatisticsBatches` training-mode passes on seeded noise (a stream of its own, so
    /// this neither moves the training's random state nor depends on when it is called).
    public func refreshAveragedStatistics() {
        // samples, checkpoint and health all ask after the same epoch: estimate once per position.
        guard let averagedGenerator, averagedStatisticsIteration != completedIterations else { return }
        averagedStatisticsIteration = completedIterations
        var noiseRNG = SeededGenerator(seed: settings.seed, stream: "averaged-generator-statistics")
        let z = Tensor(shape: [settings.batchSize, config.latentDimension])
        averagedGenerator.statistics.resetRunningStatistics()
        for k in 1...Self.averageStatisticsBatches {
            for i in 0..<z.count { z.data[i] = noiseRNG.uniform(-1, 1) }
            // momentum 1/k makes the running statistics the plain mean over the k batches so far.
            for norm in averagedGenerator.norms { norm.momentum = 1 / Float(k) }
            _ = averagedGenerator.forward(z, training: true)
        }
        for norm in averagedGenerator.norms { norm.momentum = 0.1 }
    }

    static let averageStatisticsBatches = 8
    /// The iteration the averaged generator's statistics were last estimated at.
    private var averagedStatisticsIteration: Int?

    /// Writes the current state as a checkpoint (atomically).
    public func saveCheckpoint(to url: URL) throws {
        refreshAveragedStatistics()
        try Checkpoint.write(generator: generator, averagedGenerator: averagedGenerator, discriminator: discriminator,
                             generatorAdam: step.adamG, discriminatorAdam: step.adamD,
                             settings: settings, position: position,
                             datasetCount: images.shape[0], datasetPath: datasetPath, datasetFingerprint: datasetFingerprint, to: url)
    }

    /// Fisher–Yates with the trainer's generator (explicit so the order does not
    /// depend on the standard library's shuffle algorithm).
    private func shuffle(_ a: inout [Int]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: rng.next()).high)
            a.swapAt(i, j)
        }
    }
}

// MARK: - A run on disk

/// The files a training run writes into its output directory.
public struct TrainingOutput {
    public var directory: URL
    /// The loss log, sample grid and checkpoint are written after an epoch once at least this many
    /// iterations have passed since the last write, and always at the end of the run: a small set's
    /// epochs are a few iterations each, and writing after every one would cost more than training.
    public var saveInterval: Int
    /// The health check runs with a write once at least this many iterations have passed since
    /// the last check, and always at the end.
    public var healthInterval: Int

    public init(directory: URL, saveInterval: Int = 100, healthInterval: Int = 500) {
        self.directory = directory
        self.saveInterval = max(1, saveInterval)
        self.healthInterval = max(1, healthInterval)
    }

    /// Latest checkpoint, replaced atomically (see `saveInterval`).
    public var checkpoint: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    /// One row per iteration: epoch, iteration, Loss_D, Loss_G, D(x), D(G(z)) before and after D's update.
    public var lossLog: URL { directory.appendingPathComponent("losses.csv") }
    /// The health report of the latest checkpoint (TrainingHealth), replaced atomically with it.
    public var health: URL { directory.appendingPathComponent("health.json") }
    /// Sample grid of epoch `epoch` (1-based).
    public func samples(epoch: Int) -> URL {
        directory.appendingPathComponent("samples").appendingPathComponent(String(format: "epoch-%03d.png", epoch))
    }

    static let lossHeader = "epoch,iteration,loss_d,loss_g,d_x,d_g_z1,d_g_z2"
}

extension Trainer {
    /// Trains the remaining epochs, writing after an epoch (at the cadence of
    /// `output.saveInterval`, and always at the end of the run, also when the iteration budget
    /// stops it mid-epoch) the loss log, the sample grid, the checkpoint and, unless `health`
    /// is nil, at the cadence of `output.healthInterval`, the health report (`output.health`,
    /// also in that epoch's summary). A loss log
    /// already there (from the run being resumed) is kept up to this trainer's position.
    /// On divergence nothing of the failed epoch is written and the previous checkpoint stays.
    public func run(output: TrainingOutput, health: HealthSettings? = HealthSettings(),
                    onIteration: (TrainingIteration) -> Void = { _ in },
                    onEpoch: (EpochSummary) -> Void = { _ in }) throws {
        var log = try existingLossLog(output.lossLog)
        var history = Self.lossHistory(logRows: log.dropFirst())
        var lastGood = resumedFrom
        var lastSave = completedIterations, lastHealth = completedIterations
        // The best fit of the checks so far; a resumed run continues the record in its health.json.
        var bestFit = resumedFrom == nil ? nil
            : (try? TrainingHealth.read(output.health)).flatMap { $0.iteration <= completedIterations ? $0.bestSoFar : nil }
        while !isFinished {
            var rows: [String] = []
            rows.reserveCapacity(iterationsPerEpoch)
            var summary: EpochSummary
            do {
                summary = try trainEpoch { it in
                    let l = it.losses
                    rows.append("\(it.epoch),\(it.globalIteration),\(l.lossD),\(l.lossG),\(l.dReal),\(l.dFake),\(l.dFakeAfter)")
                    onIteration(it)
                }
            } catch TrainingError.diverged(let epoch, let iteration, let what, _) {
                try? (log + rows).joined(separator: "\n").appending("\n").data(using: .utf8)!
                    .writeAtomically(to: output.directory.appendingPathComponent("losses-diverged.csv"))
                throw TrainingError.diverged(epoch: epoch, iteration: iteration, what: what, lastGood: lastGood)
            }
            log += rows
            history += Self.lossHistory(logRows: rows[...])
            guard isFinished || completedIterations - lastSave >= output.saveInterval else {
                onEpoch(summary)
                continue
            }
            lastSave = completedIterations
            try Data(log.joined(separator: "\n").appending("\n").utf8).writeAtomically(to: output.lossLog)
            let grid = Pictures.grid(samples(), columns: Int(Double(settings.sampleCount).squareRoot().rounded(.up)))
            try PNG.write(width: grid.width, height: grid.height, channels: grid.channels, pixels8: grid.pixels,
                          to: output.samples(epoch: summary.epoch))
            try saveCheckpoint(to: output.checkpoint)
            lastGood = output.checkpoint
            summary.checkpoint = output.checkpoint
            summary.samples = output.samples(epoch: summary.epoch)
            if let health, isFinished || completedIterations - lastHealth >= output.healthInterval {
                lastHealth = completedIterations
                let report = try assessHealth(lossHistory: history, bestEarlier: bestFit, settings: health)
                bestFit = report.bestSoFar
                try report.write(to: output.health)
                summary.health = report
            }
            onEpoch(summary)
        }
    }

    /// The health check of the current G and D on this run's validation slice and a training sample.
    public func assessHealth(lossHistory: [GANStepLosses], encoder: LatentEncoder? = nil, bestEarlier: TrainingHealth.Fit? = nil,
                             settings: HealthSettings = HealthSettings()) throws -> TrainingHealth {
        let k = max(settings.images, settings.samples)
        return try TrainingHealth.assess(generator: outputGenerator, discriminator: discriminator,
                                         trainingImages: trainingSample(count: k, seed: settings.seed),
                                         validationImages: validationImages, lossHistory: lossHistory,
                                         encoder: encoder, bestEarlier: bestEarlier, settings: settings)
    }

    /// Loss-log rows (without the header) as step losses.
    static func lossHistory(logRows: ArraySlice<String>) -> [GANStepLosses] {
        logRows.compactMap { row in
            let f = row.split(separator: ",").compactMap { Float($0) }
            guard f.count == 7 else { return nil }
            return GANStepLosses(lossD: f[2], lossG: f[3], dReal: f[4], dFake: f[5], dFakeAfter: f[6])
        }
    }

    /// The header plus the rows of an earlier log up to this trainer's position.
    private func existingLossLog(_ url: URL) throws -> [String] {
        guard completedIterations > 0, FileManager.default.fileExists(atPath: url.path) else {
            return [TrainingOutput.lossHeader]
        }
        let lines = String(decoding: try readFile(url), as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.first == TrainingOutput.lossHeader else { throw FileError(url, "is not an anogan loss log (unexpected header)") }
        var kept = [TrainingOutput.lossHeader]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",")
            guard fields.count == 7, let it = Int(fields[1]) else { throw FileError(url, "malformed row: \(line)") }
            if it <= completedIterations { kept.append(line) }
        }
        return kept
    }
}
