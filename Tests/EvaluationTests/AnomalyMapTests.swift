// AnomalyMap.swift: the Gaussian smoothing of residual maps, against a direct 2-D
// convolution with the same kernel and mirror padding written out here, and on
// inputs whose answer is known by hand.

import XCTest
import Records
@testable import Evaluation

final class AnomalyMapTests: XCTestCase {
    func testKernelIsANormalisedGaussianOfSide2Ceil2SigmaPlus1() {
        let k = AnomalyMap.gaussianKernel(sigma: 1)
        XCTAssertEqual(k.count, 5)
        XCTAssertEqual(k.reduce(0, +), 1, accuracy: 1e-6)
        // exp(−1/2) / (1 + 2e^(−1/2) + 2e^(−2)) by hand.
        XCTAssertEqual(Double(k[1]), exp(-0.5) / (1 + 2 * exp(-0.5) + 2 * exp(-2)), accuracy: 1e-6)
        XCTAssertEqual(AnomalyMap.gaussianKernel(sigma: 4).count, 17)
    }

    func testReflectMirrorsWithoutRepeatingTheEdge() {
        XCTAssertEqual((-4...7).map { AnomalyMap.reflect($0, 4) }, [2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1])
        XCTAssertEqual(AnomalyMap.reflect(5, 1), 0)
    }

    func testSmoothingEqualsADirect2DConvolutionWithMirrorPadding() {
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.uniform(shape: [2, 1, 7, 9], low: 0, high: 1, using: &rng)
        let sigma = 1.3
        let y = AnomalyMap.smoothed(x, sigma: sigma)
        let k = AnomalyMap.gaussianKernel(sigma: sigma).map(Double.init), r = k.count / 2
        for n in 0..<2 {
            for i in 0..<7 {
                for j in 0..<9 {
                    var s = 0.0
                    for a in -r...r {
                        for b in -r...r {
                            s += k[a + r] * k[b + r] * Double(x.data[n * 63 + AnomalyMap.reflect(i + a, 7) * 9 + AnomalyMap.reflect(j + b, 9)])
                        }
                    }
                    XCTAssertEqual(Double(y.data[n * 63 + i * 9 + j]), s, accuracy: 1e-5)
                }
            }
        }
    }

    func testConstantStaysConstantAndSigmaZeroIsTheIdentity() {
        let c = Tensor(shape: [1, 1, 6, 6], values: [Float](repeating: 0.25, count: 36))
        XCTAssertTrue(AnomalyMap.smoothed(c, sigma: 4).array.allSatisfy { abs($0 - 0.25) < 1e-6 })
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.uniform(shape: [1, 1, 5, 5], low: -1, high: 1, using: &rng)
        XCTAssertEqual(AnomalyMap.smoothed(x, sigma: 0).array, x.array)
    }

    /// A fine-grained checkerboard (speckle) is averaged away while a blob survives:
    /// the reason for smoothing.
    func testSmoothingKeepsABlobAndRemovesFineGrain() {
        var values = [Float](repeating: 0, count: 32 * 32)
        for i in 0..<32 { for j in 0..<32 { values[i * 32 + j] = (i + j) % 2 == 0 ? 1 : 0 } }
        for i in 12..<20 { for j in 12..<20 { values[i * 32 + j] = 3 } }
        let y = AnomalyMap.smoothed(Tensor(shape: [1, 1, 32, 32], values: values), sigma: 2).array
        XCTAssertEqual(Double(y[3 * 32 + 3]), 0.5, accuracy: 0.01, "the checkerboard becomes its mean")
        XCTAssertGreaterThan(y[16 * 32 + 16], 2, "the blob's centre stays high")
    }
}
