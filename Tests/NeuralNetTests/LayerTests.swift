// Every oneDNN-backed layer against its plain-Swift reference on small odd
// shapes (batch 1 and > 1), forward and backward. Tolerance: 1e-4 relative to
// the reference's largest magnitude (Float32 kernels vs Double references).

import Records
import XCTest
import CDNNL
@testable import NeuralNet

final class LayerTests: XCTestCase {
    // MARK: Linear

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

    // MARK: Conv2d

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

    // MARK: BatchNorm2d

    func testBatchNorm2dMatchesReference() {
        var rng = SeededGenerator(seed: 7)
        for (s, training, relu) in [([3, 5, 3, 2], true, false), ([2, 16, 3, 3], true, true), ([1, 5, 3, 3], false, false),
                                    ([2, 6, 2, 3], false, true), ([1, 4, 3, 2], true, false)] {
            let c = s[1]
            let (x, xd) = randomTensor(s, &rng, scale: 2)
            let (g, gd) = randomTensor([c], &rng); let (b, bd) = randomTensor([c], &rng)
            let rm = Tensor.uniform(shape: [c], low: -0.5, high: 0.5, using: &rng), rv = Tensor.uniform(shape: [c], low: 0.5, high: 2, using: &rng)
            let (rmd, rvd) = (doubles(rm), doubles(rv))
            let gg = Tensor(shape: [c]), bg = Tensor(shape: [c])
            let bn = BatchNorm2d(channels: c, weight: g, bias: b, runningMean: rm, runningVariance: rv, weightGradient: gg, biasGradient: bg, fusedReLU: relu)
            let ref = BatchNorm2d.referenceForward(x: xd, shape: s, gamma: gd, beta: bd, runningMean: rmd, runningVariance: rvd, training: training)
            let yRef = relu ? Activation.referenceForward(.relu, ref.y) : ref.y
            let y = bn.forward(x, training: training)
            assertClose(y.array, yRef, "bn fwd \(s) training=\(training)")
            assertClose(rm.array, ref.runningMean, "running mean \(s)")
            assertClose(rv.array, ref.runningVariance, "running var \(s)")
            let (dy, dyd) = randomTensor(s, &rng)
            let dPre = relu ? zip(yRef, dyd).map { $0 > 0 ? $1 : 0 } : dyd
            let back = BatchNorm2d.referenceBackward(x: xd, shape: s, gamma: gd, runningMean: rmd, runningVariance: rvd, gradOutput: dPre, training: training)
            let dx = bn.backward(dy, weightGradients: true)
            assertClose(dx.array, back.dx, "bn dx \(s) training=\(training)")
            assertClose(gg.array, back.dgamma, "bn dγ \(s)")
            assertClose(bg.array, back.dbeta, "bn dβ \(s)")
            let dx2 = bn.backward(dy, weightGradients: false)
            assertClose(dx2.array, back.dx, "bn dx (data only) \(s)")
            assertClose(gg.array, back.dgamma, "bn dγ untouched by data-only backward \(s)")
        }
    }

    func testSegmentedBatchNormMatchesSeparateCalls() {
        var rng = SeededGenerator(seed: 11)
        let (c, seg) = (16, [2, 16, 3, 3])
        let (x, xd) = randomTensor([4, 16, 3, 3], &rng, scale: 2)
        let (g, gd) = randomTensor([c], &rng); let (b, bd) = randomTensor([c], &rng)
        let rm = Tensor(shape: [c]), rv = Tensor(shape: [c], value: 1), gg = Tensor(shape: [c]), bg = Tensor(shape: [c])
        let bn = BatchNorm2d(channels: c, weight: g, bias: b, runningMean: rm, runningVariance: rv, weightGradient: gg, biasGradient: bg)
        // Blocked layout, as inside the discriminator.
        let xm = DNNLMemory(desc: DNNL.desc([4, 16, 3, 3], dnnl_aBcd16b, type: .f32))
        xm.assign(from: xm.converting(DNNLMemory(plain: x)))
        let y = bn.forward(xm, training: true, segments: 2).plainCopy()
        let half = xd.count / 2
        let r1 = BatchNorm2d.referenceForward(x: Array(xd[..<half]), shape: seg, gamma: gd, beta: bd, runningMean: [Double](repeating: 0, count: c),
                                              runningVariance: [Double](repeating: 1, count: c), training: true)
        let r2 = BatchNorm2d.referenceForward(x: Array(xd[half...]), shape: seg, gamma: gd, beta: bd, runningMean: r1.runningMean,
                                              runningVariance: r1.runningVariance, training: true)
        assertClose(y.array, r1.y + r2.y, "segmented forward")
        assertClose(rm.array, r2.runningMean, "running mean after both segments")
        assertClose(rv.array, r2.runningVariance, "running var after both segments")
        let (dy, dyd) = randomTensor([4, 16, 3, 3], &rng)
        let dym = xm.converting(DNNLMemory(plain: dy))
        let dx = bn.backward(dym, weightGradients: true).plainCopy()
        let b1 = BatchNorm2d.referenceBackward(x: Array(xd[..<half]), shape: seg, gamma: gd, runningMean: [Double](repeating: 0, count: c), runningVariance: [Double](repeating: 1, count: c), gradOutput: Array(dyd[..<half]), training: true)
        let b2 = BatchNorm2d.referenceBackward(x: Array(xd[half...]), shape: seg, gamma: gd, runningMean: [Double](repeating: 0, count: c), runningVariance: [Double](repeating: 1, count: c), gradOutput: Array(dyd[half...]), training: true)
        assertClose(dx.array, b1.dx + b2.dx, "segmented dx")
        assertClose(gg.array, zip(b1.dgamma, b2.dgamma).map { $0 + $1 }, "segmented dγ")
        assertClose(bg.array, zip(b1.dbeta, b2.dbeta).map { $0 + $1 }, "segmented dβ")
    }

    func testBatchNorm2dReferenceBackwardMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 8)
        let s = [3, 2, 2, 3]
        let (_, xd) = randomTensor(s, &rng), (_, gd) = randomTensor([2], &rng), (_, bd) = randomTensor([2], &rng)
        let rm = [0.1, -0.2], rv = [0.7, 1.3]
        let (_, r) = randomTensor(s, &rng)
        for training in [true, false] {
            func f(_ x: [Double], _ g: [Double], _ b: [Double]) -> [Double] {
                BatchNorm2d.referenceForward(x: x, shape: s, gamma: g, beta: b, runningMean: rm, runningVariance: rv, training: training).y
            }
            let ref = BatchNorm2d.referenceBackward(x: xd, shape: s, gamma: gd, runningMean: rm, runningVariance: rv, gradOutput: r, training: training)
            assertClose(ref.dx, finiteDifference(xd, weights: r) { f($0, gd, bd) }, tolerance: 1e-6, "dx training=\(training)")
            assertClose(ref.dgamma, finiteDifference(gd, weights: r) { f(xd, $0, bd) }, tolerance: 1e-6, "dγ")
            assertClose(ref.dbeta, finiteDifference(bd, weights: r) { f(xd, gd, $0) }, tolerance: 1e-6, "dβ")
        }
    }

    // MARK: Activations

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

    // MARK: Losses

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
