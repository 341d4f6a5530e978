// Loss (Losses.swift): binary cross-entropy with logits and L1, values against
// their definitions and gradients against finite differences.

import Records
import XCTest
@testable import NeuralNet

final class LossesTests: XCTestCase {
    func testLossesMatchFiniteDifferences() {
        var rng = SeededGenerator(seed: 10)
        let (x, xd) = randomTensor([5], &rng, scale: 3)
        for target: Float in [0, 1] {
            let g = Tensor(shape: [5])
            let loss = Loss.binaryCrossEntropyWithLogits(x, target: target, gradient: g)
            func bce(_ v: [Double]) -> [Double] {
                [v.map { -Double(target) * log(1 / (1 + exp(-$0))) - (1 - Double(target)) * log(1 - 1 / (1 + exp(-$0))) }.reduce(0, +) / Double(v.count)]
            }
            XCTAssertEqual(Double(loss), bce(xd)[0], accuracy: 1e-5)
            assertClose(g.array, finiteDifference(xd, weights: [1], bce), tolerance: 1e-5, "bce grad")
        }
        let (a, ad) = randomTensor([2, 3], &rng), (c, cd) = randomTensor([2, 3], &rng)
        let g = Tensor(shape: [2, 3])
        let l = Loss.l1(a, c, gradient: g)
        XCTAssertEqual(Double(l), zip(ad, cd).map { abs($0 - $1) }.reduce(0, +), accuracy: 1e-5)
        assertClose(g.array, finiteDifference(ad, weights: [1]) { v in [zip(v, cd).map { abs($0 - $1) }.reduce(0, +)] }, tolerance: 1e-5, "l1 grad")
        // Gradient at exactly zero difference is zero.
        let z = Tensor(shape: [1], values: [0.5]), gz = Tensor(shape: [1], value: 7)
        XCTAssertEqual(Loss.l1(z, z, gradient: gz), 0)
        XCTAssertEqual(gz[0], 0)
    }
}
