// Mapping query images to the latent space (paper §2.2): for each image, Γ
// steps of Adam on z from z₁ ~ U[-1,1]^latent, G and D frozen in inference
// mode, z clipped to [-1, 1]. Whole batches are mapped at once around core's
// LatentMappingStep; in inference mode every image's path is independent of
// the others in its batch.

import Foundation
import NeuralNet
import Records

extension MappingVariant {
    /// The discrimination losses this variant maps with, in order.
    public var losses: [DiscriminationLoss] {
        switch self {
        case .featureMatching: return [.featureMatching]
        case .reference: return [.reference]
        case .both: return [.featureMatching, .reference]
        }
    }
}

/// The outcome of mapping N queries with one loss.
public struct MappingResult {
    public var loss: DiscriminationLoss
    /// z₁, N×latent.
    public var initialZ: Tensor
    /// z_Γ, N×latent: the latent point of `reconstructions`.
    public var z: Tensor
    /// G(z_Γ), N×C×S×S in [-1, 1].
    public var reconstructions: Tensor
    /// L_R(z_Γ) = Σ|x − G(z_Γ)| per image (sum over pixels).
    public var residualLoss: [Double]
    /// L_D(z_Γ) per image: Σ|f(x) − f(G(z_Γ))| (feature matching) or σ(D(G(z_Γ)), 1) (reference).
    public var discriminationLoss: [Double]
    /// Mean over images of the total loss at each step γ = 1…Γ (a stopped image counts with its last loss).
    public var meanLossTrace: [Double]
    /// The steps each image took: Γ, or fewer under `MappingSettings.earlyStopping`.
    public var stepsTaken: [Int]

    public var count: Int { residualLoss.count }

    /// A = (1−λ)·R + λ·D per image (Eq. 6).
    public func anomalyScores(lambda: Float) -> [Double] {
        zip(residualLoss, discriminationLoss).map { (1 - Double(lambda)) * $0 + Double(lambda) * $1 }
    }

    /// |x − G(z_Γ)| per pixel, N×C×S×S.
    public func residuals(of queries: Tensor) -> Tensor { absoluteResidual(queries, reconstructions) }
}

/// What the mapper reports while it works.
public struct MappingProgress: Sendable {
    /// Images of this call finished before the current batch.
    public var imagesDone: Int
    public var batchCount: Int
    /// Step within the current batch, 1…Γ (0 when Γ = 0: the batch was evaluated once).
    public var step: Int
    public var steps: Int
    /// Mean total loss of the batch at this step.
    public var meanLoss: Double
    /// True while the prior start's z₁ is being chosen among draws (`MappingSettings.priorCandidates`),
    /// before any image is mapped; `imagesDone` then counts the images whose z₁ is chosen.
    public var choosingStart = false
}

public enum MappingError: Error, CustomStringConvertible {
    case wrongQueryShape(got: [Int], expected: [Int])
    case invalidSettings(String)

    public var description: String {
        switch self {
        case let .wrongQueryShape(got, expected):
            return "query images have shape \(got), the model maps N×\(expected.map(String.init).joined(separator: "×"))"
        case let .invalidSettings(message):
            return message
        }
    }
}

/// Maps batches of queries into the latent space of a trained G (and D).
public final class LatentMapper {
    public let generator: Generator
    public let discriminator: Discriminator
    public let settings: MappingSettings
    private var steppers: [String: LatentMappingStep] = [:]

    public init(generator: Generator, discriminator: Discriminator, settings: MappingSettings = MappingSettings()) throws {
        // Γ = 0 is the evaluation at z₁ (only meaningful from an encoder's z₁: AnomalyScorer refuses it from the prior).
        guard settings.steps >= 0 else { throw MappingError.invalidSettings("mapping steps (Γ) must be ≥ 0, got \(settings.steps)") }
        guard settings.batchSize >= 1 else { throw MappingError.invalidSettings("mapping batch size must be ≥ 1, got \(settings.batchSize)") }
        guard settings.lambda >= 0 && settings.lambda <= 1 else { throw MappingError.invalidSettings("λ must lie in [0, 1], got \(settings.lambda)") }
        for (name, rate) in [("Adam's learning rate", settings.adam.learningRate), ("the final learning rate", settings.finalLearningRate)] {
            if let rate, !(rate > 0 && rate.isFinite) { throw MappingError.invalidSettings("\(name) on z must be a positive number, got \(rate)") }
        }
        if let k = settings.priorCandidates, k < 1 {
            throw MappingError.invalidSettings("the number of prior candidates for z₁ must be ≥ 1, got \(k)")
        }
        if let rule = settings.earlyStopping, rule.patience < 1 || !(rule.tolerance >= 0 && rule.tolerance < 1) {
            throw MappingError.invalidSettings("early stopping needs patience ≥ 1 and a tolerance in [0, 1), got \(rule.patience) and \(rule.tolerance)")
        }
        self.generator = generator
        self.discriminator = discriminator
        self.settings = settings
    }

    public var config: DCGANConfig { generator.config }

    /// Throws unless `queries` is N×C×S×S for this model with N ≥ 1.
    public func check(queries: Tensor) throws {
        let c = config
        let expected = [c.channels, c.imageSize, c.imageSize]
        guard queries.rank == 4, queries.shape[0] >= 1, Array(queries.shape.dropFirst()) == expected else {
            throw MappingError.wrongQueryShape(got: queries.shape, expected: expected)
        }
    }

    /// z₁ of each image, uniform on [-1, 1]: row i is drawn from `SeededGenerator(seed:
    /// seed, stream: ids[i])`, so an image's z₁ depends only on the seed and its id —
    /// never on its position or on which other images are scored with it (subsets and
    /// shards map each image exactly as the whole set does).
    public func initialLatents(ids: [String], seed: UInt64) -> Tensor {
        let latent = config.latentDimension
        let z = Tensor(shape: [ids.count, latent])
        for (i, id) in ids.enumerated() {
            var rng = SeededGenerator(seed: seed, stream: id)
            for j in 0..<latent { z.data[i * latent + j] = rng.uniform(-1, 1) }
        }
        return z
    }

    /// Maps every query from its row of `initialZ` with `loss`, `settings.batchSize` at a time.
    /// With Γ = 0 no step is taken: the result is `evaluate(queries, at: initialZ, loss:)`.
    public func map(_ queries: Tensor, initialZ: Tensor, loss: DiscriminationLoss,
                    onProgress: (MappingProgress) -> Void = { _ in }) throws -> MappingResult {
        if settings.steps == 0 { return try evaluate(queries, at: initialZ, loss: loss, onProgress: onProgress) }
        try check(queries: queries)
        let n = queries.shape[0], latent = config.latentDimension
        guard initialZ.shape == [n, latent] else {
            throw MappingError.invalidSettings("initial z has shape \(initialZ.shape), expected [\(n), \(latent)]")
        }
        let stepper = self.stepper(for: loss)
        let zOut = Tensor(shape: [n, latent])
        let reconstructions = Tensor(shape: queries.shape)
        var residual = [Double](repeating: 0, count: n), discrimination = residual
        var trace = [Double](repeating: 0, count: settings.steps)
        var stepsTaken = [Int](repeating: settings.steps, count: n)
        let batches = (n + settings.batchSize - 1) / settings.batchSize
        for b in 0..<batches {
            let range = (b * settings.batchSize)..<min(n, (b + 1) * settings.batchSize)
            stepper.reset(queries: queries.items(range), z: initialZ.items(range))
            var last: [MappingLoss] = []
            var trackers = [EarlyStopping.Tracker](repeating: .init(), count: range.count)
            var stoppedLoss = [MappingLoss?](repeating: nil, count: range.count)
            for s in 1...settings.steps {
                // z after the update is z_{s+1}; keep z_s, the point of this step's forward.
                // Only a step where an image may stop needs its z (a copy).
                let zNow = settings.earlyStopping != nil || s == settings.steps ? stepper.z : nil
                last = stepper.step(learningRate: settings.learningRate(atStep: s))
                var sum = 0.0
                var newlyStopped: [Int] = []
                for (k, l) in last.enumerated() {
                    if let frozen = stoppedLoss[k] { sum += Double(frozen.total); continue }
                    sum += Double(l.total)
                    if s == settings.steps { continue }
                    if let rule = settings.earlyStopping, trackers[k].record(Double(l.total), rule: rule) {
                        stoppedLoss[k] = l
                        stepsTaken[range.lowerBound + k] = s
                        newlyStopped.append(k)
                    }
                }
                if s == settings.steps {
                    for k in 0..<range.count where stoppedLoss[k] == nil { newlyStopped.append(k) }
                }
                if !newlyStopped.isEmpty {
                    let image = stepper.reconstruction
                    for k in newlyStopped {
                        zOut.setItems(from: zNow!.items(k..<(k + 1)), at: range.lowerBound + k)
                        reconstructions.setItems(from: image.items(k..<(k + 1)), at: range.lowerBound + k)
                        residual[range.lowerBound + k] = Double(last[k].residual)
                        discrimination[range.lowerBound + k] = Double(last[k].discrimination)
                    }
                }
                trace[s - 1] += sum
                onProgress(MappingProgress(imagesDone: range.lowerBound, batchCount: range.count, step: s,
                                           steps: settings.steps, meanLoss: sum / Double(range.count)))
                if stoppedLoss.allSatisfy({ $0 != nil }) {
                    // Every image has stopped: the rest of the trace holds their last losses.
                    for rest in s..<settings.steps { trace[rest] += sum }
                    break
                }
            }
        }
        return MappingResult(loss: loss, initialZ: initialZ.copy(), z: zOut, reconstructions: reconstructions,
                             residualLoss: residual, discriminationLoss: discrimination,
                             meanLossTrace: trace.map { $0 / Double(n) }, stepsTaken: stepsTaken)
    }

    private func stepper(for loss: DiscriminationLoss) -> LatentMappingStep {
        let key = "\(loss)"
        if let s = steppers[key] { return s }
        let s = LatentMappingStep(generator: generator, discriminator: discriminator,
                                  lambda: settings.lambda, loss: loss, adam: settings.adam)
        steppers[key] = s
        return s
    }
}

extension Tensor {
    /// Copies all items of `source` (same item shape) into this tensor from item `index` on.
    /// A method, so `source` (often a temporary copy) stays alive while it is read.
    func setItems(from source: Tensor, at index: Int) {
        precondition(source.itemCount == itemCount && index >= 0 && index + source.batch <= batch,
                     "setItems: \(source.shape) into \(shape) at \(index)")
        (data + index * itemCount).update(from: source.data, count: source.count)
    }
}
