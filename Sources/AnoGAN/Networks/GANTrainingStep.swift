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
/// Implementation: G(z) is computed first and D's real and fake passes run as one pass over 2N images
/// with per-half BatchNorm statistics — the same arithmetic as the order above, with half as many primitives.
public final class GANTrainingStep {
    public let generator: Generator
    public let discriminator: Discriminator
    public let adamG: Adam
    public let adamD: Adam
    private let pairInputs = TensorWrapper()
    private let latentInputs = TensorWrapper()
    private let logitGradients = TensorWrapper()
    /// dL/dlogits for the 2N real+fake pass; its first N rows serve the generator step.
    private var logitGradient = Tensor(shape: [0, 1])
    private var generatorGradient = Tensor(shape: [0, 1])
    /// Real images then fakes, 2N×C×S×S.
    private var pair = Tensor(shape: [0])
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
        if logitGradient.shape[0] != 2 * n {
            logitGradient = Tensor(shape: [2 * n, 1])
            pair = Tensor(shape: [2 * n] + Array(real.shape.dropFirst()))
        }
        let g = generator, d = discriminator

        // fake = G(z) first: G does not depend on D, so this equals PyTorch's order.
        let fake = g.forward(latentInputs.wrap(z), training: true)

        // Discriminator on real (target 1) and fake (target 0, no gradient into G) in one pass of 2N images;
        // BatchNorm normalises each half with its own statistics, exactly as two separate passes do,
        // and the weight gradients of the two halves add up as two backward passes would.
        pair.data.update(from: real.data, count: real.count)
        (pair.data + real.count).update(from: fake.data, count: real.count)
        d.zeroGradients()
        let logits = d.forward(pairInputs.wrap(pair), training: true, logits: true, segments: 2).logits!
        let lossReal = Loss.binaryCrossEntropyWithLogits(logits.data, count: n, target: realTarget, gradient: logitGradient.data)
        let lossFake = Loss.binaryCrossEntropyWithLogits(logits.data + n, count: n, target: 0, gradient: logitGradient.data + n)
        let dReal = meanSigmoid(logits.data, n), dFake = meanSigmoid(logits.data + n, n)
        d.backward(gradLogits: logitGradients.wrap(logitGradient), gradFeatures: nil, weightGradients: true, inputGradient: false)
        adamD.update(values: d.parameters.values, gradients: d.parameters.gradients)

        // Generator: D(G(z)) with the updated D, target 1.
        g.zeroGradients()
        let afterLogits = d.forward(fake, training: true, logits: true).logits!
        let lossG = Loss.binaryCrossEntropyWithLogits(afterLogits.data, count: n, target: 1, gradient: generatorLogitGradient(n).data)
        let dFakeAfter = meanSigmoid(afterLogits.data, n)
        let gradFake = d.backward(gradLogits: logitGradients.wrap(generatorLogitGradient(n)), gradFeatures: nil,
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

    /// The first n rows of the logit gradient buffer, as a tensor view (no copy).
    private func generatorLogitGradient(_ n: Int) -> Tensor {
        if generatorGradient.shape[0] != n { generatorGradient = Tensor(viewing: logitGradient.storage, offset: 0, shape: [n, 1]) }
        return generatorGradient
    }
}
