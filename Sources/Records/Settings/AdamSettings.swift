// Adam's hyper-parameters as a plain record (stored in checkpoints and score
// runs); the optimizer itself is NeuralNet's `Adam`.

/// Adam's settings (Kingma & Ba 2014).
public struct AdamSettings: Codable, Equatable, Sendable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(learningRate: Float, beta1: Float, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// DCGAN training: lr 2e-4, β₁ 0.5 (Radford et al.).
    public static let dcgan = AdamSettings(learningRate: 2e-4, beta1: 0.5)
    /// Latent mapping: lr 0.01, β₁ 0.9 (the inpainting code the paper adapted). The rate of the
    /// refinement from the encoder's E(x), which starts close to its fit (`LatentStart.defaultAdam`).
    public static let mapping = AdamSettings(learningRate: 0.01, beta1: 0.9)
    /// Latent mapping from a random z₁ (the paper's prior start): lr 0.1, β₁ 0.9. See `LatentStart.defaultAdam`.
    public static let priorMapping = AdamSettings(learningRate: 0.1, beta1: 0.9)
}
