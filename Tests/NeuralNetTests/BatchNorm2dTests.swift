// BatchNorm2d (Layers/BatchNorm2d.swift) against its plain-Swift reference in
// training and inference mode, with and without the fused ReLU, running
// statistics included; segmented batches (one call, separate statistics) against
// separate reference calls; the reference's backward against finite differences.

import Records
import XCTest
import CDNNL
@testable import NeuralNet

final class BatchNorm2dTests: XCTestCase {
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
}
