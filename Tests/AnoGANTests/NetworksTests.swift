// The DCGAN generator and discriminator against the same networks composed
// from the plain-Swift layer references (Double), forward and backward, on a
// tiny configuration; the parameter names and shapes for a DCGANConfig; and
// GANTrainingStep and LatentMappingStep against the same procedures written
// out with the networks' public forward/backward, the losses and Adam (the
// step order of GANTrainingStep, gradient routing, per-image independence of the
// mapping, clipping).

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

private func d(_ t: Tensor) -> [Double] { t.array.map(Double.init) }

private func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 2e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    let scale = 1 + (b.map(abs).max() ?? 0)
    var worst = 0.0
    for i in 0..<min(a.count, b.count) { worst = max(worst, abs(Double(a[i]) - b[i])) }
    XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(what): worst error \(worst), scale \(scale)", file: file, line: line)
}

/// A tiny model that still exercises blocked layouts (8w = 16 channels).
private let tiny = DCGANConfig(latentDimension: 3, imageSize: 16, width: 2, channels: 1)

final class NetworksTests: XCTestCase {
    func testParameterNamesAndShapesFollowTheContract() {
        let c = DCGANConfig.paper
        let g = Generator(config: c), dis = Discriminator(config: c)
        let gSpecs = Dictionary(uniqueKeysWithValues: g.parameters.specs.map { ($0.name, $0.shape) })
        XCTAssertEqual(gSpecs["project.weight"], [8192, 100])
        XCTAssertEqual(gSpecs["deconv1.weight"], [512, 256, 5, 5])
        XCTAssertEqual(gSpecs["deconv4.weight"], [64, 1, 5, 5])
        XCTAssertEqual(gSpecs["deconv4.bias"], [1])
        XCTAssertEqual(gSpecs["bn0.weight"], [512])
        XCTAssertEqual(gSpecs["bn3.bias"], [64])
        XCTAssertEqual(gSpecs.count, 1 + 4 * 2 + 4 + 1)
        XCTAssertEqual(Set(g.statistics.specs.map(\.name)), Set((0..<4).flatMap { ["bn\($0).running_mean", "bn\($0).running_var"] }))
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

    func testEveryNetworkFollowsTheLadder() {
        let c = DCGANConfig(latentDimension: 5, imageSize: 32, width: 3, channels: 2)
        XCTAssertEqual(c.ladder, [3, 6, 12, 24])
        let g = Generator(config: c), dis = Discriminator(config: c), e = Encoder(config: c)
        // G descends it: deconv{i} maps ladder[4 − i] to ladder[3 − i] channels, then to the image channels.
        XCTAssertEqual(g.parameters.value("project.weight").shape, [24 * 2 * 2, 5])
        XCTAssertEqual((1...4).map { g.parameters.value("deconv\($0).weight").shape[0] }, [24, 12, 6, 3])
        XCTAssertEqual(g.parameters.value("deconv4.weight").shape[1], 2)
        XCTAssertEqual((0..<4).map { g.norms[$0].channels }, [24, 12, 6, 3])
        // D and the encoder climb it.
        for net in [dis.trunk, e.trunk] {
            XCTAssertEqual(net.convs.map(\.outputChannels), [3, 6, 12, 24])
            XCTAssertEqual(net.convs.map(\.inputChannels), [2, 3, 6, 12])
        }
        XCTAssertEqual(dis.parameters.value("classify.weight").shape, [1, 24 * 2 * 2])
        XCTAssertEqual(e.parameters.value("code.weight").shape, [5, 24 * 2 * 2])
        XCTAssertEqual(FoldedDiscriminator(dis).forward(DNNLMemory(plain: Tensor(shape: [1, 2, 32, 32])), logits: false,
                                                        weightsUnchanged: false).features.dims, [1, 24, 2, 2])
        // One role: the same calls initialise any of them.
        let networks: [any Network] = [g, dis, e]
        var rng = SeededGenerator(seed: 2)
        for n in networks { n.initialize(using: &rng) }
        XCTAssertEqual(dis.statistics.value("bn4.running_var").array, [Float](repeating: 1, count: 24))
        XCTAssertEqual(e.parameters.value("code.bias").array, [Float](repeating: 0, count: 5))
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

private func statOffset(_ s: ParameterSet, _ name: String) -> Int {
    var o = 0
    for spec in s.specs { if spec.name == name { return o }; o += spec.shape.reduce(1, *) }
    preconditionFailure(name)
}

// MARK: - Training and mapping steps

private let stepConfig = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 1)

private func pair(seed: UInt64) -> (Generator, Discriminator) {
    var rng = SeededGenerator(seed: seed)
    let g = Generator(config: stepConfig), d = Discriminator(config: stepConfig)
    g.initialize(using: &rng); d.initialize(using: &rng)
    // Larger weights than DCGAN's 0.02 so that every term matters.
    for i in 0..<g.parameters.count { g.parameters.values.data[i] += rng.normal(std: 0.2) }
    for i in 0..<d.parameters.count { d.parameters.values.data[i] += rng.normal(std: 0.2) }
    return (g, d)
}

private func assertNear(_ a: [Float], _ b: [Float], _ tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, what, file: file, line: line)
}

final class TrainingStepTests: XCTestCase {
    func testTrainingStepFollowsTheContractOrder() {
        let (g1, d1) = pair(seed: 1), (g2, d2) = pair(seed: 1)
        var rng = SeededGenerator(seed: 2)
        let n = 3
        let real = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [n, 4], low: -1, high: 1, using: &rng)
        let step = GANTrainingStep(generator: g1, discriminator: d1)
        let losses = step.step(real: real, z: z)

        // The same step written out with the public API.
        let adamG = Adam(count: g2.parameters.count, settings: .dcgan), adamD = Adam(count: d2.parameters.count, settings: .dcgan)
        let grad = Tensor(shape: [n, 1])
        d2.parameters.zeroGradients()
        let outReal = d2.forward(real, training: true)
        let lossReal = Loss.binaryCrossEntropyWithLogits(outReal.logits, target: 1, gradient: grad)
        _ = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: true)
        let fake = g2.forward(z, training: true)
        let outFake = d2.forward(fake, training: true)
        let lossFake = Loss.binaryCrossEntropyWithLogits(outFake.logits, target: 0, gradient: grad)
        _ = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: true)
        adamD.update(values: d2.parameters.values, gradients: d2.parameters.gradients)
        g2.parameters.zeroGradients()
        let outAfter = d2.forward(fake, training: true)
        let lossG = Loss.binaryCrossEntropyWithLogits(outAfter.logits, target: 1, gradient: grad)
        let dFake = d2.backward(gradLogits: grad, gradFeatures: nil, weightGradients: false)
        _ = g2.backward(dFake, weightGradients: true)
        adamG.update(values: g2.parameters.values, gradients: g2.parameters.gradients)

        XCTAssertEqual(losses.lossD, lossReal + lossFake, accuracy: 1e-5)
        XCTAssertEqual(losses.lossG, lossG, accuracy: 1e-5)
        let mean = { (t: Tensor) in t.array.map { Loss.sigmoid($0) }.reduce(0, +) / Float(t.count) }
        XCTAssertEqual(losses.dReal, mean(outReal.logits), accuracy: 1e-6)
        XCTAssertEqual(losses.dFake, mean(outFake.logits), accuracy: 1e-6)
        XCTAssertEqual(losses.dFakeAfter, mean(outAfter.logits), accuracy: 1e-6)
        XCTAssertNotEqual(losses.dFake, losses.dFakeAfter)
        assertNear(d1.parameters.values.array, d2.parameters.values.array, 1e-6, "D parameters")
        assertNear(g1.parameters.values.array, g2.parameters.values.array, 1e-6, "G parameters")
        assertNear(d1.statistics.values.array, d2.statistics.values.array, 1e-6, "D running statistics (three batches)")
        assertNear(g1.statistics.values.array, g2.statistics.values.array, 1e-6, "G running statistics")
        // The generator's weights moved.
        XCTAssertNotEqual(g1.parameters.values.array, pair(seed: 1).0.parameters.values.array)
    }

    func testMappingStepMatchesWrittenOutGradient() {
        for loss in [DiscriminationLoss.featureMatching, .reference] {
            let (g, d) = pair(seed: 3)
            var rng = SeededGenerator(seed: 4)
            let n = 2, lambda: Float = 0.1
            let x = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
            let z0 = Tensor.uniform(shape: [n, 4], low: -0.9, high: 0.9, using: &rng)
            let mapping = LatentMappingStep(generator: g, discriminator: d, lambda: lambda, loss: loss)
            mapping.reset(queries: x, z: z0)
            let losses = mapping.step()

            // Written out: L = (1−λ)Σ|x − G(z)| + λ·disc, gradient through D and G (inference mode).
            let fx = d.forward(x, training: false).features
            let out = g.forward(z0, training: false)
            assertNear(mapping.reconstruction.array, out.array, 1e-5, "reconstruction")
            let gImage = Tensor(shape: out.shape)
            let dOut = d.forward(out, training: false)
            var disc = [Float](repeating: 0, count: n)
            let dImage: Tensor
            if loss == .featureMatching {
                let gf = Tensor(shape: fx.shape)
                for i in 0..<n { disc[i] = Loss.l1(dOut.features.items(i..<i + 1), fx.items(i..<i + 1)) }
                for j in 0..<gf.count { let v = dOut.features[j] - fx[j]; gf[j] = lambda * (v > 0 ? 1 : v < 0 ? -1 : 0) }
                dImage = d.backward(gradLogits: nil, gradFeatures: gf, weightGradients: false)
            } else {
                let gl = Tensor(shape: [n, 1])
                for i in 0..<n {
                    let l = dOut.logits[i]
                    disc[i] = Loss.binaryCrossEntropyWithLogits(Tensor(shape: [1], values: [l]), target: 1)
                    gl[i] = lambda * (Loss.sigmoid(l) - 1)
                }
                dImage = d.backward(gradLogits: gl, gradFeatures: nil, weightGradients: false)
            }
            for i in 0..<n {
                let r = Loss.l1(out.items(i..<i + 1), x.items(i..<i + 1))
                XCTAssertEqual(losses[i].residual, r, accuracy: 1e-3 * r)
                XCTAssertEqual(losses[i].discrimination, disc[i], accuracy: 1e-4 * (1 + disc[i]))
                XCTAssertEqual(losses[i].total, (1 - lambda) * r + lambda * disc[i], accuracy: 1e-3 * r)
            }
            for j in 0..<gImage.count { let v = out[j] - x[j]; gImage[j] = (1 - lambda) * (v > 0 ? 1 : v < 0 ? -1 : 0) + dImage[j] }
            let dz = g.backward(gImage, weightGradients: false)
            // Adam's first step: z − lr·g/(|g| + ε), then clipping.
            let z1 = mapping.z
            for j in 0..<z0.count {
                let want = min(max(z0[j] - 0.01 * dz[j] / (abs(dz[j]) + 1e-8), -1), 1)
                XCTAssertEqual(z1[j], want, accuracy: 1e-5, "z[\(j)] \(loss)")
            }
            XCTAssertTrue(g.parameters.gradients.array.allSatisfy { $0 == 0 }, "mapping computes no weight gradients")
        }
    }

    func testMappingIsPerImageAndClipped() {
        let (g, d) = pair(seed: 5)
        var rng = SeededGenerator(seed: 6)
        let x = Tensor.uniform(shape: [3, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [3, 4], low: -1, high: 1, using: &rng)
        let batch = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching, adam: AdamSettings(learningRate: 0.3, beta1: 0.9))
        batch.reset(queries: x, z: z)
        var first: [MappingLoss] = [], last: [MappingLoss] = []
        for s in 0..<15 { let l = batch.step(); if s == 0 { first = l }; last = l }
        XCTAssertTrue(batch.z.array.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertTrue(batch.z.array.contains { abs($0) == 1 }, "a large learning rate reaches the box boundary")
        XCTAssertLessThan(last.map(\.total).reduce(0, +), first.map(\.total).reduce(0, +))
        // Image 1 mapped alone ends where it ended in the batch (BatchNorm in inference mode).
        let single = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching, adam: AdamSettings(learningRate: 0.3, beta1: 0.9))
        single.reset(queries: x.items(1..<2), z: z.items(1..<2))
        var alone: [MappingLoss] = []
        for _ in 0..<15 { alone = single.step() }
        assertNear(single.z.array, batch.z.items(1..<2).array, 1e-4, "z of image 1")
        XCTAssertEqual(alone[0].total, last[1].total, accuracy: 1e-3 * last[1].total)
    }

    func testMappingSeesChangesMadeBeforeReset() {
        let (g, d) = pair(seed: 7)
        let mapping = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching)
        var rng = SeededGenerator(seed: 8)
        // Change G and D after the mapping step exists (as loading a checkpoint does).
        for i in 0..<g.parameters.count { g.parameters.values.data[i] += rng.normal(std: 0.1) }
        for i in 0..<d.statistics.count { d.statistics.values.data[i] += rng.uniform(0, 0.3) }
        let x = Tensor.uniform(shape: [2, 1, 16, 16], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [2, 4], low: -1, high: 1, using: &rng)
        mapping.reset(queries: x, z: z)
        let losses = mapping.step()
        assertNear(mapping.reconstruction.array, g.forward(z, training: false).array, 1e-5, "reconstruction uses the changed G")
        let out = d.forward(mapping.reconstruction, training: false).features, fx = d.forward(x, training: false).features
        XCTAssertEqual(losses[0].discrimination, Loss.l1(out.items(0..<1), fx.items(0..<1)), accuracy: 1e-3 * (1 + losses[0].discrimination))
    }
}
