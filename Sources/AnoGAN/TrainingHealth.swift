// A training health report: cheap checks, run at every checkpoint and at the
// end, that catch the failures which otherwise only show as a bad (even
// inverted) AUC much later — a collapsed generator, a generator that
// memorised its training images, one that does not fit the data at all, and a
// discriminator that has won. A pure function of (G, D, a training sample, the
// validation slice, the loss history), so it can be called from anywhere; the
// result is Records' TrainingHealth (health.json), whose one-line warnings name
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

extension TrainingHealth {
    // MARK: Assessment

    /// Checks a GAN. `trainingImages` and `validationImages` are N×C×S×S in [-1, 1] (the validation
    /// set may be empty); `lossHistory` has one entry per training iteration, oldest first.
    /// With `encoder`, the reconstruction check maps from E(x) instead of the prior. `bestEarlier`:
    /// the best fit of this run's earlier checks, which tells a drift from a fit never reached.
    public static func assess(generator: Generator, discriminator: Discriminator,
                              trainingImages: Tensor, validationImages: Tensor,
                              lossHistory: [GANStepLosses], encoder: LatentEncoder? = nil, bestEarlier: Fit? = nil,
                              settings: HealthSettings = HealthSettings()) throws -> TrainingHealth {
        let train = trainingImages, nTrain = train.shape[0]
        guard nTrain >= 2 else { throw TrainingError.invalidSettings("the health check needs at least 2 training images, got \(nTrain)") }
        let nVal = min(validationImages.shape[0], settings.images)
        let k = min(nTrain, nVal > 0 ? nVal : settings.images)
        var rng = SeededGenerator(seed: settings.seed)
        let trainSample = sample(train, count: k, using: &rng)

        // Reconstruction: the same short mapping for validation images and a training sample.
        let mapper = try LatentMapper(generator: generator, discriminator: discriminator,
                                      settings: MappingSettings(steps: max(1, settings.mappingSteps), batchSize: 64,
                                                                adam: (encoder == nil ? LatentStart.prior : .encoder).defaultAdam))
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
                                    trend: trend, bestEarlier: bestEarlier, warnings: [])
        health.warnings = verdicts(health)
        return health
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

}
