// Conv2d and ConvTranspose2d (Layers/Convolution.swift) against their plain-Swift
// references on small odd shapes (plain and blocked channel counts, batch 1 and
// 2, fused activations), forward and backward; the references' backward against
// finite differences. Tolerances and helpers: LayerTestSupport.swift.

import Records
import XCTest
@testable import NeuralNet

final class ConvolutionTests: XCTestCase {
    func testConv2dMatchesReference() {
        var rng = SeededGenerator(seed: 3)
        // (shape, out channels, kernel, stride, padding, activation): plain (<4 channels) and blocked sides, batch 1 and 2.
        let cases: [([Int], Int, Int, Int, Int, ActivationKind?)] = [
            ([2, 3, 7, 9], 5, 3, 2, 1, nil), ([1, 1, 9, 7], 6, 5, 2, 2, .leakyReLU(slope: 0.2)),
            ([2, 6, 7, 6], 8, 5, 2, 2, nil), ([1, 5, 5, 5], 2, 3, 1, 0, .tanh),
        ]
        for (s, oc, k, st, p, act) in cases {
            let (x, xd) = randomTensor(s, &rng)
            let (w, wd) = randomTensor([oc, s[1], k, k], &rng, scale: 0.3)
            let (b, bd) = randomTensor([oc], &rng)
            let wg = Tensor(shape: w.shape), bg = Tensor(shape: [oc])
            let conv = Conv2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p,
                              weight: w, bias: b, weightGradient: wg, biasGradient: bg, activation: act)
            let ref = Conv2d.referenceForward(x: xd, shape: s, weight: wd, bias: bd, outputChannels: oc, kernelSize: k, stride: st, padding: p)
            let yRef = act.map { Activation.referenceForward($0, ref.y) } ?? ref.y
            let y = conv.forward(x)
            XCTAssertEqual(y.shape, ref.shape, "\(s)")
            assertClose(y.array, yRef, "conv fwd \(s)")
            let (dy, dyd) = randomTensor(ref.shape, &rng)
            let dPre = act.map { Activation.referenceBackward($0, output: yRef, gradOutput: dyd) } ?? dyd
            let back = Conv2d.referenceBackward(x: xd, shape: s, weight: wd, gradOutput: dPre, outputChannels: oc, kernelSize: k, stride: st, padding: p)
            let dx = conv.backward(dy, weightGradients: true)
            XCTAssertEqual(dx.shape, s)
            assertClose(dx.array, back.dx, "conv dx \(s)")
            assertClose(wg.array, back.dw, "conv dW \(s)")
            assertClose(bg.array, back.db, "conv db \(s)")
            // A second backward accumulates into the same gradient views.
            _ = conv.backward(dy, weightGradients: true)
            assertClose(wg.array, back.dw.map { 2 * $0 }, "conv dW accumulates \(s)")
        }
    }

    func testConv2dReferenceBackwardMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 4)
        let s = [2, 2, 5, 4], (oc, k, st, p) = (3, 3, 2, 1)
        let (_, xd) = randomTensor(s, &rng), (_, wd) = randomTensor([oc, 2, k, k], &rng), (_, bd) = randomTensor([oc], &rng)
        let outShape = Conv2d.referenceForward(x: xd, shape: s, weight: wd, bias: bd, outputChannels: oc, kernelSize: k, stride: st, padding: p).shape
        let (_, r) = randomTensor(outShape, &rng)
        let ref = Conv2d.referenceBackward(x: xd, shape: s, weight: wd, gradOutput: r, outputChannels: oc, kernelSize: k, stride: st, padding: p)
        let fx = finiteDifference(xd, weights: r) { Conv2d.referenceForward(x: $0, shape: s, weight: wd, bias: bd, outputChannels: oc, kernelSize: k, stride: st, padding: p).y }
        let fw = finiteDifference(wd, weights: r) { Conv2d.referenceForward(x: xd, shape: s, weight: $0, bias: bd, outputChannels: oc, kernelSize: k, stride: st, padding: p).y }
        let fb = finiteDifference(bd, weights: r) { Conv2d.referenceForward(x: xd, shape: s, weight: wd, bias: $0, outputChannels: oc, kernelSize: k, stride: st, padding: p).y }
        assertClose(ref.dx, fx, tolerance: 1e-6, "dx"); assertClose(ref.dw, fw, tolerance: 1e-6, "dW"); assertClose(ref.db, fb, tolerance: 1e-6, "db")
    }

    // MARK: ConvTranspose2d

    func testConvTranspose2dMatchesReference() {
        var rng = SeededGenerator(seed: 5)
        let cases: [([Int], Int, Int, Int, Int, Int, ActivationKind?)] = [
            ([2, 5, 3, 4], 3, 5, 2, 2, 1, nil), ([1, 6, 3, 3], 1, 5, 2, 2, 1, .tanh),
            ([2, 8, 2, 3], 6, 5, 2, 2, 1, nil), ([1, 3, 4, 3], 5, 3, 1, 1, 0, .relu),
        ]
        for (s, oc, k, st, p, op, act) in cases {
            let (x, xd) = randomTensor(s, &rng)
            let (w, wd) = randomTensor([s[1], oc, k, k], &rng, scale: 0.3)
            let (b, bd) = randomTensor([oc], &rng)
            let wg = Tensor(shape: w.shape), bg = Tensor(shape: [oc])
            let deconv = ConvTranspose2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op,
                                         weight: w, bias: b, weightGradient: wg, biasGradient: bg, activation: act)
            let ref = ConvTranspose2d.referenceForward(x: xd, shape: s, weight: wd, bias: bd, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op)
            let yRef = act.map { Activation.referenceForward($0, ref.y) } ?? ref.y
            let y = deconv.forward(x)
            XCTAssertEqual(y.shape, ref.shape, "\(s)")
            assertClose(y.array, yRef, "deconv fwd \(s)")
            let (dy, dyd) = randomTensor(ref.shape, &rng)
            let dPre = act.map { Activation.referenceBackward($0, output: yRef, gradOutput: dyd) } ?? dyd
            let back = ConvTranspose2d.referenceBackward(x: xd, shape: s, weight: wd, gradOutput: dPre, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op)
            let dx = deconv.backward(dy, weightGradients: true)
            XCTAssertEqual(dx.shape, s)
            assertClose(dx.array, back.dx, "deconv dx \(s)")
            assertClose(wg.array, back.dw, "deconv dW \(s)")
            assertClose(bg.array, back.db, "deconv db \(s)")
        }
    }

    func testConvTranspose2dReferenceBackwardMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 6)
        let s = [2, 2, 3, 2], (oc, k, st, p, op) = (3, 5, 2, 2, 1)
        let (_, xd) = randomTensor(s, &rng), (_, wd) = randomTensor([2, oc, k, k], &rng), (_, bd) = randomTensor([oc], &rng)
        func f(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            ConvTranspose2d.referenceForward(x: x, shape: s, weight: w, bias: b, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op).y
        }
        let (_, r) = randomTensor([2, oc, 6, 4], &rng)
        XCTAssertEqual(f(xd, wd, bd).count, r.count)
        let ref = ConvTranspose2d.referenceBackward(x: xd, shape: s, weight: wd, gradOutput: r, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op)
        assertClose(ref.dx, finiteDifference(xd, weights: r) { f($0, wd, bd) }, tolerance: 1e-6, "dx")
        assertClose(ref.dw, finiteDifference(wd, weights: r) { f(xd, $0, bd) }, tolerance: 1e-6, "dW")
        assertClose(ref.db, finiteDifference(bd, weights: r) { f(xd, wd, $0) }, tolerance: 1e-6, "db")
    }

    /// D's first layer (one input channel, 16 out) as the discriminator sees it: its backward data runs
    /// oneDNN's gemm kernel on plain layouts, not the JIT kernel on a side padded to 16 channels, and
    /// still equals the reference.
    func testOneChannelInputGradientRunsOnPlainLayouts() {
        var rng = SeededGenerator(seed: 6)
        let s = [2, 1, 16, 16], oc = 16
        let (x, xd) = randomTensor(s, &rng)
        let (w, wd) = randomTensor([oc, 1, 5, 5], &rng, scale: 0.3)
        let conv = Conv2d(inputChannels: 1, outputChannels: oc, kernelSize: 5, stride: 2, padding: 2, weight: w, bias: nil,
                          weightGradient: Tensor(shape: w.shape), biasGradient: nil, activation: .leakyReLU(slope: 0.2))
        let start = DNNL.implementations.count
        let ref = Conv2d.referenceForward(x: xd, shape: s, weight: wd, bias: nil, outputChannels: oc, kernelSize: 5, stride: 2, padding: 2)
        let yRef = Activation.referenceForward(.leakyReLU(slope: 0.2), ref.y)
        assertClose(conv.forward(x).array, yRef, "fwd")
        let (dy, dyd) = randomTensor(ref.shape, &rng)
        let dPre = Activation.referenceBackward(.leakyReLU(slope: 0.2), output: yRef, gradOutput: dyd)
        let back = Conv2d.referenceBackward(x: xd, shape: s, weight: wd, gradOutput: dPre, outputChannels: oc, kernelSize: 5, stride: 2, padding: 2)
        assertClose(conv.backward(dy, weightGradients: false).array, back.dx, "dx")
        let backwardData = DNNL.implementations.dropFirst(start).filter { $0.hasPrefix("conv bwd data") }
        XCTAssertEqual(backwardData.count, 1, "\(backwardData)")
        XCTAssertTrue(backwardData.allSatisfy { $0.contains("gemm") }, "\(backwardData)")
    }
}
