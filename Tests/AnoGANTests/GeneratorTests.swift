// Networks/Generator.swift: the parameter names and shapes of the contract,
// DCGAN's initialisation, and G against Linear → (BN → ReLU → ConvT)×4 → tanh
// composed from the plain-Swift layer references (Double), forward (running
// statistics included) and backward, on a tiny configuration.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class GeneratorTests: XCTestCase {
    func testParameterNamesAndShapesFollowTheContract() {
        let c = DCGANConfig.paper
        let g = Generator(config: c)
        let gSpecs = Dictionary(uniqueKeysWithValues: g.parameters.specs.map { ($0.name, $0.shape) })
        XCTAssertEqual(gSpecs["project.weight"], [8192, 100])
        XCTAssertEqual(gSpecs["deconv1.weight"], [512, 256, 5, 5])
        XCTAssertEqual(gSpecs["deconv4.weight"], [64, 1, 5, 5])
        XCTAssertEqual(gSpecs["deconv4.bias"], [1])
        XCTAssertEqual(gSpecs["bn0.weight"], [512])
        XCTAssertEqual(gSpecs["bn3.bias"], [64])
        XCTAssertEqual(gSpecs.count, 1 + 4 * 2 + 4 + 1)
        XCTAssertEqual(Set(g.statistics.specs.map(\.name)), Set((0..<4).flatMap { ["bn\($0).running_mean", "bn\($0).running_var"] }))
    }

    func testInitializationFollowsDCGAN() {
        let g = Generator(config: DCGANConfig(latentDimension: 10, imageSize: 16, width: 8))
        var rng = SeededGenerator(seed: 1)
        g.initialize(using: &rng)
        let w = g.parameters.value("deconv1.weight").array
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.002)
        XCTAssertEqual(std, 0.02, accuracy: 0.002)
        let gamma = g.parameters.value("bn1.weight").array
        XCTAssertEqual(gamma.reduce(0, +) / Float(gamma.count), 1, accuracy: 0.02)
        XCTAssertTrue(g.parameters.value("bn1.bias").array.allSatisfy { $0 == 0 })
        XCTAssertTrue(g.parameters.value("deconv4.bias").array.allSatisfy { $0 == 0 })
    }

    /// G against Linear → (BN → ReLU → ConvT)×4 → tanh composed from the references, forward and backward.
    func testGeneratorMatchesReferenceComposition() {
        for (n, training) in [(2, true), (1, false), (3, false)] {
            var rng = SeededGenerator(seed: UInt64(10 + n))
            let g = Generator(config: tiny)
            g.initialize(using: &rng)
            for i in 0..<g.parameters.count { g.parameters.values.data[i] += rng.normal(std: 0.3) } // larger weights: a stronger test
            for s in g.statistics.specs { let t = g.statistics.value(s.name); for i in 0..<t.count { t.data[i] += rng.uniform(0, 0.5) } }
            let p = g.parameters, st = g.statistics
            let stats0 = d(st.values)
            let z = Tensor.uniform(shape: [n, 3], low: -1, high: 1, using: &rng)
            let out = g.forward(z, training: training)
            XCTAssertEqual(out.shape, [n, 1, 16, 16])

            // Reference forward.
            var shapes: [[Int]] = [], bnIn: [[Double]] = [], bnOut: [[Double]] = [], convIn: [[Double]] = []
            var h = Linear.referenceForward(x: d(z), batch: n, weight: d(p.value("project.weight")), bias: nil, outputFeatures: 16)
            var shape = [n, 16, 1, 1]
            var newStats: [Double] = []
            for i in 0..<4 {
                let rm = Array(stats0[statOffset(st, "bn\(i).running_mean")...].prefix(shape[1]))
                let rv = Array(stats0[statOffset(st, "bn\(i).running_var")...].prefix(shape[1]))
                let bn = BatchNorm2d.referenceForward(x: h, shape: shape, gamma: d(p.value("bn\(i).weight")), beta: d(p.value("bn\(i).bias")),
                                                      runningMean: rm, runningVariance: rv, training: training)
                newStats += bn.runningMean + bn.runningVariance
                shapes.append(shape); bnIn.append(h); bnOut.append(bn.y)
                let a = bn.y.map { max($0, 0) }
                convIn.append(a)
                let oc = i < 3 ? shape[1] / 2 : 1
                let c = ConvTranspose2d.referenceForward(x: a, shape: shape, weight: d(p.value("deconv\(i + 1).weight")),
                                                         bias: i == 3 ? d(p.value("deconv4.bias")) : nil, outputChannels: oc,
                                                         kernelSize: 5, stride: 2, padding: 2, outputPadding: 1)
                h = c.y; shape = c.shape
            }
            let yRef = h.map { tanh($0) }
            assertClose(out.array, yRef, "G forward n=\(n) training=\(training)")
            if training { assertClose(st.values.array, newStats, "G running statistics") } else { assertClose(st.values.array, stats0, "G statistics unchanged") }

            // Reference backward.
            let dy = Tensor.normal(shape: out.shape, using: &rng)
            p.zeroGradients()
            let dz = g.backward(dy, weightGradients: true)
            var grad = zip(yRef, d(dy)).map { (1 - $0 * $0) * $1 }
            for i in stride(from: 3, through: 0, by: -1) {
                let oc = i < 3 ? shapes[i][1] / 2 : 1
                let b = ConvTranspose2d.referenceBackward(x: convIn[i], shape: shapes[i], weight: d(p.value("deconv\(i + 1).weight")), gradOutput: grad,
                                                          outputChannels: oc, kernelSize: 5, stride: 2, padding: 2, outputPadding: 1)
                assertClose(p.gradient("deconv\(i + 1).weight").array, b.dw, "G deconv\(i + 1) dW")
                if i == 3 { assertClose(p.gradient("deconv4.bias").array, b.db, "G deconv4 db") }
                let dPre = zip(bnOut[i], b.dx).map { $0 > 0 ? $1 : 0 }
                let rm = Array(stats0[statOffset(st, "bn\(i).running_mean")...].prefix(shapes[i][1]))
                let rv = Array(stats0[statOffset(st, "bn\(i).running_var")...].prefix(shapes[i][1]))
                let bb = BatchNorm2d.referenceBackward(x: bnIn[i], shape: shapes[i], gamma: d(p.value("bn\(i).weight")), runningMean: rm,
                                                       runningVariance: rv, gradOutput: dPre, training: training)
                assertClose(p.gradient("bn\(i).weight").array, bb.dgamma, "G bn\(i) dγ")
                assertClose(p.gradient("bn\(i).bias").array, bb.dbeta, "G bn\(i) dβ")
                grad = bb.dx
            }
            let lb = Linear.referenceBackward(x: d(z), batch: n, weight: d(p.value("project.weight")), gradOutput: grad, outputFeatures: 16)
            assertClose(p.gradient("project.weight").array, lb.dw, "G project dW")
            assertClose(dz.array, lb.dx, "G dz n=\(n)")
            XCTAssertEqual(dz.shape, [n, 3])
        }
    }
}
