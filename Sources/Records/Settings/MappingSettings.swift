// How the latent mapping runs (paper §2.2) and which loss it minimises, as plain
// records: score runs store them in their summary (ScoreRun.Summary). The mapper is AnoGAN's LatentMapper.

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

/// How to map. Defaults are the paper's.
public struct MappingSettings: Codable, Equatable, Sendable {
    /// Γ, the number of Adam steps on z (paper: 500). 0 only with the encoder start
    /// (`ScoringSettings.start`): the scores of G(E(x)) in one forward pass.
    public var steps: Int
    /// λ in L = (1−λ)·L_R + λ·L_D (paper: 0.1).
    public var lambda: Float
    /// Images mapped together; changes speed, not results.
    public var batchSize: Int
    /// Adam on z (lr 0.01, β₁ 0.9, β₂ 0.999).
    public var adam: AdamSettings
    /// Precision of G's and D's convolutions (Precision); z, its Adam and the losses stay f32.
    /// nil (and in summaries written before it existed): `Precision.default`, f32.
    public var precision: Precision?

    public init(steps: Int = 500, lambda: Float = 0.1, batchSize: Int = 64, adam: AdamSettings = .mapping, precision: Precision? = nil) {
        self.steps = steps
        self.lambda = lambda
        self.batchSize = batchSize
        self.adam = adam
        self.precision = precision
    }
}
