// The finite-difference plumbing of the aCAE gradient tests (EncoderTests,
// AdversarialAutoencoderTests): a tiny configuration, a weighted-sum loss and a
// central-difference check of chosen gradient entries.

import XCTest
import Foundation
import NeuralNet
import Records
@testable import AnoGAN

class ACAEGradientTestCase: XCTestCase {
    func tinyConfig(size: Int = 16) -> DCGANConfig { DCGANConfig(latentDimension: 3, imageSize: size, width: 2, channels: 1) }

    /// Σ c·y for fixed random weights c: a scalar loss with dL/dy = c.
    func weightedSum(_ y: Tensor, _ c: Tensor) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(c.data[i]) }
        return s
    }

    /// Relative agreement of an analytic and a finite-difference derivative.
    func assertClose(_ analytic: Double, _ numeric: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let tolerance = 3e-2 * max(1, abs(numeric), abs(analytic))
        XCTAssertEqual(analytic, numeric, accuracy: tolerance, what, file: file, line: line)
    }

    /// Compares `gradient[i]` with the central difference of `loss` over `value[i]` for each index.
    func checkGradient(_ value: Tensor, _ gradient: Tensor, at indices: [Int], eps: Float, _ what: String,
                               loss: () -> Double, file: StaticString = #filePath, line: UInt = #line) {
        for index in indices {
            let old = value.data[index]
            value.data[index] = old + eps; let plus = loss()
            value.data[index] = old - eps; let minus = loss()
            value.data[index] = old
            assertClose(Double(gradient.data[index]), (plus - minus) / Double(2 * eps), "\(what)[\(index)]", file: file, line: line)
        }
    }
}
