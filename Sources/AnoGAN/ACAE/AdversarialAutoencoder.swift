// The adversarial convolutional autoencoder (aCAE), the paper's comparison model
// (§3 (3), after Pathak et al.'s context encoders): encoder → code → decoder,
// with a discriminator trained adversarially on the reconstructions. The decoder
// is the DCGAN Generator fed with the code and the discriminator is the DCGAN
// Discriminator, so the depth matches AnoGAN's. One training step is
//   D:  BCE(D(x), 1) + BCE(D(x̂), 0), x̂ = dec(enc(x)) detached; Adam on D;
//   AE: (1−α)·mean (x − x̂)² + α·BCE(D(x̂), 1) with the updated D; Adam on encoder and decoder.

import Foundation
import NeuralNet
import Records

/// How the aCAE trains. Stored in its checkpoint.
public struct ACAESettings: Codable, Equatable, Sendable {
    /// Passes over the training set.
    public var epochs: Int
    /// Total iterations; when set it wins over `epochs` and training stops as soon as it is
    /// reached, possibly mid-epoch. nil (and in checkpoints written before it existed): `epochs` epochs.
    public var iterations: Int?
    public var batchSize: Int
    public var seed: UInt64
    public var adam: AdamSettings
    /// α: weight of the adversarial term; 1 − α weighs the reconstruction (Pathak et al.: 0.001).
    public var adversarialWeight: Float
    /// Precision of the convolutions of all three networks, in training and in scoring (Precision);
    /// nil (and in checkpoints written before it existed): `Precision.default`, f32.
    public var precision: Precision?

    public init(epochs: Int = 20, batchSize: Int = 64, seed: UInt64 = 0, adam: AdamSettings = .dcgan,
                adversarialWeight: Float = 0.001, iterations: Int? = nil, precision: Precision? = nil) {
        self.epochs = epochs
        self.iterations = iterations
        self.batchSize = batchSize
        self.seed = seed
        self.adam = adam
        self.adversarialWeight = adversarialWeight
        self.precision = precision
    }
}

/// Losses of one aCAE training step (batch means).
public struct ACAEStepLosses: Sendable {
    /// mean over pixels of (x − x̂)², before the update.
    public var reconstruction: Double
    /// BCE(D(x̂), 1) with the updated D: the autoencoder's adversarial loss.
    public var adversarial: Double
    /// BCE(D(x), 1) + BCE(D(x̂), 0) before D's update.
    public var discriminator: Double
}

/// Encoder, decoder (a Generator) and discriminator with their optimizers.
public final class AdversarialAutoencoder {
    public let config: DCGANConfig
    public let settings: ACAESettings
    public let encoder: Encoder
    public let decoder: Generator
    public let discriminator: Discriminator
    public let adamEncoder: Adam, adamDecoder: Adam, adamDiscriminator: Adam
    /// Epochs trained so far (restored from a checkpoint).
    public internal(set) var completedEpochs = 0

    private let inputs = TensorWrapper(), reconstructions = TensorWrapper(), imageGradients = TensorWrapper()
    private let logitGradients = TensorWrapper()
    private var buffers: (reconstruction: Tensor, gradLogits: Tensor, gradImage: Tensor)?

    public init(config: DCGANConfig, settings: ACAESettings) {
        self.config = config
        self.settings = settings
        let precision = settings.precision ?? .default
        encoder = Encoder(config: config, precision: precision)
        decoder = Generator(config: config, precision: precision)
        discriminator = Discriminator(config: config, precision: precision)
        adamEncoder = Adam(count: encoder.parameters.count, settings: settings.adam)
        adamDecoder = Adam(count: decoder.parameters.count, settings: settings.adam)
        adamDiscriminator = Adam(count: discriminator.parameters.count, settings: settings.adam)
    }

    /// The three networks with their checkpoint prefixes, in initialisation order.
    public var networks: [(prefix: String, network: any Network)] {
        [("encoder.", encoder), ("decoder.", decoder), ("discriminator.", discriminator)]
    }

    /// DCGAN initialisation of all three networks, in the order encoder, decoder, discriminator.
    public func initialize(using rng: inout SeededGenerator) {
        for (_, network) in networks { network.initialize(using: &rng) }
        for adam in [adamEncoder, adamDecoder, adamDiscriminator] { adam.reset() }
    }

    /// dec(enc(x)) for x: N×C×S×S → N×C×S×S in [-1, 1], plus the codes N×latent. New tensors.
    public func reconstruct(_ x: Tensor, training: Bool) -> (codes: Tensor, reconstructions: Tensor) {
        let codes = encoder.forward(x, training: training)
        return (codes, decoder.forward(codes, training: training))
    }

    private func buffers(batch n: Int) -> (reconstruction: Tensor, gradLogits: Tensor, gradImage: Tensor) {
        if let b = buffers, b.reconstruction.shape[0] == n { return b }
        let s = config.imageSize
        let b = (Tensor(shape: [n, config.channels, s, s]), Tensor(shape: [n, 1]), Tensor(shape: [n, config.channels, s, s]))
        buffers = b
        return b
    }

    /// One training step on a batch of normal images (N×C×S×S in [-1, 1]); see the file header.
    public func step(real x: Tensor) -> ACAEStepLosses {
        let n = x.shape[0]
        let (xhat, gradLogits, gradImage) = buffers(batch: n)
        let codes = encoder.forward(inputs.wrap(x), training: true)
        decoder.forward(codes, training: true).copyPlain(into: xhat)

        // Discriminator: real → 1, reconstruction (detached) → 0. No input gradients needed here.
        discriminator.zeroGradients()
        var logits = discriminator.forward(inputs.wrap(x), training: true, logits: true).logits!
        let lossReal = Loss.binaryCrossEntropyWithLogits(logits.data, count: n, target: 1, gradient: gradLogits.data)
        discriminator.backward(gradLogits: logitGradients.wrap(gradLogits), gradFeatures: nil, weightGradients: true, inputGradient: false)
        logits = discriminator.forward(reconstructions.wrap(xhat), training: true, logits: true).logits!
        let lossFake = Loss.binaryCrossEntropyWithLogits(logits.data, count: n, target: 0, gradient: gradLogits.data)
        discriminator.backward(gradLogits: logitGradients.wrap(gradLogits), gradFeatures: nil, weightGradients: true, inputGradient: false)
        adamDiscriminator.update(values: discriminator.parameters.values, gradients: discriminator.parameters.gradients)

        // Autoencoder: the updated D's opinion of x̂, plus the reconstruction error.
        logits = discriminator.forward(reconstructions.wrap(xhat), training: true, logits: true).logits!
        let alpha = settings.adversarialWeight
        let adversarial = Loss.binaryCrossEntropyWithLogits(logits.data, count: n, target: 1, gradient: gradLogits.data)
        let gradAdversarial = discriminator.backward(gradLogits: logitGradients.wrap(gradLogits), gradFeatures: nil,
                                                     weightGradients: false, inputGradient: true)!.plainTensor
        let count = xhat.count
        let scale = 2 * (1 - alpha) / Float(count)
        var squared: Double = 0
        for i in 0..<count {
            let d = xhat.data[i] - x.data[i]
            squared += Double(d * d)
            gradImage.data[i] = scale * d + alpha * gradAdversarial.data[i]
        }
        encoder.zeroGradients()
        decoder.zeroGradients()
        let gradCodes = decoder.backward(imageGradients.wrap(gradImage), weightGradients: true)
        encoder.backward(gradCodes, weightGradients: true, inputGradient: false)
        adamDecoder.update(values: decoder.parameters.values, gradients: decoder.parameters.gradients)
        adamEncoder.update(values: encoder.parameters.values, gradients: encoder.parameters.gradients)
        return ACAEStepLosses(reconstruction: squared / Double(count), adversarial: Double(adversarial),
                              discriminator: Double(lossReal + lossFake))
    }
}
