// Linear (Layers/Linear.swift) against its plain-Swift reference, forward and
// backward, on batch 1 and > 1; the reference's backward against finite
// differences. Tolerances and helpers: LayerTestSupport.swift.

import Records
import XCTest
@testable import NeuralNet

final class LinearTests: XCTestCase {
    func testLinearMatchesReference() {
        var rng = SeededGenerator(seed: 1)
        for (n, inShape, o) in [(3, [7], 5), (1, [7], 5), (2, [3, 2, 3], 4)] {
            let f = inShape.reduce(1, *)
            let (x, xd) = randomTensor([n] + inShape, &rng)
            let (w, wd) = randomTensor([o, f], &rng)
            let (b, bd) = randomTensor([o], &rng)
            let wg = Tensor(shape: [o, f], value: 0.5), bg = Tensor(shape: [o], value: -0.25)
            let layer = Linear(inputFeatures: f, outputFeatures: o, weight: w, bias: b, weightGradient: wg, biasGradient: bg)
            let y = layer.forward(x)
            XCTAssertEqual(y.shape, [n, o])
            assertClose(y.array, Linear.referenceForward(x: xd, batch: n, weight: wd, bias: bd, outputFeatures: o), "linear fwd")
            let (dy, dyd) = randomTensor([n, o], &rng)
            let dx = layer.backward(dy, weightGradients: true)
            XCTAssertEqual(dx.shape, x.shape)
            let ref = Linear.referenceBackward(x: xd, batch: n, weight: wd, gradOutput: dyd, outputFeatures: o)
            assertClose(dx.array, ref.dx, "linear dx")
            assertClose(wg.array, ref.dw.map { $0 + 0.5 }, "linear dW accumulates")
            assertClose(bg.array, ref.db.map { $0 - 0.25 }, "linear db accumulates")
        }
    }

    func testLinearReferenceBackwardMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 2)
        let (n, f, o) = (2, 3, 4)
        let (_, xd) = randomTensor([n, f], &rng), (_, wd) = randomTensor([o, f], &rng), (_, bd) = randomTensor([o], &rng)
        let (_, r) = randomTensor([n, o], &rng)
        let ref = Linear.referenceBackward(x: xd, batch: n, weight: wd, gradOutput: r, outputFeatures: o)
        assertClose(ref.dx, finiteDifference(xd, weights: r) { Linear.referenceForward(x: $0, batch: n, weight: wd, bias: bd, outputFeatures: o) }, tolerance: 1e-6, "dx")
        assertClose(ref.dw, finiteDifference(wd, weights: r) { Linear.referenceForward(x: xd, batch: n, weight: $0, bias: bd, outputFeatures: o) }, tolerance: 1e-6, "dW")
        assertClose(ref.db, finiteDifference(bd, weights: r) { Linear.referenceForward(x: xd, batch: n, weight: wd, bias: $0, outputFeatures: o) }, tolerance: 1e-6, "db")
    }
}
