// One DCGAN training step (paper Eq. 1, non-saturating generator loss), in the
// order of PyTorch's dcgan/main.py so that one step can be compared with
// PyTorch exactly (scripts/dcgan_torch.py, DCGANFixtureTests).

import NeuralNet
import Records

/// Losses and discriminator outputs of one training step.
public struct GANStepLosses: Equatable, Sendable {
    /// BCE(D(x), 1) + BCE(D(G(z)), 0), each averaged over the batch.
    public var lossD: Float
    /// BCE(D(G(z)), 1) with the updated D.
    public var lossG: Float
    /// Mean σ(D(x)).
    public var dReal: Float
    /// Mean σ(D(G(z))) before D's update.
    public var dFake: Float
    /// Mean σ(D(G(z))) after D's update (during the generator step).
    public var dFakeAfter: Float

    public init(lossD: Float, lossG: Float, dReal: Float, dFake: Float, dFakeAfter: Float) {
        self.lossD = lossD; self.lossG = lossG; self.dReal = dReal; self.dFake = dFake; self.dFakeAfter = dFakeAfter
    }
}

/// One step of adversarial training for a batch of real images and noise.
///
/// Order: D.zero; D(x) with BCE target 1, backward; fake = G(z); D(fake) target 0, backward
/// (no gradient into G); Adam on D; G.zero; D(fake) (train mode, updated D) target 1, backward into G
/// (D's weight gradients are not computed: D is not updated from them); Adam on G.
/// BatchNorm runs in training mode throughout, so D's running statistics see three batches per step, as in PyTorch.
/// Implementation: G(z) is computed first (G does not depend on D). D's real and fake passes run one after
/// the other at batch N, each backward before the next forward, so all three D passes share one set of
/// N-image buffers. (One pass over 2N images with per-half BatchNorm statistics, as before, needs a
/// second set of D's buffers at 2N: at full size ~0.3 GB more peak memory. Measured at full size, 2 threads:
/// the same f32 step time, bf16 2–9 % faster than these two N passes.)
public final class GANTrainingStep {
    public let generator: Generator
    public let discriminator: Discriminator
    public let adamG: Adam
    public let adamD: Adam
    private let realInputs = TensorWrapper()
    private let latentInputs = TensorWrapper()
    private let logitGradients = TensorWrapper()
    /// dL/dlogits of one D pass (N×1), reused by all three.
    private var logitGradient = Tensor(shape: [0, 1])
    /// D's target for real images: 1 (the paper), below 1 for one-sided label smoothing.
    public var realTarget: Float = 1

    public init(generator: Generator, discriminator: Discriminator, adam: AdamSettings = .dcgan) {
        precondition(generator.config == discriminator.config, "generator and discriminator configs differ")
        self.generator = generator
        self.discriminator = discriminator
        adamG = Adam(count: generator.parameters.count, settings: adam)
        adamD = Adam(count: discriminator.parameters.count, settings: adam)
    }

    /// real: N×C×S×S in [-1, 1]; z: N×latentDimension. Updates both networks' parameters and statistics.
    public func step(real: Tensor, z: Tensor) -> GANStepLosses {
        let cfg = generator.config
        precondition(real.shape.count == 4 && Array(real.shape.dropFirst()) == [cfg.channels, cfg.imageSize, cfg.imageSize],
                     "real batch must be N×\(cfg.channels)×\(cfg.imageSize)×\(cfg.imageSize), got \(real.shape)")
        precondition(z.shape == [real.shape[0], cfg.latentDimension], "noise must be \([real.shape[0], cfg.latentDimension]), got \(z.shape)")
        let n = real.shape[0]
        if logitGradient.shape[0] != n { logitGradient = Tensor(shape: [n, 1]) }
        let g = generator, d = discriminator

        // fake = G(z) first: G does not depend on D, so this equals PyTorch's order.
        let fake = g.forward(latentInputs.wrap(z), training: true)

        // Discriminator on real (target 1), then on fake (target 0, no gradient into G); the weight
        // gradients of the two backward passes add up.
        d.zeroGradients()
        let realLogits = d.forward(realInputs.wrap(real), training: true, logits: true).logits!
        let lossReal = Loss.binaryCrossEntropyWithLogits(realLogits.data, count: n, target: realTarget, gradient: logitGradient.data)
        let dReal = meanSigmoid(realLogits.data, n)
        d.backward(gradLogits: logitGradients.wrap(logitGradient), gradFeatures: nil, weightGradients: true, inputGradient: false)
        let fakeLogits = d.forward(fake, training: true, logits: true, weightsUnchanged: true).logits!
        let lossFake = Loss.binaryCrossEntropyWithLogits(fakeLogits.data, count: n, target: 0, gradient: logitGradient.data)
        let dFake = meanSigmoid(fakeLogits.data, n)
        d.backward(gradLogits: logitGradients.wrap(logitGradient), gradFeatures: nil, weightGradients: true, inputGradient: false,
                   weightsUnchanged: true)
        adamD.update(values: d.parameters.values, gradients: d.parameters.gradients)

        // Generator: D(G(z)) with the updated D, target 1.
        g.zeroGradients()
        let afterLogits = d.forward(fake, training: true, logits: true).logits!
        let lossG = Loss.binaryCrossEntropyWithLogits(afterLogits.data, count: n, target: 1, gradient: logitGradient.data)
        let dFakeAfter = meanSigmoid(afterLogits.data, n)
        let gradFake = d.backward(gradLogits: logitGradients.wrap(logitGradient), gradFeatures: nil,
                                  weightGradients: false, inputGradient: true)!
        _ = g.backward(gradFake, weightGradients: true)
        adamG.update(values: g.parameters.values, gradients: g.parameters.gradients)

        return GANStepLosses(lossD: lossReal + lossFake, lossG: lossG, dReal: dReal, dFake: dFake, dFakeAfter: dFakeAfter)
    }

    private func meanSigmoid(_ logits: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += Loss.sigmoid(logits[i]) }
        return s / Float(n)
    }
}
