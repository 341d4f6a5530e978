// Every detector plays one role: given query images it returns a typed
// DetectionResult (scores per row, reconstructions x̂, query features f(x),
// the latent codes when it has them, loss traces), which the score-run writer
// takes as it is. AnoGAN's detector searches the latent space (paper §2.2,
// Γ Adam steps per image from an initial z₁); the aCAE's encodes in one pass
// (AdversarialAutoencoder+Scoring.swift). Neither fakes the other's records.

import Foundation
import NeuralNet
import Records

/// What a detector computed for N queries: the input of the score-run writer.
public struct DetectionResult {
    /// One row per query, in input order.
    public var rows: [ScoreRow]
    /// The score columns this detector filled (a subset of `ScoreRow.columns`, in that order).
    public var columns: [String]
    /// x̂ of every query, N×C×S×S in [-1, 1]: G(z_Γ) for AnoGAN, dec(enc(x)) for the aCAE.
    public var reconstructions: Tensor
    /// Where `reconstructions` come from ("feature-matching", "reference", "encoder"), recorded in summary.json.
    public var reconstructionsFrom: String
    /// f(x) of D for every query, N×F (F = 8w·(S/16)², NCHW flattened).
    public var queryFeatures: Tensor
    /// Where each latent search started, N×latent (z₁); nil for one-pass detectors.
    public var initialLatents: Tensor?
    /// The latent code behind each reconstruction, N×latent (z_Γ or enc(x)); nil when the detector has none.
    public var latents: Tensor?
    /// Mean loss per step of every iterative search, in run order (empty for one-pass detectors).
    public var lossTraces: [(name: String, values: [Double])]
    /// Wall-clock seconds of the whole scoring.
    public var seconds: Double
    /// Mapping steps each image took in the primary search (below Γ under early stopping); nil for one-pass detectors.
    public var stepsTaken: [Int]?

    public init(rows: [ScoreRow], columns: [String], reconstructions: Tensor, reconstructionsFrom: String,
                queryFeatures: Tensor, initialLatents: Tensor? = nil, latents: Tensor?, lossTraces: [(name: String, values: [Double])], seconds: Double) {
        precondition(columns.allSatisfy(ScoreRow.columns.contains), "unknown score column in \(columns)")
        self.rows = rows
        self.columns = columns
        self.reconstructions = reconstructions
        self.reconstructionsFrom = reconstructionsFrom
        self.queryFeatures = queryFeatures
        self.initialLatents = initialLatents
        self.latents = latents
        self.lossTraces = lossTraces
        self.seconds = seconds
    }

    /// AnoGAN's result as a detection: reconstructions, latents and trace order from the
    /// feature-matching mapping when it ran (the paper's), else from the reference mapping.
    public init(_ scoring: ScoringResult) {
        let primary = scoring.primary
        var traces: [(name: String, values: [Double])] = []
        // Γ = 0 searched nothing: no trace.
        if let f = scoring.featureMatching, !f.meanLossTrace.isEmpty { traces.append((MappingVariant.featureMatching.rawValue, f.meanLossTrace)) }
        if let r = scoring.reference, !r.meanLossTrace.isEmpty { traces.append((MappingVariant.reference.rawValue, r.meanLossTrace)) }
        self.init(rows: scoring.rows, columns: scoring.columns, reconstructions: primary.reconstructions,
                  reconstructionsFrom: scoring.featureMatching != nil ? MappingVariant.featureMatching.rawValue : MappingVariant.reference.rawValue, queryFeatures: scoring.queryFeatures,
                  initialLatents: primary.initialZ, latents: primary.z, lossTraces: traces, seconds: scoring.seconds)
        stepsTaken = primary.stepsTaken
    }

    public var count: Int { rows.count }

    /// The ScoreTable (scores.csv) with this detector's columns.
    public func scoreTable() -> ScoreTable { ScoreRow.table(rows, columns: columns) }

    /// |x − x̂| per pixel, N×C×S×S.
    public func residuals(of queries: Tensor) -> Tensor { absoluteResidual(queries, reconstructions) }
}

/// |x − x̂| per pixel, same shape as both.
func absoluteResidual(_ queries: Tensor, _ reconstructions: Tensor) -> Tensor {
    precondition(queries.shape == reconstructions.shape, "queries \(queries.shape) vs reconstructions \(reconstructions.shape)")
    let out = Tensor(shape: queries.shape)
    for i in 0..<queries.count { out.data[i] = abs(queries.data[i] - reconstructions.data[i]) }
    return out
}

extension ScoreRow {
    /// The ScoreTable of `rows` with `columns` (a subset of `ScoreRow.columns`, in that order).
    static func table(_ rows: [ScoreRow], columns: [String]) -> ScoreTable {
        let index = columns.map { ScoreRow.columns.firstIndex(of: $0)! }
        return ScoreTable(columns: columns, ids: rows.map(\.id), labels: rows.map(\.label),
                          values: rows.map { row in let v = row.values; return index.map { v[$0] } })
    }
}

/// How far scoring has got, in the whole job's units (`Scorer.workUnit`), over all variants.
public struct ScorerProgress: Sendable {
    public var done: Int
    public var total: Int
    /// A short note for a progress bar ("feature step 12/500 loss 0.31").
    public var detail: String
}

/// A detector: scores query images with a trained model.
public protocol Scorer: AnyObject {
    /// The model's architecture (inputs must fit it; recorded in summary.json).
    var config: DCGANConfig { get }
    /// The scoring settings recorded in summary.json.
    var recordedSettings: ScoringSettings { get }
    /// The unit progress is counted in ("img·step", "img").
    var workUnit: String { get }
    /// Units of work to score `imageCount` images (the progress total).
    func work(imageCount: Int) -> Int
    /// Scores every image of `input`; `onProgress` gets the work done so far.
    func score(_ input: ImageInput, onProgress: (ScorerProgress) -> Void) throws -> DetectionResult
}

/// Where AnoGAN's latent search starts for each query.
public enum InitialLatents {
    /// z₁ ~ U[−1, 1]^latent, the prior G was trained on, drawn from the scoring seed (the paper).
    case prior
    /// z₁ = E(x), f-AnoGAN's izi_f encoder in inference mode (batch-independent). With Γ = 0
    /// the scores are those of G(E(x)) in one forward pass (the encoder score).
    case encoder(LatentEncoder)

    /// The record of this start in ScoringSettings.
    public var start: LatentStart {
        switch self {
        case .prior: return .prior
        case .encoder: return .encoder
        }
    }
}

/// AnoGAN's detector: maps every query into the latent space by Γ Adam steps on z
/// (feature-matching and/or reference loss) and scores the fit (paper §2.2–2.3).
public final class LatentMappingScorer: Scorer {
    public let scorer: AnomalyScorer
    public let initialLatents: InitialLatents

    /// `settings.start` must name `initialLatents`' start (it is what summary.json records);
    /// an encoder must belong to a model of `generator`'s architecture.
    public init(generator: Generator, discriminator: Discriminator, settings: ScoringSettings,
                initialLatents: InitialLatents = .prior) throws {
        guard settings.start == initialLatents.start else {
            throw MappingError.invalidSettings("start is \(settings.start.rawValue) but the scorer was given the \(initialLatents.start.rawValue) start")
        }
        if case .encoder(let e) = initialLatents, e.config != generator.config {
            throw MappingError.invalidSettings("the encoder was trained for another architecture than the generator's")
        }
        scorer = try AnomalyScorer(generator: generator, discriminator: discriminator, settings: settings)
        self.initialLatents = initialLatents
    }

    public var config: DCGANConfig { scorer.mapper.config }
    public var recordedSettings: ScoringSettings { scorer.settings }
    /// Image·steps; images when Γ = 0 (one evaluation per image and variant).
    public var workUnit: String { scorer.settings.mapping.steps == 0 ? "img" : "img·step" }

    /// max(Γ, 1) units per image per variant.
    public func work(imageCount: Int) -> Int { imageCount * max(scorer.settings.mapping.steps, 1) * scorer.settings.variant.losses.count }

    public func score(_ input: ImageInput, onProgress: (ScorerProgress) -> Void = { _ in }) throws -> DetectionResult {
        let perImage = max(scorer.settings.mapping.steps, 1), total = work(imageCount: input.count)
        var finishedVariants = 0, current: MappingVariant?
        let z1: Tensor?
        switch initialLatents {
        case .prior: z1 = nil
        case .encoder(let e):
            try scorer.mapper.check(queries: input.images)
            onProgress(ScorerProgress(done: 0, total: total, detail: "encoding"))
            z1 = e.encode(input.images, batchSize: scorer.settings.mapping.batchSize)
        }
        let result = try scorer.score(input, initialLatents: z1) { variant, p in
            if current != variant { if current != nil { finishedVariants += 1 }; current = variant }
            if p.choosingStart {
                // z₁ is chosen for all images before the first is mapped: no mapping work is done yet.
                let k = scorer.settings.mapping.priorCandidates ?? 1
                onProgress(ScorerProgress(done: finishedVariants * input.count * perImage, total: total,
                                          detail: "\(variant.rawValue) choosing z₁ among \(k) draws: \(p.imagesDone)/\(input.count) images"))
                return
            }
            let done = (finishedVariants * input.count + p.imagesDone) * perImage + p.batchCount * max(p.step, 1)
            let position = p.steps == 0 ? "\(variant.rawValue) at E(x)" : "\(variant.rawValue) step \(p.step)/\(p.steps)"
            onProgress(ScorerProgress(done: done, total: total, detail: position + " loss " + String(format: "%.4g", p.meanLoss)))
        }
        return DetectionResult(result)
    }
}
