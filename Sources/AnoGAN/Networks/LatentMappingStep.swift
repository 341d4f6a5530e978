// One step of the latent mapping (paper §2.2): Adam on z only, G and D frozen
// in inference mode, loss L(z) = (1−λ)·Σ|x − G(z)| + λ·(discrimination loss),
// z clipped to [-1, 1] afterwards. A batch is mapped at once; each image has
// its own z and, because BatchNorm uses running statistics, its own loss.

import NeuralNet
import Records

/// The discrimination term of the mapping loss.
public enum DiscriminationLoss: String, Codable, Sendable {
    /// Σ|f(x) − f(G(z))| over D's last feature map: the paper's feature matching (Eq. 4).
    case featureMatching
    /// BCE(σ(D(G(z))), 1): the original discriminator loss of Yeh et al. (the paper's reference variant).
    case reference
}

/// Per-image losses of one mapping step, at the z before the step's update.
public struct MappingLoss: Equatable, Sendable {
    /// Residual loss R = Σ|x − G(z)| over the image's pixels.
    public var residual: Float
    /// Discrimination loss D (feature matching or reference BCE).
    public var discrimination: Float
    /// (1 − λ)·R + λ·D.
    public var total: Float

    public init(residual: Float, discrimination: Float, total: Float) {
        self.residual = residual; self.discrimination = discrimination; self.total = total
    }
}

/// Maps a batch of query images into the latent space by gradient steps on z.
///
/// G runs in inference mode (BatchNorm on running statistics, fused with ReLU); D runs as an
/// inference-mode copy with BatchNorm folded into its convolutions (mathematically the same function;
/// see FoldedNetworks.swift), made at `reset`. G and D must not change between `reset` and the last
/// `step`: D is copied and both networks' weights are laid out for oneDNN once per reset.
public final class LatentMappingStep {
    public let generator: Generator
    public let discriminator: Discriminator
    /// Weight λ of the discrimination term.
    public let lambda: Float
    public let loss: DiscriminationLoss
    public let adamSettings: AdamSettings

    private var adam: Adam
    private let foldedD: FoldedDiscriminator
    private var queries = Tensor(shape: [0])
    private var latent = Tensor(shape: [0])
    private var queryFeatures: DNNLMemory?
    private var featureGradient: DNNLMemory?
    private var imageGradient = Tensor(shape: [0])
    private var logitGradient = Tensor(shape: [0, 1])
    private var lastOutput: DNNLMemory?
    private var weightsLoaded = false
    private var residuals: [Float] = [], discriminations: [Float] = []
    private let latentInputs = TensorWrapper(), queryInputs = TensorWrapper(), gradInputs = TensorWrapper(), logitInputs = TensorWrapper()

    public init(generator: Generator, discriminator: Discriminator, lambda: Float = 0.1, loss: DiscriminationLoss,
                adam: AdamSettings = .mapping) {
        precondition(generator.config == discriminator.config, "generator and discriminator configs differ")
        precondition(lambda >= 0 && lambda <= 1, "λ must be in [0, 1], got \(lambda)")
        self.generator = generator
        self.discriminator = discriminator
        self.lambda = lambda
        self.loss = loss
        adamSettings = adam
        self.adam = Adam(count: 0, settings: adam)
        foldedD = FoldedDiscriminator(discriminator)
    }

    /// Starts mapping queries x (N×C×S×S in [-1, 1]) from z (N×latentDimension): copies both,
    /// computes f(x) once and resets Adam.
    public func reset(queries x: Tensor, z: Tensor) {
        let cfg = generator.config
        precondition(x.shape.count == 4 && Array(x.shape.dropFirst()) == [cfg.channels, cfg.imageSize, cfg.imageSize],
                     "queries must be N×\(cfg.channels)×\(cfg.imageSize)×\(cfg.imageSize), got \(x.shape)")
        precondition(z.shape == [x.shape[0], cfg.latentDimension], "z must be \([x.shape[0], cfg.latentDimension]), got \(z.shape)")
        let n = x.shape[0]
        if queries.shape != x.shape { queries = Tensor(shape: x.shape); imageGradient = Tensor(shape: x.shape) }
        if latent.shape != z.shape { latent = Tensor(shape: z.shape); adam = Adam(count: z.count, settings: adamSettings) }
        if logitGradient.shape[0] != n { logitGradient = Tensor(shape: [n, 1]) }
        queries.assign(from: x)
        latent.assign(from: z)
        adam.reset()
        weightsLoaded = false
        residuals = [Float](repeating: 0, count: n)
        discriminations = [Float](repeating: 0, count: n)
        lastOutput = nil
        // Always re-fold: D may have been loaded or trained since the last reset.
        foldedD.refresh()
        if loss == .featureMatching {
            let f = foldedD.forward(queryInputs.wrap(queries), logits: false, weightsUnchanged: false).features
            if let q = queryFeatures, q.hasSameLayout(as: f) { q.assign(from: f) } else { queryFeatures = f.copy() }
            if featureGradient == nil || !featureGradient!.hasSameLayout(as: f) { featureGradient = DNNLMemory(desc: f.desc) }
        }
    }

    /// One Adam step on z, at `learningRate` (default: the rate it was made with). Returns each
    /// image's losses at the z before the update.
    public func step(learningRate: Float? = nil) -> [MappingLoss] {
        precondition(latent.count > 0, "LatentMappingStep.step before reset")
        let n = queries.shape[0]
        let g = generator, d = foldedD
        // After the first step of a reset every weight layout is loaded and the weights are frozen.
        let frozen = weightsLoaded
        let image = g.forward(latentInputs.wrap(latent), training: false, weightsUnchanged: frozen)
        lastOutput = image

        // Residual term: (1 − λ)·Σ|G(z) − x| per image; gradient w.r.t. G(z).
        residuals.withUnsafeMutableBufferPointer { r in
            Loss.l1PerItem(image.data, queries.data, items: n, itemCount: queries.itemCount,
                           gradient: imageGradient.data, scale: 1 - lambda, into: r.baseAddress!)
        }

        // Discrimination term through D (inference mode, no weight gradients).
        let out = d.forward(image, logits: loss == .reference, weightsUnchanged: frozen)
        let gradImage: DNNLMemory
        switch loss {
        case .featureMatching:
            let f = out.features, q = queryFeatures!, gf = featureGradient!
            discriminations.withUnsafeMutableBufferPointer { r in
                Loss.l1PerItem(f.data, q.data, items: n, itemCount: f.itemStride, gradient: gf.data, scale: lambda, into: r.baseAddress!)
            }
            gradImage = d.backward(gradLogits: nil, gradFeatures: gf, weightsUnchanged: frozen)
        case .reference:
            let logits = out.logits!
            for i in 0..<n {
                // BCE(σ(l), 1) = softplus(−l) per image; d/dl = σ(l) − 1.
                discriminations[i] = Loss.binaryCrossEntropyWithLogits(logits.data + i, count: 1, target: 1, gradient: logitGradient.data + i)
                logitGradient.data[i] *= lambda
            }
            gradImage = d.backward(gradLogits: logitInputs.wrap(logitGradient), gradFeatures: nil, weightsUnchanged: frozen)
        }
        let gi = imageGradient.data, gd = gradImage.data
        for i in 0..<imageGradient.count { gi[i] += gd[i] }

        let dz = g.backward(gradInputs.wrap(imageGradient), weightGradients: false, weightsUnchanged: frozen)
        adam.settings.learningRate = learningRate ?? adamSettings.learningRate
        adam.update(values: latent, gradients: dz.plainTensor)
        let zp = latent.data
        for i in 0..<latent.count { zp[i] = min(max(zp[i], -1), 1) }
        weightsLoaded = true
        return (0..<n).map { MappingLoss(residual: residuals[$0], discrimination: discriminations[$0],
                                         total: (1 - lambda) * residuals[$0] + lambda * discriminations[$0]) }
    }

    /// The current latent vectors, N×latentDimension (a copy).
    public var z: Tensor { latent.copy() }

    /// G(z) of the last step's forward, N×C×S×S (a copy).
    public var reconstruction: Tensor {
        guard let lastOutput else { preconditionFailure("reconstruction before the first step") }
        return lastOutput.plainCopy()
    }
}
