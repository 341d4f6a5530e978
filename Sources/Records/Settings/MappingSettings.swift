// How the latent mapping runs (paper §2.2) and which loss it minimises, as plain
// records: score runs store them in their summary (ScoreRun.Summary). The mapper is AnoGAN's LatentMapper.

import Foundation

/// Which discrimination loss the mapping minimises. "Feature matching" is the one name of the
/// paper's loss everywhere (code, settings files, CLI values, summary.json, trace.csv); its scores
/// are the plain columns R, D, A, the reference loss's the hatted ones.
public enum MappingVariant: String, Codable, CaseIterable, Sendable {
    /// The paper's feature matching, Eq. 4: scores R, D, A.
    case featureMatching = "feature-matching"
    /// Yeh et al.'s σ(D(G(z)), 1), the GAN_R baseline: scores R_hat, D_hat, A_hat.
    case reference
    /// Both mappings from the same z₁.
    case both

    /// Also reads "feature", the name settings files and runs used before.
    public init?(rawValue: String) {
        switch rawValue {
        case "feature-matching", "feature": self = .featureMatching
        case "reference": self = .reference
        case "both": self = .both
        default: return nil
        }
    }
}

/// How to map. Defaults are the paper's (the prior start), with the prior start's Adam (`LatentStart.defaultAdam`).
public struct MappingSettings: Codable, Equatable, Sendable {
    /// Γ, the number of Adam steps on z (paper: 500). 0 only with the encoder start
    /// (`ScoringSettings.start`): the scores of G(E(x)) in one forward pass.
    public var steps: Int
    /// λ in L = (1−λ)·L_R + λ·L_D (paper: 0.1).
    public var lambda: Float
    /// Images mapped together; changes speed, not results.
    public var batchSize: Int
    /// Adam on z (default: the prior start's, lr 0.1, β₁ 0.9, β₂ 0.999; from the encoder 0.01).
    public var adam: AdamSettings
    /// Per-image early stopping; nil (the paper, and runs written before it existed): every image takes Γ steps.
    public var earlyStopping: EarlyStopping?
    /// Precision of G's and D's convolutions (Precision); z, its Adam and the losses stay f32.
    /// nil (and in summaries written before it existed): `Precision.default`, f32.
    public var precision: Precision?
    /// Adam's rate at step Γ, reached by a cosine decay from `adam.learningRate` at step 1; nil: a
    /// constant rate (the paper gives none, and so none is decayed in runs written before this).
    public var finalLearningRate: Float?
    /// With the prior start, z₁ is the draw of lowest mapping loss among this many draws from the
    /// prior (one forward pass of G and D each). nil or 1: a single draw, the paper's start (and
    /// that of runs written before this existed). Unused by the encoder start.
    public var priorCandidates: Int?

    /// How the prior start's z₁ is chosen, for run descriptions: "z₁ the best of K draws", or nil
    /// for the paper's single draw (`candidates` nil or 1).
    public static func priorChoice(_ candidates: Int?) -> String? {
        guard let k = candidates, k > 1 else { return nil }
        return "z₁ the best of \(k) draws"
    }

    public init(steps: Int = 500, lambda: Float = 0.1, batchSize: Int = 64, adam: AdamSettings = LatentStart.prior.defaultAdam,
                earlyStopping: EarlyStopping? = nil, precision: Precision? = nil, finalLearningRate: Float? = nil,
                priorCandidates: Int? = nil) {
        self.earlyStopping = earlyStopping
        self.finalLearningRate = finalLearningRate
        self.priorCandidates = priorCandidates
        self.steps = steps
        self.lambda = lambda
        self.batchSize = batchSize
        self.adam = adam
        self.precision = precision
    }

    /// Adam's rate for mapping step s (1…Γ): a half cosine from `adam.learningRate` down to
    /// `finalLearningRate`, or the constant `adam.learningRate`.
    public func learningRate(atStep s: Int) -> Float {
        guard let final = finalLearningRate, steps > 1 else { return adam.learningRate }
        let progress = Float(min(max(s, 1), steps) - 1) / Float(steps - 1)
        return final + (adam.learningRate - final) * 0.5 * (1 + cos(.pi * progress))
    }
}

/// When an image's mapping stops before Γ. Each image keeps the lowest total loss L it has seen;
/// a step whose loss is below best·(1 − tolerance) improves it. After `patience` steps in a row
/// without an improvement the image stops: z_Γ, G(z_Γ) and its scores are those of that last
/// step. The rule reads only the image's own losses, so where an image stops does not depend on
/// its batch (G and D run in inference mode); a batch ends when all its images have stopped.
public struct EarlyStopping: Codable, Equatable, Sendable {
    public var patience: Int
    public var tolerance: Double

    public init(patience: Int = 10, tolerance: Double = 1e-3) {
        self.patience = patience
        self.tolerance = tolerance
    }

    /// Tracks one image.
    public struct Tracker: Sendable {
        public private(set) var best = Double.infinity
        public private(set) var stale = 0

        public init() {}

        /// Records the loss of one step; returns true when the image stops after it.
        public mutating func record(_ loss: Double, rule: EarlyStopping) -> Bool {
            if loss < best * (1 - rule.tolerance) || best == .infinity {
                best = loss
                stale = 0
            } else {
                stale += 1
            }
            return stale >= rule.patience
        }
    }
}
