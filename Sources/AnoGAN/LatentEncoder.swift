// f-AnoGAN's izi_f encoder (Schlegl et al., MedIA 2019): a network E that maps
// an image straight to the latent point whose G(z) reconstructs it, trained
// after the GAN with G and D frozen. It replaces (or starts) the latent mapping:
// one forward pass instead of Γ Adam steps from a random z.
//
// E mirrors D (the aCAE's Encoder: D's conv trunk → linear → tanh, so E(x)
// lies in [-1, 1]^latent, the prior's range). Loss per batch (izi_f, κ = 1):
//   L = mean (x − G(E(x)))² + κ · mean (f(x) − f(G(E(x))))²
// with means over all pixels resp. all feature values of the batch and f the
// output of D's last conv block. G runs in inference mode, D as its folded
// inference-mode copy (the latent mapping's); only E gets weight gradients.
//
// Optimizer: Adam, lr 1e-4, β (0.5, 0.999). tSchlegl/f-AnoGAN trains izi_f with
// RMSProp (lr 5e-5, TensorFlow's decay 0.9); the team's PyTorch experiment that
// measured the encoder's gain used Adam (β 0.5, 0.999) as our GAN does, so that
// is the default here, with the lr the brief asked for. All are settings.

import Foundation
import NeuralNet
import Records

extension AdamSettings {
    /// izi_f encoder training: lr 1e-4, β₁ 0.5, β₂ 0.999.
    public static let encoder = AdamSettings(learningRate: 1e-4, beta1: 0.5)
}

/// How to train the encoder. Stored in its checkpoint.
public struct EncoderTrainingSettings: Codable, Equatable, Sendable {
    /// Adam steps in total (f-AnoGAN experiment here: 1500).
    public var iterations: Int
    /// Images per step; the last incomplete batch of a pass over the data is dropped.
    public var batchSize: Int
    /// Seeds E's initialisation and the shuffle of every pass over the data.
    public var seed: UInt64
    public var adam: AdamSettings
    /// κ, the weight of the feature term (f-AnoGAN: 1).
    public var kappa: Float
    /// A checkpoint every this many iterations (and at the end) when training writes one.
    public var checkpointInterval: Int
    /// Precision of the convolutions of E, G and D while training E (Precision); nil (and in
    /// checkpoints written before it existed): `Precision.default`, f32. E is built at G's precision, which the caller chose.
    public var precision: Precision?

    public init(iterations: Int = 1500, batchSize: Int = 64, seed: UInt64 = 0, adam: AdamSettings = .encoder,
                kappa: Float = 1, checkpointInterval: Int = 500, precision: Precision? = nil) {
        self.iterations = iterations
        self.batchSize = batchSize
        self.seed = seed
        self.adam = adam
        self.kappa = kappa
        self.checkpointInterval = checkpointInterval
        self.precision = precision
    }
}

/// The izi_f loss of one batch, before the step's update.
public struct EncoderLosses: Equatable, Sendable {
    /// mean (x − G(E(x)))² over the batch's pixels.
    public var pixel: Double
    /// mean (f(x) − f(G(E(x))))² over the batch's feature values.
    public var feature: Double
    /// pixel + κ · feature.
    public var total: Double
}

/// What encoder training reports after every iteration.
public struct EncoderIteration: Sendable {
    /// Iterations completed (1-based), including any before a resume.
    public var iteration: Int
    public var iterations: Int
    public var losses: EncoderLosses
    /// The checkpoint written after this iteration, if any.
    public var checkpoint: URL?
}

public enum EncoderError: Error, CustomStringConvertible {
    case invalidSettings(String)
    case diverged(iteration: Int, what: String)

    public var description: String {
        switch self {
        case .invalidSettings(let message): return message
        case .diverged(let iteration, let what): return "encoder training diverged at iteration \(iteration): \(what)"
        }
    }
}

/// An izi_f encoder E for a trained G and D, with its training state.
public final class LatentEncoder {
    public let encoder: Encoder
    public let generator: Generator
    public let discriminator: Discriminator
    public private(set) var settings: EncoderTrainingSettings
    public let adam: Adam
    /// Where the GAN E belongs to came from (recorded in checkpoints; informational).
    public let ganCheckpoint: String
    public internal(set) var completedIterations = 0

    private let foldedD: FoldedDiscriminator
    /// True once G's and the folded D's weights are laid out for oneDNN in this training call.
    private var frozenLoaded = false
    private let inputs = TensorWrapper(), gradInputs = TensorWrapper()
    private var imageGradient = Tensor(shape: [0])
    private var queryFeatures: DNNLMemory?, featureGradient: DNNLMemory?

    /// A fresh encoder: E initialised (DCGAN) from `settings.seed`. G and D are not modified.
    public init(generator: Generator, discriminator: Discriminator, settings: EncoderTrainingSettings = EncoderTrainingSettings(),
                ganCheckpoint: String = "") throws {
        guard generator.config == discriminator.config else { throw EncoderError.invalidSettings("generator and discriminator architectures differ") }
        guard settings.batchSize >= 2 else { throw EncoderError.invalidSettings("encoder batch size must be at least 2 (BatchNorm needs a batch), got \(settings.batchSize)") }
        guard settings.iterations >= 0 else { throw EncoderError.invalidSettings("encoder iterations must be ≥ 0, got \(settings.iterations)") }
        guard settings.checkpointInterval >= 1 else { throw EncoderError.invalidSettings("encoder checkpoint interval must be ≥ 1") }
        guard settings.kappa >= 0 else { throw EncoderError.invalidSettings("κ must be ≥ 0, got \(settings.kappa)") }
        self.generator = generator
        self.discriminator = discriminator
        self.settings = settings
        self.ganCheckpoint = ganCheckpoint
        encoder = Encoder(config: generator.config, precision: generator.precision)  // E runs at G's precision
        var rng = SeededGenerator(seed: settings.seed)
        encoder.initialize(using: &rng)
        adam = Adam(count: encoder.parameters.count, settings: settings.adam)
        foldedD = FoldedDiscriminator(discriminator)
    }

    public var config: DCGANConfig { generator.config }
    public var isFinished: Bool { completedIterations >= settings.iterations }

    /// Raises (or lowers) the iteration budget, e.g. to continue a resumed run.
    public func setIterations(_ iterations: Int) { settings.iterations = max(0, iterations) }

    // MARK: Encoding

    /// E(x) in inference mode (BatchNorm running statistics): N×latent in (-1, 1).
    /// Each row depends only on its image, whatever the batch.
    public func encode(_ images: Tensor, batchSize: Int = 64) -> Tensor {
        let n = images.shape[0], latent = config.latentDimension
        let out = Tensor(shape: [n, latent])
        var start = 0
        while start < n {
            let range = start..<min(n, start + max(1, batchSize))
            out.setItems(from: encoder.forward(images.items(range), training: false), at: start)
            start = range.upperBound
        }
        return out
    }

    // MARK: One step

    /// The izi_f loss of batch `x` (N×C×S×S in [-1, 1]) with E in training mode, and its
    /// gradient w.r.t. E's parameters in `encoder.parameters.gradients` (overwritten).
    /// Updates E's BatchNorm running statistics as a training forward does; G and D are untouched.
    public func lossAndGradients(_ x: Tensor) -> EncoderLosses {
        let c = config
        precondition(x.rank == 4 && Array(x.shape.dropFirst()) == [c.channels, c.imageSize, c.imageSize],
                     "encoder batch must be N×\(c.channels)×\(c.imageSize)×\(c.imageSize), got \(x.shape)")
        let n = x.shape[0]
        if imageGradient.shape != x.shape { imageGradient = Tensor(shape: x.shape) }
        let frozen = frozenLoaded
        let xm = inputs.wrap(x)

        // Forward: z = E(x) (training mode), x̂ = G(z), f(x) and f(x̂) through the folded D.
        let codes = encoder.forward(xm, training: true)
        let fx = foldedD.forward(xm, logits: false, weightsUnchanged: frozen).features
        if let q = queryFeatures, q.hasSameLayout(as: fx) { q.assign(from: fx) } else {
            queryFeatures = fx.copy()
            featureGradient = DNNLMemory(desc: fx.desc)
        }
        let image = generator.forward(codes, training: false, weightsUnchanged: frozen)
        let fr = foldedD.forward(image, logits: false, weightsUnchanged: true).features

        // Pixel term: mean (x̂ − x)², d/dx̂ = 2 (x̂ − x) / count.
        let pixels = x.count
        var pixelSum = 0.0
        let xp = x.data, rp = image.data, gi = imageGradient.data
        let pixelScale = 2 / Float(pixels)
        for i in 0..<pixels {
            let d = rp[i] - xp[i]
            pixelSum += Double(d * d)
            gi[i] = pixelScale * d
        }
        // Feature term: κ · mean (f(x̂) − f(x))² over the n·F logical values; blocked-layout
        // padding is zero in both, so it adds nothing and gets a zero gradient.
        let features = n * ConvolutionalTrunk.featureCount(c)
        let q = queryFeatures!, gf = featureGradient!
        let featureScale = 2 * settings.kappa / Float(features)
        var featureSum = 0.0
        let fp = fr.data, qp = q.data, gp = gf.data
        for i in 0..<fr.physicalCount {
            let d = fp[i] - qp[i]
            featureSum += Double(d * d)
            gp[i] = featureScale * d
        }

        // Backward: through D (no weight gradients) into x̂, plus the pixel term; through G
        // (no weight gradients) into z; through E with weight gradients.
        let gd = foldedD.backward(gradLogits: nil, gradFeatures: gf, weightsUnchanged: frozen).data
        for i in 0..<pixels { gi[i] += gd[i] }
        let dz = generator.backward(gradInputs.wrap(imageGradient), weightGradients: false, weightsUnchanged: frozen)
        encoder.parameters.zeroGradients()
        encoder.backward(dz, weightGradients: true, inputGradient: false)
        frozenLoaded = true

        let pixel = pixelSum / Double(pixels), feature = featureSum / Double(features)
        return EncoderLosses(pixel: pixel, feature: feature, total: pixel + Double(settings.kappa) * feature)
    }

    /// One Adam step on E for batch `x`; returns the losses before the update.
    @discardableResult
    public func step(_ x: Tensor) -> EncoderLosses {
        let losses = lossAndGradients(x)
        adam.update(values: encoder.parameters.values, gradients: encoder.parameters.gradients)
        return losses
    }

    // MARK: Training

    /// The order of pass `pass` (0-based) over `count` images: a Fisher–Yates shuffle seeded by
    /// (seed, pass) alone, so a resume at any iteration rebuilds it without stored state.
    static func order(count: Int, pass: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed ^ (0xE4C0_DE00_0000_0000 &+ UInt64(pass) &* 0x9E37_79B9_7F4A_7C15))
        var a = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(UInt64(i + 1).multipliedFullWidth(by: rng.next()).high)
            a.swapAt(i, j)
        }
        return a
    }

    /// Trains until `settings.iterations` on `images` (normal training images, N×C×S×S in [-1, 1]),
    /// writing a checkpoint to `checkpoint` (when given) every `settings.checkpointInterval`
    /// iterations and at the end. Throws `EncoderError.diverged` on a non-finite loss or weight
    /// (the last checkpoint on disk is then the last good one).
    public func train(images: Tensor, checkpoint: URL? = nil, onIteration: (EncoderIteration) -> Void = { _ in }) throws {
        let c = config, n = settings.batchSize
        guard images.rank == 4, Array(images.shape.dropFirst()) == [c.channels, c.imageSize, c.imageSize] else {
            throw EncoderError.invalidSettings("encoder training images have shape \(images.shape), the model needs N×\(c.channels)×\(c.imageSize)×\(c.imageSize)")
        }
        let count = images.shape[0]
        guard count >= n else {
            throw EncoderError.invalidSettings("encoder training needs at least one batch of \(n) images, got \(count)")
        }
        frozenLoaded = false   // G or D may have been loaded since the last call
        foldedD.refresh()
        let perPass = count / n, item = images.itemCount
        let batch = Tensor(shape: [n] + Array(images.shape.dropFirst()))
        var pass = -1
        var order: [Int] = []
        while completedIterations < settings.iterations {
            let it = completedIterations
            if it / perPass != pass { pass = it / perPass; order = Self.order(count: count, pass: pass, seed: settings.seed) }
            let first = (it % perPass) * n
            for b in 0..<n { (batch.data + b * item).update(from: images.data + order[first + b] * item, count: item) }
            let losses = step(batch)
            guard losses.total.isFinite else {
                throw EncoderError.diverged(iteration: it + 1, what: "the loss became \(losses.total)")
            }
            completedIterations += 1
            var written: URL?
            if let checkpoint, completedIterations % settings.checkpointInterval == 0 || completedIterations == settings.iterations {
                guard encoder.parameters.values.isFinite, encoder.statistics.values.isFinite else {
                    throw EncoderError.diverged(iteration: completedIterations, what: "encoder weights hold NaN or Inf")
                }
                try save(to: checkpoint)
                written = checkpoint
            }
            onIteration(EncoderIteration(iteration: completedIterations, iterations: settings.iterations, losses: losses, checkpoint: written))
        }
    }
}
