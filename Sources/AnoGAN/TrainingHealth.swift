// A training health report: cheap checks, run at every checkpoint and at the
// end, that catch the failures which otherwise only show as a bad (even
// inverted) AUC much later — a collapsed generator, a generator that
// memorised its training images, one that does not fit the data at all, and a
// discriminator that has won. A pure function of (G, D, a training sample, the
// validation slice, the loss history), so it can be called from anywhere; the
// result is a Codable record (health.json) with one-line warnings that name
// the likely cause and the fix.

import Foundation
import NeuralNet
import Records

/// How much work the health check does. Defaults keep it to a few seconds at the paper's size.
public struct HealthSettings: Codable, Equatable, Sendable {
    /// Adam steps of the latent mapping behind the reconstruction check.
    public var mappingSteps: Int
    /// At most this many validation images, and a training sample of the same size.
    public var images: Int
    /// G(z) samples (and training images) for the diversity check.
    public var samples: Int
    /// Seeds z₁, the samples' z and the training sample.
    public var seed: UInt64
    /// The last part of training whose D(x), D(G(z)) the trend check reads.
    public var tailFraction: Double

    public init(mappingSteps: Int = 50, images: Int = 32, samples: Int = 64, seed: UInt64 = 0, tailFraction: Double = 0.1) {
        self.mappingSteps = mappingSteps
        self.images = images
        self.samples = samples
        self.seed = seed
        self.tailFraction = tailFraction
    }
}

/// What the health check found. Written as health.json; `description` prints it.
public struct TrainingHealth: Codable, Equatable, Sendable {
    /// Mean |x − G(z)| per pixel after a short mapping.
    public struct Reconstruction: Codable, Equatable, Sendable {
        /// "prior" (z₁ ~ U[-1,1]) or "encoder" (z₁ = E(x)).
        public var start: String
        public var steps: Int
        /// Over the validation slice (nil when there is none) and a same-size training sample.
        public var validation: Double?
        public var training: Double
        /// validation / training (nil without a validation slice): ≫ 1 means memorisation.
        public var ratio: Double?
        /// Mean |x − mean training image| per pixel: what "reconstructing" by one fixed image achieves.
        public var meanImage: Double
    }

    /// Mean pairwise L1 distance per pixel, among G(z) samples and among training images.
    public struct Diversity: Codable, Equatable, Sendable {
        public var samples: Double
        public var data: Double
        /// samples / data: ≪ 1 means mode collapse.
        public var ratio: Double
    }

    /// Mean σ(D(·)) over the last part of training and its least-squares slope per 1000 iterations.
    public struct Trend: Codable, Equatable, Sendable {
        public var iterations: Int
        public var dReal: Double
        public var dRealSlope: Double
        public var dFake: Double
        public var dFakeSlope: Double
    }

    public enum Issue: String, Codable, Sendable {
        case collapsed, memorised, poorFit, discriminatorWins
    }

    public struct Warning: Codable, Equatable, Sendable {
        public var issue: Issue
        /// One line: what is wrong, its likely cause and the fix.
        public var message: String
    }

    /// Iterations of training behind this report (the loss history's length).
    public var iteration: Int
    public var reconstruction: Reconstruction
    public var diversity: Diversity
    /// nil when the loss history is empty.
    public var trend: Trend?
    public var warnings: [Warning]

    public var isHealthy: Bool { warnings.isEmpty }

    /// Thresholds of the verdicts.
    public static let collapseRatio = 0.5
    public static let memorisationRatio = 1.5
    public static let poorFitRatio = 0.9
    public static let discriminatorWinsReal = 0.9, discriminatorWinsFake = 0.1

    // MARK: Assessment

    /// Checks a GAN. `trainingImages` and `validationImages` are N×C×S×S in [-1, 1] (the validation
    /// set may be empty); `lossHistory` has one entry per training iteration, oldest first.
    /// With `encoder`, the reconstruction check maps from E(x) instead of the prior.
    public static func assess(generator: Generator, discriminator: Discriminator,
                              trainingImages: Tensor, validationImages: Tensor,
                              lossHistory: [GANStepLosses], encoder: LatentEncoder? = nil,
                              settings: HealthSettings = HealthSettings()) throws -> TrainingHealth {
        let train = trainingImages, nTrain = train.shape[0]
        guard nTrain >= 2 else { throw TrainingError.invalidSettings("the health check needs at least 2 training images, got \(nTrain)") }
        let nVal = min(validationImages.shape[0], settings.images)
        let k = min(nTrain, nVal > 0 ? nVal : settings.images)
        var rng = SeededGenerator(seed: settings.seed)
        let trainSample = sample(train, count: k, using: &rng)

        // Reconstruction: the same short mapping for validation images and a training sample.
        let mapper = try LatentMapper(generator: generator, discriminator: discriminator,
                                      settings: MappingSettings(steps: max(1, settings.mappingSteps), batchSize: 64))
        func error(_ x: Tensor) throws -> Double {
            let z1 = encoder?.encode(x) ?? mapper.initialLatents(ids: (0..<x.shape[0]).map { "health/\($0)" }, seed: settings.seed)
            let result = try mapper.map(x, initialZ: z1, loss: .featureMatching)
            return result.residualLoss.reduce(0, +) / Double(x.count)
        }
        let trainingError = try error(trainSample)
        let validationError = nVal > 0 ? try error(validationImages.items(0..<nVal)) : nil
        let mean = Tensor(shape: [1] + Array(train.shape.dropFirst()))
        for i in 0..<nTrain { for j in 0..<mean.count { mean.data[j] += train.data[i * mean.count + j] / Float(nTrain) } }
        let reference = nVal > 0 ? validationImages.items(0..<nVal) : trainSample
        var meanImageError = 0.0
        for i in 0..<reference.count { meanImageError += Double(abs(reference.data[i] - mean.data[i % mean.count])) }
        meanImageError /= Double(reference.count)
        let reconstruction = Reconstruction(start: encoder == nil ? "prior" : "encoder", steps: max(1, settings.mappingSteps),
                                            validation: validationError, training: trainingError,
                                            ratio: validationError.map { $0 / max(trainingError, 1e-12) }, meanImage: meanImageError)

        // Diversity: G(z) for z ~ U[-1,1] against the data.
        let m = max(2, settings.samples)
        let z = Tensor.uniform(shape: [m, generator.config.latentDimension], low: -1, high: 1, using: &rng)
        let samples = generator.forward(z, training: false)
        let sampleDistance = meanPairwiseL1(samples), dataDistance = meanPairwiseL1(sample(train, count: min(m, nTrain), using: &rng))
        let diversity = Diversity(samples: sampleDistance, data: dataDistance, ratio: sampleDistance / max(dataDistance, 1e-12))

        let trend = Self.trend(lossHistory, tailFraction: settings.tailFraction)
        var health = TrainingHealth(iteration: lossHistory.count, reconstruction: reconstruction, diversity: diversity,
                                    trend: trend, warnings: [])
        health.warnings = verdicts(health)
        return health
    }

    /// The warnings a report's numbers call for.
    static func verdicts(_ h: TrainingHealth) -> [Warning] {
        var out: [Warning] = []
        func percent(_ x: Double) -> String { String(format: "%.0f %%", 100 * x) }
        func number(_ x: Double) -> String { String(format: "%.3g", x) }
        if h.diversity.ratio < collapseRatio {
            out.append(Warning(issue: .collapsed, message:
                "generator collapsed: samples are \(percent(h.diversity.ratio)) as diverse as the data (mean pairwise |Δ| \(number(h.diversity.samples)) vs \(number(h.diversity.data))); anomaly scores will be meaningless or inverted — train fewer iterations (use an earlier checkpoint), or more data / a lower learning rate"))
        }
        if let ratio = h.reconstruction.ratio, ratio > memorisationRatio {
            out.append(Warning(issue: .memorised, message:
                "generator memorised its training images: held-out normal images reconstruct \(String(format: "%.1f", ratio))× worse than training images (\(number(h.reconstruction.validation!)) vs \(number(h.reconstruction.training)) per pixel); normal test images will look anomalous — train fewer iterations or on more images"))
        }
        let fit = h.reconstruction.validation ?? h.reconstruction.training
        if fit > poorFitRatio * h.reconstruction.meanImage {
            out.append(Warning(issue: .poorFit, message:
                "generator does not fit the data: reconstructions (\(number(fit)) per pixel) are barely better than the mean training image (\(number(h.reconstruction.meanImage))); train longer, or check the images' range ([-1, 1]) and size"))
        }
        if let t = h.trend, t.dReal > discriminatorWinsReal, t.dFake < discriminatorWinsFake {
            out.append(Warning(issue: .discriminatorWins, message:
                "discriminator wins: over the last \(t.iterations) iterations D(x) ≈ \(String(format: "%.2f", t.dReal)) and D(G(z)) ≈ \(String(format: "%.2f", t.dFake)), so G learns little and collapse tends to follow; train fewer iterations or lower D's learning rate"))
        }
        return out
    }

    /// Mean and slope of D(x) and D(G(z)) (before D's update) over the last `tailFraction` of the history.
    static func trend(_ history: [GANStepLosses], tailFraction: Double) -> Trend? {
        guard !history.isEmpty else { return nil }
        let n = min(history.count, max(1, Int((Double(history.count) * tailFraction).rounded(.up))))
        let tail = history.suffix(n)
        func fit(_ values: [Double]) -> (mean: Double, slope: Double) {
            let mean = values.reduce(0, +) / Double(values.count)
            guard values.count > 1 else { return (mean, 0) }
            let xm = Double(values.count - 1) / 2
            var sxy = 0.0, sxx = 0.0
            for (i, v) in values.enumerated() { sxy += (Double(i) - xm) * (v - mean); sxx += (Double(i) - xm) * (Double(i) - xm) }
            return (mean, 1000 * sxy / sxx)
        }
        let real = fit(tail.map { Double($0.dReal) }), fake = fit(tail.map { Double($0.dFake) })
        return Trend(iterations: n, dReal: real.mean, dRealSlope: real.slope, dFake: fake.mean, dFakeSlope: fake.slope)
    }

    /// Mean over pairs i < j of mean_k |a_ik − a_jk| (items of a N×… tensor).
    static func meanPairwiseL1(_ a: Tensor) -> Double {
        let n = a.shape[0], item = a.itemCount
        guard n >= 2 else { return 0 }
        var total = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                var s: Float = 0
                let p = a.data + i * item, q = a.data + j * item
                for k in 0..<item { s += abs(p[k] - q[k]) }
                total += Double(s) / Double(item)
            }
        }
        return total / Double(n * (n - 1) / 2)
    }

    /// `count` distinct items of `images`, a seeded choice, in ascending index order.
    static func sample(_ images: Tensor, count: Int, using rng: inout SeededGenerator) -> Tensor {
        var pick = Array(0..<images.shape[0])
        pick.shuffle(using: &rng)
        return Trainer.gather(images, Array(pick.prefix(count)).sorted())
    }

    // MARK: Output

    /// Writes the report as pretty JSON, atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).writeAtomically(to: url)
    }

    /// Reads a report written by `write`.
    public static func read(_ url: URL) throws -> TrainingHealth {
        do { return try JSONDecoder().decode(TrainingHealth.self, from: readFile(url)) } catch let e as FileError { throw e } catch {
            throw FileError(url, "not a training health report: \(error)")
        }
    }
}

extension TrainingHealth: CustomStringConvertible {
    /// A few lines: the numbers, then "OK" or one "WARNING: …" line per issue.
    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.4g", x) }
        let r = reconstruction, d = diversity
        var lines = ["health after \(iteration) iterations:"]
        lines.append("  reconstruction (\(r.steps) mapping steps from the \(r.start)): validation \(r.validation.map(f) ?? "–"), training \(f(r.training)), ratio \(r.ratio.map(f) ?? "–"), mean-image baseline \(f(r.meanImage))")
        lines.append("  diversity: samples \(f(d.samples)), data \(f(d.data)), ratio \(f(d.ratio))")
        if let t = trend {
            lines.append("  last \(t.iterations) iterations: D(x) \(f(t.dReal)) (slope \(f(t.dRealSlope))/1000 it), D(G(z)) \(f(t.dFake)) (slope \(f(t.dFakeSlope))/1000 it)")
        }
        lines += warnings.isEmpty ? ["  OK"] : warnings.map { "  WARNING: \($0.message)" }
        return lines.joined(separator: "\n")
    }
}
