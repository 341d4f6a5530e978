// AdversarialAutoencoder.swift: the encoder→decoder composition against central
// finite differences, and that training on tiny synthetic images lowers the
// reconstruction error.

import XCTest
import Foundation
import NeuralNet
import Records
@testable import AnoGAN

final class AdversarialAutoencoderTests: ACAEGradientTestCase {
    /// The autoencoder path x → enc → dec → x̂ backpropagated by hand (decoder.backward feeding encoder.backward).
    func testAutoencoderCompositionGradient() {
        var rng = SeededGenerator(seed: 3)
        let config = tinyConfig()
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings())
        model.initialize(using: &rng)
        for set in [model.encoder.parameters, model.decoder.parameters] {
            for i in 0..<set.count { set.values.data[i] *= 10 }
        }
        let x = Tensor.uniform(shape: [2, 1, 16, 16], low: -1, high: 1, using: &rng)
        let xhat = model.reconstruct(x, training: false).reconstructions
        let c = Tensor.uniform(shape: xhat.shape, low: -1, high: 1, using: &rng)
        model.encoder.parameters.zeroGradients()
        model.decoder.parameters.zeroGradients()
        let gradCodes = model.decoder.backward(c, weightGradients: true)
        let gradX = model.encoder.backward(gradCodes, weightGradients: true)
        func loss() -> Double { weightedSum(model.reconstruct(x, training: false).reconstructions, c) }
        let eps: Float = 1e-2
        checkGradient(x, gradX, at: [5, 100, 400], eps: eps, "dL/dx", loss: loss)
        for (set, name) in [(model.encoder.parameters, "conv2.weight"), (model.encoder.parameters, "code.weight"),
                            (model.decoder.parameters, "project.weight"), (model.decoder.parameters, "deconv2.weight")] {
            let value = set.value(name)
            checkGradient(value, set.gradient(name), at: [1, value.count / 3], eps: eps, name, loss: loss)
        }
    }

    func testTrainingReducesReconstructionError() {
        var rng = SeededGenerator(seed: 11)
        let config = Synthetic.config(width: 16)
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings(batchSize: 32, seed: 11, adam: AdamSettings(learningRate: 2e-3, beta1: 0.5)))
        model.initialize(using: &rng)
        let images = Synthetic.bars(32, using: &rng)
        var losses: [Double] = []
        for _ in 0..<80 {
            let l = model.step(real: images)
            XCTAssertTrue(l.reconstruction.isFinite && l.adversarial.isFinite && l.discriminator.isFinite)
            losses.append(l.reconstruction)
        }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.5 * first, "reconstruction MSE \(first) → \(last)")
        // And in inference mode on held-out bars, the reconstruction beats the trivial all-background guess.
        let heldOut = Synthetic.bars(16, using: &rng)
        let xhat = model.reconstruct(heldOut, training: false).reconstructions
        var err = 0.0, trivial = 0.0
        for i in 0..<heldOut.count {
            err += Double(abs(xhat.data[i] - heldOut.data[i]))
            trivial += Double(abs(-1 - heldOut.data[i]))
        }
        XCTAssertLessThan(err, trivial, "held-out L1 \(err) vs all-background \(trivial)")
    }
}
