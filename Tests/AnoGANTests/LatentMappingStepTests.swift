// Networks/LatentMappingStep.swift against the same procedure written out with
// the networks' public forward/backward, the losses and Adam: gradient routing
// for both discrimination losses, per-image independence of the mapping,
// clipping to the latent box, and seeing changes made to G and D before reset.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class LatentMappingStepTests: XCTestCase {
    func testMappingStepMatchesWrittenOutGradient() {
        for loss in [DiscriminationLoss.featureMatching, .reference] {
            let (g, d) = pair(seed: 3)
            var rng = SeededGenerator(seed: 4)
            let n = 2, lambda: Float = 0.1
            let x = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
            let z0 = Tensor.uniform(shape: [n, 4], low: -0.9, high: 0.9, using: &rng)
            let mapping = LatentMappingStep(generator: g, discriminator: d, lambda: lambda, loss: loss)
            mapping.reset(queries: x, z: z0)
            let losses = mapping.step()

            // Written out: L = (1−λ)Σ|x − G(z)| + λ·disc, gradient through D and G (inference mode).
            let fx = d.forward(x, training: false).features
            let out = g.forward(z0, training: false)
            assertNear(mapping.reconstruction.array, out.array, 1e-5, "reconstruction")
            let gImage = Tensor(shape: out.shape)
            let dOut = d.forward(out, training: false)
            var disc = [Float](repeating: 0, count: n)
            let dImage: Tensor
            if loss == .featureMatching {
                let gf = Tensor(shape: fx.shape)
                for i in 0..<n { disc[i] = Loss.l1(dOut.features.items(i..<i + 1), fx.items(i..<i + 1)) }
                for j in 0..<gf.count { let v = dOut.features[j] - fx[j]; gf[j] = lambda * (v > 0 ? 1 : v < 0 ? -1 : 0) }
                dImage = d.backward(gradLogits: nil, gradFeatures: gf, weightGradients: false)
            } else {
                let gl = Tensor(shape: [n, 1])
                for i in 0..<n {
                    let l = dOut.logits[i]
                    disc[i] = Loss.binaryCrossEntropyWithLogits(Tensor(shape: [1], values: [l]), target: 1)
                    gl[i] = lambda * (Loss.sigmoid(l) - 1)
                }
                dImage = d.backward(gradLogits: gl, gradFeatures: nil, weightGradients: false)
            }
            for i in 0..<n {
                let r = Loss.l1(out.items(i..<i + 1), x.items(i..<i + 1))
                XCTAssertEqual(losses[i].residual, r, accuracy: 1e-3 * r)
                XCTAssertEqual(losses[i].discrimination, disc[i], accuracy: 1e-4 * (1 + disc[i]))
                XCTAssertEqual(losses[i].total, (1 - lambda) * r + lambda * disc[i], accuracy: 1e-3 * r)
            }
            for j in 0..<gImage.count { let v = out[j] - x[j]; gImage[j] = (1 - lambda) * (v > 0 ? 1 : v < 0 ? -1 : 0) + dImage[j] }
            let dz = g.backward(gImage, weightGradients: false)
            // Adam's first step: z − lr·g/(|g| + ε), then clipping.
            let z1 = mapping.z
            for j in 0..<z0.count {
                let want = min(max(z0[j] - 0.01 * dz[j] / (abs(dz[j]) + 1e-8), -1), 1)
                XCTAssertEqual(z1[j], want, accuracy: 1e-5, "z[\(j)] \(loss)")
            }
            XCTAssertTrue(g.parameters.gradients.array.allSatisfy { $0 == 0 }, "mapping computes no weight gradients")
        }
    }

    func testMappingIsPerImageAndClipped() {
        let (g, d) = pair(seed: 5)
        var rng = SeededGenerator(seed: 6)
        let x = Tensor.uniform(shape: [3, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [3, 4], low: -1, high: 1, using: &rng)
        let batch = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching, adam: AdamSettings(learningRate: 0.3, beta1: 0.9))
        batch.reset(queries: x, z: z)
        var first: [MappingLoss] = [], last: [MappingLoss] = []
        for s in 0..<15 { let l = batch.step(); if s == 0 { first = l }; last = l }
        XCTAssertTrue(batch.z.array.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertTrue(batch.z.array.contains { abs($0) == 1 }, "a large learning rate reaches the box boundary")
        XCTAssertLessThan(last.map(\.total).reduce(0, +), first.map(\.total).reduce(0, +))
        // Image 1 mapped alone ends where it ended in the batch (BatchNorm in inference mode).
        let single = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching, adam: AdamSettings(learningRate: 0.3, beta1: 0.9))
        single.reset(queries: x.items(1..<2), z: z.items(1..<2))
        var alone: [MappingLoss] = []
        for _ in 0..<15 { alone = single.step() }
        assertNear(single.z.array, batch.z.items(1..<2).array, 1e-4, "z of image 1")
        XCTAssertEqual(alone[0].total, last[1].total, accuracy: 1e-3 * last[1].total)
    }

    func testMappingSeesChangesMadeBeforeReset() {
        let (g, d) = pair(seed: 7)
        let mapping = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching)
        var rng = SeededGenerator(seed: 8)
        // Change G and D after the mapping step exists (as loading a checkpoint does).
        for i in 0..<g.parameters.count { g.parameters.values.data[i] += rng.normal(std: 0.1) }
        for i in 0..<d.statistics.count { d.statistics.values.data[i] += rng.uniform(0, 0.3) }
        let x = Tensor.uniform(shape: [2, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [2, 4], low: -1, high: 1, using: &rng)
        mapping.reset(queries: x, z: z)
        let losses = mapping.step()
        assertNear(mapping.reconstruction.array, g.forward(z, training: false).array, 1e-5, "reconstruction uses the changed G")
        let out = d.forward(mapping.reconstruction, training: false).features, fx = d.forward(x, training: false).features
        XCTAssertEqual(losses[0].discrimination, Loss.l1(out.items(0..<1), fx.items(0..<1)), accuracy: 1e-3 * (1 + losses[0].discrimination))
    }
}
