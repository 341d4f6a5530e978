// How to score a set of queries, as a plain record stored in every score run's
// summary (ScoreRun.Summary). The scorer is AnoGAN's AnomalyScorer.

/// Where AnoGAN's latent search starts for each query.
public enum LatentStart: String, Codable, CaseIterable, Sendable {
    /// z₁ ~ U[−1, 1]^latent from (seed, image id): the paper's start.
    case prior
    /// z₁ = E(x), the f-AnoGAN izi_f encoder's code of the query (Schlegl et al. 2019).
    case encoder

    /// Γ when none is given: the paper's 500 from the prior; 0 from the encoder, i.e. the
    /// encoder score alone (one forward pass). The team's PyTorch experiment on the demo's
    /// checkpoint: E alone A 0.793, E then 50 steps 0.770, prior 500 steps 0.749.
    public var defaultSteps: Int {
        switch self {
        case .prior: return 500
        case .encoder: return 0
        }
    }

    /// Adam on z when none is given. The paper gives no rate. From the prior, 0.01 (the inpainting
    /// code's) left z far from converged after 200 steps: normal images stuck away from their fit
    /// and scored as anomalies (docs/DETECTION.md). 0.1 raised A on every model tried — demo
    /// 0.781 → 0.835 and 0.705 → 0.788 at Γ = 200, Fashion-MNIST class 0 0.863 → 0.868 and
    /// 0.866 → 0.866 at Γ = 100 — where 0.3 overshoots (0.817, 0.810). From E(x), already near
    /// the fit, 0.01 is best (demo E + 20 steps: 0.895 at 0.01, 0.890 at 0.03, 0.869 at 0.1).
    public var defaultAdam: AdamSettings {
        switch self {
        case .prior: return .priorMapping
        case .encoder: return .mapping
        }
    }
}

/// How to score. Stored in the score run's summary.json.
public struct ScoringSettings: Codable, Equatable, Sendable {
    public var mapping: MappingSettings
    public var variant: MappingVariant
    /// Seeds z₁ of every image together with the image's id (the same z₁ for both variants);
    /// unused by the encoder start.
    public var seed: UInt64
    /// Where the mapping starts. Summaries written before the encoder start existed decode as `.prior`.
    public var start: LatentStart

    /// `mapping` nil: the defaults with Γ = `start.defaultSteps` and Adam `start.defaultAdam`.
    public init(mapping: MappingSettings? = nil, variant: MappingVariant = .featureMatching, seed: UInt64 = 0, start: LatentStart = .prior) {
        self.mapping = mapping ?? MappingSettings(steps: start.defaultSteps, adam: start.defaultAdam)
        self.variant = variant
        self.seed = seed
        self.start = start
    }

    private enum CodingKeys: String, CodingKey { case mapping, variant, seed, start }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mapping = try c.decode(MappingSettings.self, forKey: .mapping)
        variant = try c.decode(MappingVariant.self, forKey: .variant)
        seed = try c.decode(UInt64.self, forKey: .seed)
        start = try c.decodeIfPresent(LatentStart.self, forKey: .start) ?? .prior
    }
}
