// Networks/Discriminator.swift: the parameter names and shapes of the contract,
// and D against (Conv → LReLU), (Conv → BN → LReLU)×3 → Linear composed from
// the plain-Swift layer references (Double), forward and backward, on a tiny
// configuration.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class DiscriminatorTests: XCTestCase {
    func testParameterNamesAndShapesFollowTheContract() {
        let c = DCGANConfig.paper
        let dis = Discriminator(config: c)
        let dSpecs = Dictionary(uniqueKeysWithValues: dis.parameters.specs.map { ($0.name, $0.shape) })
        XCTAssertEqual(dSpecs["conv1.weight"], [64, 1, 5, 5])
        XCTAssertEqual(dSpecs["conv1.bias"], [64])
        XCTAssertEqual(dSpecs["conv4.weight"], [512, 256, 5, 5])
        XCTAssertEqual(dSpecs["bn4.weight"], [512])
        XCTAssertEqual(dSpecs["classify.weight"], [1, 8192])
        XCTAssertEqual(dSpecs["classify.bias"], [1])
        XCTAssertEqual(dSpecs.count, 2 + 3 * 3 + 2)
        XCTAssertEqual(dis.statistics.value("bn2.running_var").array, [Float](repeating: 1, count: 128))
    }

    /// D against (Conv → LReLU), (Conv → BN → LReLU)×3 → Linear composed from the references.
    func testDiscriminatorMatchesReferenceComposition() {
        for (n, training) in [(2, true), (1, false)] {
            var rng = SeededGenerator(seed: UInt64(20 + n))
            let dis = Discriminator(config: tiny)
            dis.initialize(using: &rng)
            for i in 0..<dis.parameters.count { dis.parameters.values.data[i] += rng.normal(std: 0.3) }
            let p = dis.parameters, st = dis.statistics
            let x = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
            let out = dis.forward(x, training: training)
            XCTAssertEqual(out.logits.shape, [n, 1])
            XCTAssertEqual(out.features.shape, [n, 16, 1, 1])

            let lrelu = ActivationKind.leakyReLU(slope: 0.2)
            var shapes: [[Int]] = [[n, 1, 16, 16]], ins: [[Double]] = [d(x)], bnIns: [[Double]] = [[]], acts: [[Double]] = []
            let c1 = Conv2d.referenceForward(x: d(x), shape: [n, 1, 16, 16], weight: d(p.value("conv1.weight")), bias: d(p.value("conv1.bias")),
                                             outputChannels: 2, kernelSize: 5, stride: 2, padding: 2)
            var h = Activation.referenceForward(lrelu, c1.y), shape = c1.shape
            acts.append(h)
            for i in 2...4 {
                shapes.append(shape); ins.append(h)
                let c = Conv2d.referenceForward(x: h, shape: shape, weight: d(p.value("conv\(i).weight")), bias: nil,
                                                outputChannels: shape[1] * 2, kernelSize: 5, stride: 2, padding: 2)
                let bn = BatchNorm2d.referenceForward(x: c.y, shape: c.shape, gamma: d(p.value("bn\(i).weight")), beta: d(p.value("bn\(i).bias")),
                                                      runningMean: [Double](repeating: 0, count: c.shape[1]), runningVariance: [Double](repeating: 1, count: c.shape[1]),
                                                      training: training)
                bnIns.append(c.y)
                h = Activation.referenceForward(lrelu, bn.y); shape = c.shape
                acts.append(h)
            }
            let logits = Linear.referenceForward(x: h, batch: n, weight: d(p.value("classify.weight")), bias: d(p.value("classify.bias")), outputFeatures: 1)
            assertClose(out.features.array, h, "D features")
            assertClose(out.logits.array, logits, "D logits")
            if training { XCTAssertNotEqual(st.value("bn2.running_var").array, [Float](repeating: 1, count: 4)) }

            let gl = Tensor.normal(shape: [n, 1], using: &rng), gf = Tensor.normal(shape: out.features.shape, using: &rng)
            p.zeroGradients()
            let dx = dis.backward(gradLogits: gl, gradFeatures: gf, weightGradients: true)
            let lb = Linear.referenceBackward(x: h, batch: n, weight: d(p.value("classify.weight")), gradOutput: d(gl), outputFeatures: 1)
            assertClose(p.gradient("classify.weight").array, lb.dw, "D classify dW")
            assertClose(p.gradient("classify.bias").array, lb.db, "D classify db")
            var grad = zip(lb.dx, d(gf)).map { $0 + $1 }
            for i in stride(from: 4, through: 2, by: -1) {
                let k = i - 1
                grad = Activation.referenceBackward(lrelu, output: acts[k], gradOutput: grad)
                let cShape = [n, shapes[k][1] * 2, shapes[k][2] / 2, shapes[k][3] / 2]
                let bb = BatchNorm2d.referenceBackward(x: bnIns[k], shape: cShape, gamma: d(p.value("bn\(i).weight")),
                                                       runningMean: [Double](repeating: 0, count: cShape[1]), runningVariance: [Double](repeating: 1, count: cShape[1]),
                                                       gradOutput: grad, training: training)
                assertClose(p.gradient("bn\(i).weight").array, bb.dgamma, "D bn\(i) dγ")
                assertClose(p.gradient("bn\(i).bias").array, bb.dbeta, "D bn\(i) dβ")
                let cb = Conv2d.referenceBackward(x: ins[k], shape: shapes[k], weight: d(p.value("conv\(i).weight")), gradOutput: bb.dx,
                                                  outputChannels: cShape[1], kernelSize: 5, stride: 2, padding: 2)
                assertClose(p.gradient("conv\(i).weight").array, cb.dw, "D conv\(i) dW")
                grad = cb.dx
            }
            grad = Activation.referenceBackward(lrelu, output: acts[0], gradOutput: grad)
            let cb = Conv2d.referenceBackward(x: d(x), shape: [n, 1, 16, 16], weight: d(p.value("conv1.weight")), gradOutput: grad,
                                              outputChannels: 2, kernelSize: 5, stride: 2, padding: 2)
            assertClose(p.gradient("conv1.weight").array, cb.dw, "D conv1 dW")
            assertClose(p.gradient("conv1.bias").array, cb.db, "D conv1 db")
            assertClose(dx.array, cb.dx, "D dx n=\(n)")
        }
    }
}
