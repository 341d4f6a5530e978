// Activation (Layers/Activation.swift): every kind against its plain-Swift
// reference, forward and backward, and the reference's derivative against
// finite differences.

import Records
import XCTest
@testable import NeuralNet

final class ActivationTests: XCTestCase {
    func testActivationsMatchReference() {
        var rng = SeededGenerator(seed: 9)
        for kind in [ActivationKind.relu, .leakyReLU(slope: 0.2), .tanh, .sigmoid] {
            for s in [[3, 5, 3, 2], [1, 7]] {
                let (x, xd) = randomTensor(s, &rng, scale: 2)
                let layer = Activation(kind)
                let y = layer.forward(x)
                let yRef = Activation.referenceForward(kind, xd)
                assertClose(y.array, yRef, "\(kind) fwd")
                let (dy, dyd) = randomTensor(s, &rng)
                assertClose(layer.backward(dy).array, Activation.referenceBackward(kind, output: yRef, gradOutput: dyd), "\(kind) bwd")
                // Finite differences on the reference (points near the ReLU kink excluded by the draw's scale).
                let (_, r) = randomTensor(s, &rng)
                let fd = finiteDifference(xd, weights: r) { Activation.referenceForward(kind, $0) }
                assertClose(Activation.referenceBackward(kind, output: yRef, gradOutput: r), fd, tolerance: 1e-6, "\(kind) fd")
            }
        }
    }
}
