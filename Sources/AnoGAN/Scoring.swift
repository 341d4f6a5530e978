// Anomaly scores (paper §2.3) for a set of queries: the latent mapping with
// the feature-matching loss (R, D, A) and/or the reference loss (R_hat,
// D_hat, A_hat), plus P_D = σ(D(x)) and the discriminator features f(x).
// Typed rows and results here; the run directory (Records' ScoreRun) in
// ScoringResult+ScoreRun.swift.

import Foundation
import NeuralNet
import Records

/// The scores of one query image.
public struct ScoreRow: Equatable, Sendable {
    public var id: String
    /// 0 normal, 1 anomalous, nil unknown.
    public var label: Int?
    /// Feature-matching mapping: R(x) = Σ|x − G(z_Γ)|, D(x) = Σ|f(x) − f(G(z_Γ))|, A = (1−λ)R + λD.
    public var residual: Double?
    public var discrimination: Double?
    public var anomaly: Double?
    /// Reference mapping (GAN_R): R̂, D̂ = σ(D(G(z_Γ)), 1), Â = (1−λ)R̂ + λD̂.
    public var referenceResidual: Double?
    public var referenceDiscrimination: Double?
    public var referenceAnomaly: Double?
    /// P_D = σ(D(x)) on the query itself, in (0, 1). High means "looks real/normal":
    /// evaluation ranks −P_D as the anomaly score.
    public var discriminatorProbability: Double

    /// Score columns of the ScoreTable in order, with this row's values (NaN when absent).
    public static let columns = ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"]
    public var values: [Double] {
        [residual, discrimination, anomaly, referenceResidual, referenceDiscrimination, referenceAnomaly,
         discriminatorProbability].map { $0 ?? .nan }
    }
}

/// Everything scoring computed for N queries.
public struct ScoringResult {
    public var rows: [ScoreRow]
    /// The feature-matching and reference mappings, when run.
    public var featureMatching: MappingResult?
    public var reference: MappingResult?
    /// D's f(x) of each query, N×F (F = 8w·(S/16)², NCHW order flattened).
    public var queryFeatures: Tensor
    /// Wall-clock seconds of the whole scoring.
    public var seconds: Double

    /// The mapping whose reconstructions and residuals are written: feature matching when run.
    public var primary: MappingResult { (featureMatching ?? reference)! }

    /// The score columns this run filled, in `ScoreRow.columns` order (P_D always).
    public var columns: [String] {
        ScoreRow.columns.filter { c in
            switch c {
            case "R", "D", "A": return featureMatching != nil
            case "R_hat", "D_hat", "A_hat": return reference != nil
            default: return true
            }
        }
    }

    /// The ScoreTable with the columns this run filled.
    public func scoreTable() -> ScoreTable { ScoreRow.table(rows, columns: columns) }
}

/// Scores queries with a trained G and D.
public final class AnomalyScorer {
    public let mapper: LatentMapper
    public let settings: ScoringSettings

    /// Throws when the settings cannot score: Γ = 0 from the prior start would score a
    /// random G(z₁), so it is refused (it is the encoder score when z₁ = E(x)).
    public init(generator: Generator, discriminator: Discriminator, settings: ScoringSettings) throws {
        if settings.start == .prior, settings.mapping.steps == 0 {
            throw MappingError.invalidSettings("mapping.steps (Γ) must be ≥ 1 with the prior start: Γ = 0 scores G of a random z₁; it needs the encoder start (start: encoder)")
        }
        mapper = try LatentMapper(generator: generator, discriminator: discriminator, settings: settings.mapping)
        self.settings = settings
    }

    /// Maps and scores `input`'s images. Every mapping starts from `initialLatents` (N×latent,
    /// e.g. E(x)) when given, else from the prior draw of (settings.seed, image id), or the best
    /// of `settings.mapping.priorCandidates` such draws (`LatentMapper.priorStart`).
    /// `onProgress` gets the variant being run and the mapper's progress within it.
    public func score(_ input: ImageInput, initialLatents: Tensor? = nil,
                      onProgress: (MappingVariant, MappingProgress) -> Void = { _, _ in }) throws -> ScoringResult {
        let start = Date()
        let queries = input.images
        try mapper.check(queries: queries)
        let n = queries.shape[0]
        if let initialLatents, initialLatents.shape != [n, mapper.config.latentDimension] {
            throw MappingError.invalidSettings("initial latents have shape \(initialLatents.shape), expected [\(n), \(mapper.config.latentDimension)]")
        }
        let (probabilities, features) = discriminate(queries)
        var feature: MappingResult?, reference: MappingResult?
        for loss in settings.variant.losses {
            let variant: MappingVariant = loss == .featureMatching ? .featureMatching : .reference
            // From the prior, each mapping picks its own z₁ when it may choose among draws: the
            // choice is by that mapping's loss.
            let z1 = try initialLatents ?? mapper.priorStart(queries, ids: input.ids, seed: settings.seed, loss: loss) { done in
                onProgress(variant, MappingProgress(imagesDone: done, batchCount: 0, step: 0, steps: 0, meanLoss: .nan, choosingStart: true))
            }
            let result = try mapper.map(queries, initialZ: z1, loss: loss) { onProgress(variant, $0) }
            if variant == .featureMatching { feature = result } else { reference = result }
        }
        let lambda = settings.mapping.lambda
        let a = feature?.anomalyScores(lambda: lambda), aHat = reference?.anomalyScores(lambda: lambda)
        let rows = (0..<n).map { i in
            ScoreRow(id: input.ids[i], label: input.labels[i],
                     residual: feature?.residualLoss[i], discrimination: feature?.discriminationLoss[i], anomaly: a?[i],
                     referenceResidual: reference?.residualLoss[i], referenceDiscrimination: reference?.discriminationLoss[i],
                     referenceAnomaly: aHat?[i], discriminatorProbability: probabilities[i])
        }
        return ScoringResult(rows: rows, featureMatching: feature, reference: reference, queryFeatures: features,
                             seconds: Date().timeIntervalSince(start))
    }

    /// σ(D(x)) and f(x) for every query, D in inference mode, in mapping-sized batches.
    private func discriminate(_ queries: Tensor) -> ([Double], Tensor) {
        let n = queries.shape[0], batch = mapper.settings.batchSize
        var probabilities = [Double](repeating: 0, count: n)
        var features: Tensor?
        var start = 0
        while start < n {
            let range = start..<min(n, start + batch)
            let out = mapper.discriminator.forward(queries.items(range), training: false)
            let f = out.features
            if features == nil { features = Tensor(shape: [n, f.itemCount]) }
            features!.setItems(from: f.reshaped([range.count, f.itemCount]), at: range.lowerBound)
            for k in 0..<range.count { probabilities[range.lowerBound + k] = 1 / (1 + exp(-Double(out.logits[k]))) }
            start = range.upperBound
        }
        return (probabilities, features!)
    }
}
