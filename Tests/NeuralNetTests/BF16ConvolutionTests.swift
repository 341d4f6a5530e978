// Conv2d and ConvTranspose2d in bf16 mixed precision (ConvolutionPrimitives.swift)
// against the Double references, forward, backward data and backward weights.
//
// Two oracles, both from the format's definition rather than from oneDNN:
// 1. The reference run on operands rounded to bf16 (nearest even) in Swift: the
//    kernel then differs only by f32 accumulation, |Δ| ≤ K·2⁻²⁴·Σ|a·b| (we allow 2·K·2⁻²⁴).
// 2. The reference on the exact f32 operands, element by element within the bound of
//    rounding both operands of every product to bf16 (relative 2⁻⁸ each):
//    |Δ| ≤ (2·2⁻⁸ + 2⁻¹⁶ + 2·K·2⁻²⁴)·Σ_k |a_k|·|b_k|, Σ|a||b| computed by the reference on
//    |x|, |W|, |dy|. K is the reduction length: I·k² (forward), O·k² (backward data),
//    N·OH·OW (backward weights; for a transposed convolution the roles swap).
// A third check makes these fail if bf16 silently did not run: the bf16 result must be
// farther from the exact reference than f32 rounding could explain, and the primitives
// must be oneDNN's jit kernels, not `ref:*`.

import Records
import XCTest
@testable import NeuralNet

/// `v` rounded to the nearest bf16 (ties to even), as f32.
func bf16Rounded(_ v: Float) -> Float {
    let b = v.bitPattern
    return Float(bitPattern: (b &+ 0x7FFF &+ ((b >> 16) & 1)) & 0xFFFF_0000)
}

final class BF16ConvolutionTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Precision.bf16.isSupported(), "this CPU has no AVX512-BF16 (oneDNN reports \(CPUISA.effective))")
    }

    /// Runs `body` with weight gradients from f32 operands and from bf16 operands (the default).
    private func inBothWeightGradientModes(_ body: () -> Void) {
        let saved = DNNL.bf16WeightGradients
        defer { DNNL.bf16WeightGradients = saved }
        for mode in [false, true] {
            DNNL.bf16WeightGradients = mode
            body()
        }
    }

    /// Asserts |a − exact| ≤ c(K)·bound elementwise, with c(K) = 2·2⁻⁸ + 2⁻¹⁶ + 2·K·2⁻²⁴.
    private func assertWithinBF16Bound(_ a: [Float], _ exact: [Double], _ bound: [Double], reduction k: Int, _ what: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        let c = 2 * 0x1p-8 + 0x1p-16 + 2 * Double(k) * 0x1p-24
        XCTAssertEqual(a.count, exact.count, what, file: file, line: line)
        var worst = 0.0
        for i in 0..<min(a.count, exact.count) {
            let err = abs(Double(a[i]) - exact[i])
            XCTAssertLessThanOrEqual(err, c * bound[i] + 1e-30, "\(what) [\(i)]: \(a[i]) vs \(exact[i]), bound \(c * bound[i])", file: file, line: line)
            if bound[i] > 0 { worst = max(worst, err / bound[i]) }
        }
        // bf16 really ran: some element is off by more than f32 arithmetic could make it (2⁻¹⁶ relative to Σ|a||b|).
        XCTAssertGreaterThan(worst, 0x1p-16, "\(what): no bf16 rounding visible (worst relative error \(worst))", file: file, line: line)
    }

    /// Asserts a matches the reference on bf16-rounded operands up to f32 accumulation: |Δ| ≤ 2·K·2⁻²⁴·bound + 1e-6·bound.
    private func assertMatchesRounded(_ a: [Float], _ rounded: [Double], _ bound: [Double], reduction k: Int, _ what: String,
                                      file: StaticString = #filePath, line: UInt = #line) {
        let c = 2 * Double(k) * 0x1p-24 + 1e-6
        for i in 0..<min(a.count, rounded.count) {
            XCTAssertLessThanOrEqual(abs(Double(a[i]) - rounded[i]), c * bound[i] + 1e-30,
                                     "\(what) [\(i)]: \(a[i]) vs \(rounded[i])", file: file, line: line)
        }
    }

    /// dW and db: from bf16 operands within the bf16 bounds, or, when weight gradients run on the f32
    /// operands (`Precision.bf16.weightGradientOperandType`), like an f32 convolution (1e-4 of the scale).
    private func assertWeightGradients(_ dw: [Float], _ db: [Float], exact: (dx: [Double], dw: [Double], db: [Double]),
                                       rounded: (dx: [Double], dw: [Double], db: [Double]), bound: (dx: [Double], dw: [Double], db: [Double]),
                                       reduction k: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if Precision.bf16.weightGradientOperandType == .bf16 {
            assertMatchesRounded(dw, rounded.dw, bound.dw, reduction: k, "\(what) dW", file: file, line: line)
            assertWithinBF16Bound(dw, exact.dw, bound.dw, reduction: k, "\(what) dW", file: file, line: line)
            // db = Σ dy over the batch and positions, from the bf16 copy of dy: one rounding per term.
            assertMatchesRounded(db, rounded.db, bound.db, reduction: k, "\(what) db", file: file, line: line)
        } else {
            assertClose(dw, exact.dw, "\(what) dW (f32 operands)", file: file, line: line)
            assertClose(db, exact.db, "\(what) db (f32 operands)", file: file, line: line)
        }
    }

    private func assertJitBF16(since start: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let made = DNNL.implementations.dropFirst(start).filter { $0.contains("conv") }
        XCTAssertFalse(made.isEmpty, what, file: file, line: line)
        for impl in made {
            XCTAssertFalse(impl.contains(": ref"), "\(what): reference kernel \(impl)", file: file, line: line)
            if impl.contains("bwd weights") && Precision.bf16.weightGradientOperandType == .f32 { continue }
            // Blocked sides run jit_bf16:avx512_core_bf16; plain (<4-channel) sides oneDNN's bf16 GEMM convolution,
            // named x64:gemm:jit like its f32 sibling (ONEDNN_VERBOSE shows src_bf16/wei_bf16 there).
            XCTAssertTrue(impl.contains("jit_bf16") || impl.contains("gemm:jit"), "\(what): not a jit bf16 kernel: \(impl)", file: file, line: line)
        }
    }

    func testConv2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() {
        inBothWeightGradientModes { checkConv2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() }
    }

    private func checkConv2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() {
        var rng = SeededGenerator(seed: 21)
        // (shape, out channels, kernel, stride, padding): D's 1-channel first conv, a blocked middle one, few outputs.
        let cases: [([Int], Int, Int, Int, Int)] = [([2, 1, 12, 10], 8, 5, 2, 2), ([2, 16, 8, 8], 32, 5, 2, 2), ([1, 8, 6, 6], 3, 3, 1, 1)]
        for (s, oc, k, st, p) in cases {
            let start = DNNL.implementations.count
            let (x, xd) = randomTensor(s, &rng)
            let (w, wd) = randomTensor([oc, s[1], k, k], &rng, scale: 0.3)
            let (b, bd) = randomTensor([oc], &rng)
            let wg = Tensor(shape: w.shape), bg = Tensor(shape: [oc])
            let conv = Conv2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p, weight: w, bias: b,
                              weightGradient: wg, biasGradient: bg, precision: .bf16)
            func fwd(_ x: [Double], _ w: [Double], _ b: [Double]?) -> (y: [Double], shape: [Int]) {
                Conv2d.referenceForward(x: x, shape: s, weight: w, bias: b, outputChannels: oc, kernelSize: k, stride: st, padding: p)
            }
            func bwd(_ x: [Double], _ w: [Double], _ dy: [Double]) -> (dx: [Double], dw: [Double], db: [Double]) {
                Conv2d.referenceBackward(x: x, shape: s, weight: w, gradOutput: dy, outputChannels: oc, kernelSize: k, stride: st, padding: p)
            }
            let r = { (v: [Double]) in v.map { Double(bf16Rounded(Float($0))) } }
            let exact = fwd(xd, wd, bd), rounded = fwd(r(xd), r(wd), bd), bound = fwd(xd.map(abs), wd.map(abs), nil).y
            let y = conv.forward(x)
            XCTAssertEqual(y.shape, exact.shape)
            let kFwd = s[1] * k * k
            assertMatchesRounded(y.array, rounded.y, bound, reduction: kFwd, "conv fwd \(s)")
            assertWithinBF16Bound(y.array, exact.y, bound, reduction: kFwd, "conv fwd \(s)")

            let (dy, dyd) = randomTensor(exact.shape, &rng)
            let dx = conv.backward(dy, weightGradients: true)
            let ex = bwd(xd, wd, dyd), ro = bwd(r(xd), r(wd), r(dyd)), bd2 = bwd(xd.map(abs), wd.map(abs), dyd.map(abs))
            let kData = oc * k * k, kWeights = s[0] * exact.shape[2] * exact.shape[3]
            assertMatchesRounded(dx.array, ro.dx, bd2.dx, reduction: kData, "conv dx \(s)")
            assertWithinBF16Bound(dx.array, ex.dx, bd2.dx, reduction: kData, "conv dx \(s)")
            assertWeightGradients(wg.array, bg.array, exact: ex, rounded: ro, bound: bd2, reduction: kWeights, "conv \(s)")
            assertJitBF16(since: start, "conv \(s)")
        }
    }

    func testConvTranspose2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() {
        inBothWeightGradientModes { checkConvTranspose2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() }
    }

    private func checkConvTranspose2dInBF16StaysWithinTheRoundingBoundOfTheF32Reference() {
        var rng = SeededGenerator(seed: 22)
        // G's shapes in small: a blocked middle deconvolution and the last one to 1 channel, plain output, with tanh.
        let cases: [([Int], Int, Bool)] = [([2, 32, 4, 4], 16, false), ([2, 16, 6, 6], 1, true)]
        for (s, oc, last) in cases {
            let (k, st, p, op) = (5, 2, 2, 1)
            let start = DNNL.implementations.count
            let (x, xd) = randomTensor(s, &rng)
            let (w, wd) = randomTensor([s[1], oc, k, k], &rng, scale: 0.3)
            let (b, bd) = randomTensor([oc], &rng)
            let wg = Tensor(shape: w.shape), bg = Tensor(shape: [oc])
            let deconv = ConvTranspose2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op,
                                         weight: w, bias: b, weightGradient: wg, biasGradient: bg, plainOutput: last, precision: .bf16)
            func fwd(_ x: [Double], _ w: [Double], _ b: [Double]?) -> (y: [Double], shape: [Int]) {
                ConvTranspose2d.referenceForward(x: x, shape: s, weight: w, bias: b, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op)
            }
            func bwd(_ x: [Double], _ w: [Double], _ dy: [Double]) -> (dx: [Double], dw: [Double], db: [Double]) {
                ConvTranspose2d.referenceBackward(x: x, shape: s, weight: w, gradOutput: dy, outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op)
            }
            let r = { (v: [Double]) in v.map { Double(bf16Rounded(Float($0))) } }
            let exact = fwd(xd, wd, bd), rounded = fwd(r(xd), r(wd), bd), bound = fwd(xd.map(abs), wd.map(abs), nil).y
            let y = deconv.forward(x)
            XCTAssertEqual(y.shape, exact.shape)
            let kFwd = s[1] * k * k
            assertMatchesRounded(y.array, rounded.y, bound, reduction: kFwd, "deconv fwd \(s)")
            assertWithinBF16Bound(y.array, exact.y, bound, reduction: kFwd, "deconv fwd \(s)")

            let (dy, dyd) = randomTensor(exact.shape, &rng)
            let dx = deconv.backward(dy, weightGradients: true)
            let ex = bwd(xd, wd, dyd), ro = bwd(r(xd), r(wd), r(dyd)), bd2 = bwd(xd.map(abs), wd.map(abs), dyd.map(abs))
            let kData = oc * k * k, kWeights = s[0] * s[2] * s[3] * 4
            assertMatchesRounded(dx.array, ro.dx, bd2.dx, reduction: kData, "deconv dx \(s)")
            assertWithinBF16Bound(dx.array, ex.dx, bd2.dx, reduction: kData, "deconv dx \(s)")
            assertWeightGradients(wg.array, bg.array, exact: ex, rounded: ro, bound: bd2, reduction: kWeights, "deconv \(s)")
            assertJitBF16(since: start, "deconv \(s)")
        }
    }

    func testFusedActivationsInBF16StayWithinTheBoundOfTheirLipschitzConstantOne() {
        // tanh and LeakyReLU are 1-Lipschitz, so the forward bound carries through them unchanged.
        var rng = SeededGenerator(seed: 23)
        for act in [ActivationKind.leakyReLU(slope: 0.2), .tanh] {
            let s = [2, 1, 12, 12], (oc, k) = (8, 5)
            let (x, xd) = randomTensor(s, &rng)
            let (w, wd) = randomTensor([oc, 1, k, k], &rng, scale: 0.3)
            let conv = Conv2d(inputChannels: 1, outputChannels: oc, kernelSize: k, stride: 2, padding: 2, weight: w, activation: act, precision: .bf16)
            let exact = Conv2d.referenceForward(x: xd, shape: s, weight: wd, bias: nil, outputChannels: oc, kernelSize: k, stride: 2, padding: 2)
            let bound = Conv2d.referenceForward(x: xd.map(abs), shape: s, weight: wd.map(abs), bias: nil, outputChannels: oc, kernelSize: k, stride: 2, padding: 2).y
            assertWithinBF16Bound(conv.forward(x).array, Activation.referenceForward(act, exact.y), bound, reduction: k * k, "\(act)")
        }
    }

    func testGemmWeightGradientsMatchTheBF16RoundedReference() {
        // im2col + bf16 matmul (GemmWeightGradient), forced on for small bias-free layers: a convolution whose
        // taps reach past every edge, a transposed one with output padding, and one with few channels.
        let saved = DNNL.bf16GemmWeightGradients
        defer { DNNL.bf16GemmWeightGradients = saved }
        DNNL.bf16GemmWeightGradients = true
        var rng = SeededGenerator(seed: 25)
        let r = { (v: [Double]) in v.map { Double(bf16Rounded(Float($0))) } }
        // (transposed, x shape, out channels, kernel, stride, padding, output padding)
        let cases: [(Bool, [Int], Int, Int, Int, Int, Int)] = [
            (false, [2, 16, 8, 8], 32, 5, 2, 2, 0), (false, [3, 8, 7, 5], 16, 3, 1, 1, 0),
            (true, [2, 32, 4, 4], 16, 5, 2, 2, 1), (true, [2, 16, 3, 5], 8, 3, 2, 1, 1),
        ]
        for (transposed, s, oc, k, st, p, op) in cases {
            let start = DNNL.implementations.count
            let (x, xd) = randomTensor(s, &rng)
            let wShape = transposed ? [s[1], oc, k, k] : [oc, s[1], k, k]
            let (w, wd) = randomTensor(wShape, &rng, scale: 0.3)
            let wg = Tensor(shape: wShape)
            wg.data.update(repeating: 0.25, count: wg.count)  // the gradient is added, not written
            let what = "\(transposed ? "deconv" : "conv") \(s)→\(oc) k\(k) s\(st)"
            let y: Tensor, dy: Tensor, dyd: [Double]
            let bwd: ([Double], [Double], [Double]) -> (dx: [Double], dw: [Double], db: [Double])
            if transposed {
                let layer = ConvTranspose2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p, outputPadding: op,
                                            weight: w, weightGradient: wg, precision: .bf16)
                y = layer.forward(x)
                (dy, dyd) = randomTensor(y.shape, &rng)
                _ = layer.backward(dy, weightGradients: true)
                bwd = { ConvTranspose2d.referenceBackward(x: $0, shape: s, weight: $1, gradOutput: $2, outputChannels: oc, kernelSize: k,
                                                          stride: st, padding: p, outputPadding: op) }
            } else {
                let layer = Conv2d(inputChannels: s[1], outputChannels: oc, kernelSize: k, stride: st, padding: p,
                                   weight: w, weightGradient: wg, precision: .bf16)
                y = layer.forward(x)
                (dy, dyd) = randomTensor(y.shape, &rng)
                _ = layer.backward(dy, weightGradients: true)
                bwd = { Conv2d.referenceBackward(x: $0, shape: s, weight: $1, gradOutput: $2, outputChannels: oc, kernelSize: k, stride: st, padding: p) }
            }
            let exact = bwd(xd, wd, dyd), rounded = bwd(r(xd), wd, r(dyd)), bound = bwd(xd.map(abs), wd.map(abs), dyd.map(abs))
            let reduction = transposed ? s[0] * s[2] * s[3] : s[0] * y.shape[2] * y.shape[3]
            let dw = wg.array.map { $0 - 0.25 }
            assertMatchesRounded(dw, rounded.dw, bound.dw, reduction: reduction, "\(what) dW")
            assertWithinBF16Bound(dw, exact.dw, bound.dw, reduction: reduction, "\(what) dW")
            let made = DNNL.implementations.dropFirst(start)
            XCTAssertTrue(made.contains { $0.hasPrefix("gemm weight gradient") && !$0.contains(": ref") }, "\(what): \(Array(made))")
            XCTAssertFalse(made.contains { $0.contains("bwd weights") }, "\(what): the direct kernel ran too: \(Array(made))")
        }
    }

    func testGemmWeightGradientsAreChosenForTheDeepestFullSizeLayersOnly() {
        func applies(_ transposed: Bool, _ x: [Int], _ oc: Int, bias: Bool = false) -> Bool {
            let g = ConvolutionGeometry(transposed: transposed, inputChannels: x[1], outputChannels: oc, kernelSize: 5, stride: 2,
                                        padding: 2, outputPadding: transposed ? 1 : 0, operandType: .bf16, weightGradientType: .bf16)
            return GemmWeightGradient.applies(g, sourceDims: x, hasBias: bias)
        }
        let saved = DNNL.bf16GemmWeightGradients
        defer { DNNL.bf16GemmWeightGradients = saved }
        DNNL.bf16GemmWeightGradients = nil
        XCTAssertTrue(applies(false, [64, 256, 8, 8], 512), "D's 256→512 to 4×4")
        XCTAssertTrue(applies(true, [64, 512, 4, 4], 256), "G's 512→256 from 4×4")
        XCTAssertFalse(applies(false, [64, 128, 16, 16], 256), "D's 128→256 to 8×8")
        XCTAssertFalse(applies(true, [64, 256, 8, 8], 128), "G's 256→128 from 8×8")
        XCTAssertFalse(applies(false, [64, 256, 8, 8], 512, bias: true), "a bias needs the direct kernel")
        XCTAssertFalse(applies(false, [32, 64, 8, 8], 128), "the demo's narrow model")
        DNNL.bf16GemmWeightGradients = false
        XCTAssertFalse(applies(false, [64, 256, 8, 8], 512))
    }

    func testF32ConvolutionsAreUnchangedByThePrecisionSetting() {
        // f32 is the default and must stay bit-identical to a layer built without naming a precision.
        var rng = SeededGenerator(seed: 24)
        let (x, _) = randomTensor([2, 8, 8, 8], &rng), (w, _) = randomTensor([16, 8, 5, 5], &rng, scale: 0.3)
        let a = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 5, stride: 2, padding: 2, weight: w)
        let b = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 5, stride: 2, padding: 2, weight: w, precision: .f32)
        let c = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 5, stride: 2, padding: 2, weight: w, precision: .bf16)
        XCTAssertEqual(a.forward(x).array, b.forward(x).array)
        XCTAssertNotEqual(a.forward(x).array, c.forward(x).array)
    }
}
