// Encoder.swift: the aCAE encoder's hand-written backward against central finite
// differences (input and weights, training and inference mode).

import XCTest
import Foundation
import NeuralNet
import Records
@testable import AnoGAN

final class EncoderTests: ACAEGradientTestCase {
    func testEncoderGradientsMatchFiniteDifferences() {
        for training in [true, false] {
            var rng = SeededGenerator(seed: 7)
            let config = tinyConfig(size: 32)
            let encoder = Encoder(config: config)
            encoder.initialize(using: &rng)
            // Larger weights than DCGAN's 0.02 so every layer matters, yet tanh is not saturated.
            for i in 0..<encoder.parameters.count { encoder.parameters.values.data[i] *= 4 }
            let codeWeight = encoder.parameters.value("code.weight")
            for i in 0..<codeWeight.count { codeWeight.data[i] *= 0.3 }
            if !training {  // non-trivial running statistics
                for i in 0..<encoder.statistics.count { encoder.statistics.values.data[i] = encoder.statistics.values.data[i] == 0 ? 0.01 : 0.4 }
            }
            // Batch 4 at 32×32 so training-mode BatchNorm of the last block normalises over 4·2·2 values, not 2.
            let x = Tensor.uniform(shape: [4, 1, 32, 32], low: -1, high: 1, using: &rng)
            let codes = encoder.forward(x, training: training)
            XCTAssertEqual(codes.shape, [4, 3])
            XCTAssertTrue(codes.array.allSatisfy { abs($0) < 0.99 } && codes.array.contains { abs($0) > 0.05 }, "tanh code in (-1, 1), away from 0 and ±1: \(codes.array)")
            let c = Tensor.uniform(shape: codes.shape, low: -1, high: 1, using: &rng)
            encoder.parameters.zeroGradients()
            let gradX = encoder.backward(c, weightGradients: true)
            let stats = encoder.statistics.values.copy()
            func loss() -> Double {
                let y = encoder.forward(x, training: training)
                encoder.statistics.values.assign(from: stats)  // training-mode forwards must not drift the running stats
                return weightedSum(y, c)
            }
            // LeakyReLU kinks bias wide differences (a bias step moves every position of a channel), so the
            // step is small; the tolerance covers Float32 rounding of the loss divided by 2·eps.
            let eps: Float = 2e-4
            checkGradient(x, gradX, at: [0, 37, 130, 555, 1300, 4095], eps: eps, "dL/dx training=\(training)", loss: loss)
            for name in ["conv1.weight", "conv1.bias", "conv3.weight", "bn2.weight", "bn4.bias", "code.weight", "code.bias"] {
                let value = encoder.parameters.value(name)
                checkGradient(value, encoder.parameters.gradient(name), at: Array(Set([0, value.count / 2, value.count - 1])).sorted(),
                              eps: eps, "\(name) training=\(training)", loss: loss)
            }
        }
    }
}
