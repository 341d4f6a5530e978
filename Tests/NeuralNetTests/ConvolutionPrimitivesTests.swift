// ConvolutionGeometry (Layers/ConvolutionPrimitives.swift): output sizes are
// PyTorch's, and the right/bottom padding handed to oneDNN reproduces them.
// Oracle: oneDNN's size rule o = (n + l + r − k)/s + 1 (convolution) and
// n = (o + l + r − k)/s + 1 (transposed, n the input), with the values below
// worked out by hand.

import Records
import XCTest
@testable import NeuralNet

final class ConvolutionPrimitivesTests: XCTestCase {
    private func geometry(transposed: Bool, k: Int, s: Int, p: Int, op: Int = 0) -> ConvolutionGeometry {
        ConvolutionGeometry(transposed: transposed, inputChannels: 1, outputChannels: 1, kernelSize: k, stride: s,
                            padding: p, outputPadding: op)
    }

    func testOutputSizeAndRightPaddingMatchPyTorch() {
        // DCGAN's discriminator block: 5×5, stride 2, padding 2 halves 16 → 8 (and 7 → 4);
        // oneDNN needs right padding (8 − 1)·2 + 5 − 16 − 2 = 1 for 16 and (4 − 1)·2 + 5 − 7 − 2 = 2 for 7.
        let conv = geometry(transposed: false, k: 5, s: 2, p: 2)
        XCTAssertEqual([16, 7, 1].map(conv.outputSize), [8, 4, 1])
        XCTAssertEqual([16, 7, 1].map { conv.paddingRight(input: $0) }, [1, 2, 2])
        // The generator's block: 5×5, stride 2, padding 2, output padding 1 doubles 8 → 16; right padding
        // (8 − 1)·2 + 5 − 2 − 16 = 1.
        let deconv = geometry(transposed: true, k: 5, s: 2, p: 2, op: 1)
        XCTAssertEqual([8, 3, 1].map(deconv.outputSize), [16, 6, 2])
        XCTAssertEqual([8, 3, 1].map { deconv.paddingRight(input: $0) }, [1, 1, 1])
        // Stride 1, no padding: a 3×3 kernel trims one pixel per side; its transpose adds them back.
        XCTAssertEqual(geometry(transposed: false, k: 3, s: 1, p: 0).outputSize(5), 3)
        XCTAssertEqual(geometry(transposed: false, k: 3, s: 1, p: 0).paddingRight(input: 5), 0)
        XCTAssertEqual(geometry(transposed: true, k: 3, s: 1, p: 0).outputSize(3), 5)
        XCTAssertEqual(geometry(transposed: true, k: 3, s: 1, p: 0).paddingRight(input: 3), 0)
        // Whatever the case, oneDNN's rule with (left, right) = (padding, paddingRight) gives the same size.
        for (t, k, s, p, op) in [(false, 5, 2, 2, 0), (true, 5, 2, 2, 1), (false, 3, 1, 1, 0), (true, 3, 1, 1, 0), (false, 4, 3, 1, 0)] {
            let g = geometry(transposed: t, k: k, s: s, p: p, op: op)
            for n in 1...17 where g.outputSize(n) >= 1 {
                let o = g.outputSize(n), r = g.paddingRight(input: n)
                if t { XCTAssertEqual((o + p + r - k) / s + 1, n, "transposed k\(k) s\(s) p\(p) n\(n)") }
                else { XCTAssertEqual((n + p + r - k) / s + 1, o, "conv k\(k) s\(s) p\(p) n\(n)") }
            }
        }
    }
}
