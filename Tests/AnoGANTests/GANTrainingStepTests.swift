// Networks/GANTrainingStep.swift against the same step written out with the
// networks' public forward/backward, the losses and Adam: the contract's step
// order, losses, D outputs, parameters and running statistics.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class GANTrainingStepTests: XCTestCase {
    func testTrainingStepFollowsTheContractOrder() {
        let (g1, d1) = pair(seed: 1), (g2, d2) = pair(seed: 1)
        var rng = SeededGenerator(seed: 2)
        let n = 3
        let real = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [n, 4], low: -1, high: 1, using: &rng)
        let step = GANTrainingStep(generator: g1, discriminator: d1)
        let losses = step.step(real: real, z: z)

        // The same step written out with the public API.
        let adamG = Adam(count: g2.parameters.count, settings: .dcgan), adamD = Adam(count: d2.parameters.count, settings: .dcgan)
        let grad = Tensor(shape: [n, 1])
        d2.parameters.zeroGradients()
        let outReal = d2.forward(real, training: true)
        let lossReal = Loss.binaryCrossEntropyWithLogits(outReal.logits, target: 1, gradient: grad)
        _ = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: true)
        let fake = g2.forward(z, training: true)
        let outFake = d2.forward(fake, training: true)
        let lossFake = Loss.binaryCrossEntropyWithLogits(outFake.logits, target: 0, gradient: grad)
        _ = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: true)
        adamD.update(values: d2.parameters.values, gradients: d2.parameters.gradients)
        g2.parameters.zeroGradients()
        let outAfter = d2.forward(fake, training: true)
        let lossG = Loss.binaryCrossEntropyWithLogits(outAfter.logits, target: 1, gradient: grad)
        let dFake = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: false)
        _ = g2.backward(dFake, weightGradients: true)
        adamG.update(values: g2.parameters.values, gradients: g2.parameters.gradients)

        XCTAssertEqual(losses.lossD, lossReal + lossFake, accuracy: 1e-5)
        XCTAssertEqual(losses.lossG, lossG, accuracy: 1e-5)
        let mean = { (t: Tensor) in t.array.map { Loss.sigmoid($0) }.reduce(0, +) / Float(t.count) }
        XCTAssertEqual(losses.dReal, mean(outReal.logits), accuracy: 1e-6)
        XCTAssertEqual(losses.dFake, mean(outFake.logits), accuracy: 1e-6)
        XCTAssertEqual(losses.dFakeAfter, mean(outAfter.logits), accuracy: 1e-6)
        XCTAssertNotEqual(losses.dFake, losses.dFakeAfter)
        assertNear(d1.parameters.values.array, d2.parameters.values.array, 1e-6, "D parameters")
        assertNear(g1.parameters.values.array, g2.parameters.values.array, 1e-6, "G parameters")
        assertNear(d1.statistics.values.array, d2.statistics.values.array, 1e-6, "D running statistics (three batches)")
        assertNear(g1.statistics.values.array, g2.statistics.values.array, 1e-6, "G running statistics")
        // The generator's weights moved.
        XCTAssertNotEqual(g1.parameters.values.array, pair(seed: 1).0.parameters.values.array)
    }
}
