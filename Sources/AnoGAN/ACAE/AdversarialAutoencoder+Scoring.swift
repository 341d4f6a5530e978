// Anomaly scores of the aCAE with AnoGAN's definition left unchanged (paper §3 (3)):
// the encoder replaces the latent search, so x̂ = dec(enc(x)) in one pass and
//   R = Σ|x − x̂|, D = Σ|f(x) − f(x̂)| (f = the aCAE discriminator's features),
//   A = (1−λ)·R + λ·D, P_D = σ(D(x)).
// The result is a DetectionResult (no latent search: no mapping record, no trace),
// so the score run directory (Records' ScoreRun) is written by the same writer as
// AnoGAN's and evaluate/report read both alike. AutoencoderScorer is its Scorer.

import Foundation
import NeuralNet
import Records

extension AdversarialAutoencoder {
    /// Scores every image of `input` in inference mode, `batchSize` at a time.
    /// `onProgress` gets the number of images done. Columns filled: R, D, A, P_D.
    public func score(_ input: ImageInput, lambda: Float = 0.1, batchSize: Int = 64,
                      onProgress: (Int) -> Void = { _ in }) throws -> DetectionResult {
        try input.check(fits: config)
        precondition(batchSize >= 1, "batch size must be ≥ 1")
        let start = Date()
        let x = input.images, n = input.count, item = x.itemCount
        let codes = Tensor(shape: [n, config.latentDimension]), reconstructions = Tensor(shape: x.shape)
        var residual = [Double](repeating: 0, count: n), discrimination = residual, probability = residual
        var features: Tensor?
        var lo = 0
        while lo < n {
            let range = lo..<min(n, lo + batchSize)
            let queries = x.items(range)
            let (c, xhat) = reconstruct(queries, training: false)
            (codes.data + range.lowerBound * c.itemCount).update(from: c.data, count: c.count)
            (reconstructions.data + range.lowerBound * item).update(from: xhat.data, count: xhat.count)
            let real = discriminator.forward(queries, training: false)
            let fake = discriminator.forward(xhat, training: false)
            let f = real.features.itemCount
            if features == nil { features = Tensor(shape: [n, f]) }
            (features!.data + range.lowerBound * f).update(from: real.features.data, count: range.count * f)
            for k in 0..<range.count {
                var r = 0.0, d = 0.0
                for j in 0..<item { r += Double(abs(queries.data[k * item + j] - xhat.data[k * item + j])) }
                for j in 0..<f { d += Double(abs(real.features.data[k * f + j] - fake.features.data[k * f + j])) }
                residual[lo + k] = r
                discrimination[lo + k] = d
                probability[lo + k] = Double(Loss.sigmoid(real.logits[k]))
            }
            lo = range.upperBound
            onProgress(lo)
        }
        // A = (1−λ)·R + λ·D in Double, as MappingResult.anomalyScores computes AnoGAN's.
        let l = Double(lambda)
        let rows = (0..<n).map { i in
            ScoreRow(id: input.ids[i], label: input.labels[i], residual: residual[i], discrimination: discrimination[i],
                     anomaly: (1 - l) * residual[i] + l * discrimination[i], referenceResidual: nil,
                     referenceDiscrimination: nil, referenceAnomaly: nil, discriminatorProbability: probability[i])
        }
        return DetectionResult(rows: rows, columns: ["R", "D", "A", "P_D"], reconstructions: reconstructions,
                               reconstructionsFrom: ScoreRun.Summary.encoderPass, queryFeatures: features ?? Tensor(shape: [0, 1]),
                               latents: codes, lossTraces: [], seconds: Date().timeIntervalSince(start))
    }
}

/// The aCAE as a detector: one encoder pass per image, no latent search.
public final class AutoencoderScorer: Scorer {
    public let model: AdversarialAutoencoder
    /// λ of A = (1−λ)R + λD (the paper's 0.1).
    public let lambda: Float
    /// Images per forward pass (does not change the scores).
    public let batchSize: Int

    public init(model: AdversarialAutoencoder, lambda: Float = MappingSettings().lambda, batchSize: Int = MappingSettings().batchSize) {
        precondition(batchSize >= 1, "batch size must be ≥ 1")
        self.model = model
        self.lambda = lambda
        self.batchSize = batchSize
    }

    public var config: DCGANConfig { model.config }
    /// summary.json records λ, the batch size and the training seed; 0 mapping steps says
    /// that no latent search ran (the encoder replaces it).
    public var recordedSettings: ScoringSettings {
        ScoringSettings(mapping: MappingSettings(steps: 0, lambda: lambda, batchSize: batchSize), variant: .featureMatching, seed: model.settings.seed)
    }
    public var workUnit: String { "img" }
    public func work(imageCount: Int) -> Int { imageCount }

    public func score(_ input: ImageInput, onProgress: (ScorerProgress) -> Void = { _ in }) throws -> DetectionResult {
        try model.score(input, lambda: lambda, batchSize: batchSize) { done in
            onProgress(ScorerProgress(done: done, total: input.count, detail: "encoder"))
        }
    }
}
