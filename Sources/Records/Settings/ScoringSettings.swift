// How to score a set of queries, as a plain record stored in every score run's
// summary (ScoreRun.Summary). The scorer is AnoGAN's AnomalyScorer.

/// How to score. Stored in the score run's summary.json.
public struct ScoringSettings: Codable, Equatable, Sendable {
    public var mapping: MappingSettings
    public var variant: MappingVariant
    /// Seeds z₁ of every image together with the image's id (the same z₁ for both variants).
    public var seed: UInt64

    public init(mapping: MappingSettings = MappingSettings(), variant: MappingVariant = .feature, seed: UInt64 = 0) {
        self.mapping = mapping
        self.variant = variant
        self.seed = seed
    }
}
