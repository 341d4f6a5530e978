// Our DCGAN against PyTorch: Fixtures/dcgan_reference.safetensors, written by
// scripts/make_fixtures.py in float64, holds the networks' weights, one complete
// training step (pytorch/examples dcgan/main.py order), five latent-mapping
// steps and three steps of the reference-loss mapping. We load the weights into Generator/Discriminator, run the same step
// and compare every number.
//
// Tolerances (float32 here vs float64 there): outputs, losses and gradients
// |ours − torch| ≤ 1e-4 · max|torch| per tensor (+1e-6 absolute); measured worst
// about 6e-6. Parameters after Adam: 2e-6 per step plus what the gradient
// tolerance can do to Adam's move (see assertAfterAdam) — Adam's first move is
// lr·g/(|g|+ε) ≈ lr·sign(g), so where g is within its tolerance of 0 a float32
// rounding may flip it and up to 2·lr is allowed (counted, must stay under 3%).

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class DCGANFixtureTests: XCTestCase {
    static let outputTolerance: Float = 1e-4

    struct Fixture {
        let tensors: [String: Tensor]
        let config: DCGANConfig
        let batch: Int

        func callAsFunction(_ name: String) -> Tensor {
            guard let t = tensors[name] else { preconditionFailure("fixture has no tensor \(name)") }
            return t
        }
    }

    private static let loaded: Result<Fixture, Error> = Result {
        guard let url = Bundle.module.url(forResource: "dcgan_reference", withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw FileError("Fixtures/dcgan_reference.safetensors", "missing from the test bundle")
        }
        let file = try Safetensors.read(url)
        guard let json = file.metadata["config"]?.data(using: .utf8),
              let batch = file.metadata["batch"].flatMap(Int.init) else {
            throw FileError(url, "metadata lacks config or batch")
        }
        let config = try JSONDecoder().decode(DCGANConfig.self, from: json)
        return Fixture(tensors: file.tensors, config: config, batch: batch)
    }

    private func fixture() throws -> Fixture { try Self.loaded.get() }

    // MARK: Helpers

    /// Networks holding the fixture's initial weights and running statistics.
    private func networks(_ f: Fixture) -> (Generator, Discriminator) {
        let g = Generator(config: f.config)
        let d = Discriminator(config: f.config)
        load(g.parameters, from: f, prefix: "generator.")
        load(g.statistics, from: f, prefix: "generator.")
        load(d.parameters, from: f, prefix: "discriminator.")
        load(d.statistics, from: f, prefix: "discriminator.")
        return (g, d)
    }

    private func load(_ set: ParameterSet, from f: Fixture, prefix: String) {
        for spec in set.specs {
            let t = f(prefix + spec.name)
            precondition(t.shape == spec.shape, "\(prefix)\(spec.name): fixture \(t.shape), ours \(spec.shape)")
            set.value(spec.name).assign(from: t)
        }
    }

    /// Largest |got − expected| relative to max|expected| (the measure the tolerances bound).
    @discardableResult
    private func assertClose(_ got: Tensor, _ expected: Tensor, _ what: String, tolerance: Float = outputTolerance,
                             file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(got.count, expected.count, "\(what): element count", file: file, line: line)
        guard got.count == expected.count, got.count > 0 else { return .infinity }
        let scale = expected.array.map(abs).max()!
        var worst: Float = 0, at = 0
        for i in 0..<got.count {
            let d = abs(got[i] - expected[i])
            if !(d <= worst) { worst = d; at = i }  // NaN counts as worst
        }
        XCTAssertLessThanOrEqual(worst, tolerance * scale + 1e-6,
                                 "\(what): worst |Δ| \(worst) at \(at) (ours \(got[at]), torch \(expected[at]), scale \(scale))",
                                 file: file, line: line)
        return worst / max(scale, 1e-30)
    }

    private func assertClose(_ got: [Float], _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(Tensor(shape: [got.count], values: got), expected, what, file: file, line: line)
    }

    /// Parameters after Adam steps (DCGAN settings), given PyTorch's gradient at every step so far.
    /// Adam moves a value by lr·m̂/(√v̂ + ε). Our gradients may differ from PyTorch's by their tolerance
    /// τₖ (per tensor and step), so m̂ may differ by e = bias-corrected Σ β₁-weighted τₖ, and the move by
    /// about 3·lr·e/√v̂ — at most 2·lr when e ≥ √v̂ (the move's sign is then in doubt: "loose").
    private func assertAfterAdam(_ got: Tensor, _ expected: Tensor, gradients: [Tensor], _ what: String,
                                 file: StaticString = #filePath, line: UInt = #line) -> (loose: Int, total: Int) {
        let s = AdamSettings.dcgan
        let (lr, b1, b2, eps) = (Double(s.learningRate), Double(s.beta1), Double(s.beta2), Double(s.epsilon))
        let tolerances = gradients.map { Double(Self.outputTolerance * $0.array.map(abs).max()! + 1e-6) }
        var loose = 0
        for i in 0..<expected.count {
            var m = 0.0, v = 0.0, e = 0.0, allowed = 0.0, doubtful = false
            for (k, g) in gradients.enumerated() {
                let gi = Double(g[i])
                m = b1 * m + (1 - b1) * gi
                v = b2 * v + (1 - b2) * gi * gi
                e = b1 * e + (1 - b1) * tolerances[k]
                let c1 = 1 - pow(b1, Double(k + 1)), c2 = 1 - pow(b2, Double(k + 1))
                let root = (v / c2).squareRoot() + eps
                if e / c1 >= root { doubtful = true }
                allowed += 2e-6 + min(2 * lr, 3 * lr * (e / c1) / root)
            }
            if doubtful { loose += 1 }
            if !(Double(abs(got[i] - expected[i])) <= allowed) {
                XCTFail("\(what)[\(i)]: ours \(got[i]), torch \(expected[i]), allowed \(allowed), gradients \(gradients.map { $0[i] })",
                        file: file, line: line)
                break
            }
        }
        return (loose, expected.count)
    }

    // MARK: The fixture itself

    /// The fixture's tensors carry exactly the contract's names and shapes (§1), and so do our networks.
    func testNamesAndShapesFollowTheContract() throws {
        let f = try fixture()
        let c = f.config, w = c.width, s = c.imageSize / 16
        func bn(_ name: String, _ n: Int) -> [(String, [Int])] {
            ["weight", "bias", "running_mean", "running_var"].map { ("\(name).\($0)", [n]) }
        }
        var generator: [(String, [Int])] = [("project.weight", [8 * w * s * s, c.latentDimension])]
        generator += bn("bn0", 8 * w)
        generator += [("deconv1.weight", [8 * w, 4 * w, 5, 5])]
        generator += bn("bn1", 4 * w)
        generator += [("deconv2.weight", [4 * w, 2 * w, 5, 5])]
        generator += bn("bn2", 2 * w)
        generator += [("deconv3.weight", [2 * w, w, 5, 5])]
        generator += bn("bn3", w)
        generator += [("deconv4.weight", [w, c.channels, 5, 5]), ("deconv4.bias", [c.channels])]
        var discriminator: [(String, [Int])] = [("conv1.weight", [w, c.channels, 5, 5]), ("conv1.bias", [w])]
        discriminator += [("conv2.weight", [2 * w, w, 5, 5])]
        discriminator += bn("bn2", 2 * w)
        discriminator += [("conv3.weight", [4 * w, 2 * w, 5, 5])]
        discriminator += bn("bn3", 4 * w)
        discriminator += [("conv4.weight", [8 * w, 4 * w, 5, 5])]
        discriminator += bn("bn4", 8 * w)
        discriminator += [("classify.weight", [1, 8 * w * s * s]), ("classify.bias", [1])]

        let (g, d) = networks(f)
        for (prefix, expected, ours) in [("generator.", generator, [g.parameters, g.statistics]),
                                         ("discriminator.", discriminator, [d.parameters, d.statistics])] {
            let inFixture = Dictionary(uniqueKeysWithValues: f.tensors.filter { $0.key.hasPrefix(prefix) }
                .map { (String($0.key.dropFirst(prefix.count)), $0.value.shape) })
            XCTAssertEqual(inFixture, Dictionary(uniqueKeysWithValues: expected), prefix)
            let oursByName = Dictionary(uniqueKeysWithValues: ours.flatMap(\.specs).map { ($0.name, $0.shape) })
            XCTAssertEqual(oursByName, Dictionary(uniqueKeysWithValues: expected), prefix)
            // running statistics in `statistics`, everything else trainable
            XCTAssertEqual(Set(ours[1].specs.map(\.name)), Set(expected.map(\.0).filter { $0.contains("running_") }), prefix)
        }
    }

    // MARK: Forward and backward, one network at a time

    func testGeneratorTrainingForwardAndRunningStatistics() throws {
        let f = try fixture()
        let (g, _) = networks(f)
        let fake = g.forward(f("input.z"), training: true)
        XCTAssertEqual(fake.shape, [f.batch, f.config.channels, f.config.imageSize, f.config.imageSize])
        assertClose(fake, f("step.fake"), "G(z) train mode")
        // G runs forward once in a training step, so its statistics are already the final ones.
        for spec in g.statistics.specs {
            assertClose(g.statistics.value(spec.name), f("step.after.generator.\(spec.name)"), "G \(spec.name)")
        }
    }

    /// D's gradients from its two backward passes (real → 1, fake → 0), driven by
    /// BCE gradients computed here: d(mean BCE)/d(logit) = (σ(l) − t)/N.
    func testDiscriminatorGradientsOnRealAndFake() throws {
        let f = try fixture()
        let (_, d) = networks(f)
        d.parameters.zeroGradients()
        for (input, target, logitsName) in [(f("input.real"), Float(1), "step.logits_real"), (f("step.fake"), 0, "step.logits_fake")] {
            let logits = d.forward(input, training: true).logits
            assertClose(logits, f(logitsName), "D logits \(logitsName)")
            let grad = Tensor(shape: logits.shape, values: logits.array.map { (sigmoid($0) - target) / Float(f.batch) })
            _ = d.backward(gradLogits: grad, gradFeatures: nil, weightGradients: true)
        }
        for spec in d.parameters.specs {
            assertClose(d.parameters.gradient(spec.name), f("step.grad.discriminator.\(spec.name)"), "D ∂\(spec.name)")
        }
    }

    // MARK: The training step

    /// Two training steps with carried-over Adam moments; the second must see the weights the first wrote.
    func testTrainingStepsMatchPyTorch() throws {
        let f = try fixture()
        let (g, d) = networks(f)
        let step = GANTrainingStep(generator: g, discriminator: d)
        var history: [String: [Tensor]] = [:]
        var worstGradient: Float = 0
        for (k, inputs) in [("step", ("input.real", "input.z")), ("step2", ("input.real2", "input.z2"))] {
            let losses = step.step(real: f(inputs.0), z: f(inputs.1))
            assertClose([losses.lossD], f("\(k).loss_d"), "\(k) lossD")
            assertClose([losses.lossG], f("\(k).loss_g"), "\(k) lossG")
            assertClose([losses.dReal], f("\(k).d_real"), "\(k) D(x)")
            assertClose([losses.dFake], f("\(k).d_fake"), "\(k) D(G(z)) before D's update")
            assertClose([losses.dFakeAfter], f("\(k).d_fake_after"), "\(k) D(G(z)) after D's update")

            var loose = 0, total = 0
            for (net, set, stats) in [("generator", g.parameters, g.statistics), ("discriminator", d.parameters, d.statistics)] {
                for spec in set.specs {
                    // G's gradients come from the G half of the step. D's are those of its own half: PyTorch's
                    // errG.backward() also adds into D's .grad, but D.zero_grad() clears that before it is used.
                    let expected = f("\(k).grad.\(net).\(spec.name)")
                    worstGradient = max(worstGradient, assertClose(set.gradient(spec.name), expected, "\(k) \(net) ∂\(spec.name)"))
                    history["\(net).\(spec.name)", default: []].append(expected)
                    // (The fixture leaves out D's parameters after step 2, for size.)
                    guard let after = f.tensors["\(k).after.\(net).\(spec.name)"] else { continue }
                    let r = assertAfterAdam(set.value(spec.name), after, gradients: history["\(net).\(spec.name)"]!,
                                            "\(k) \(net).\(spec.name) after Adam")
                    loose += r.loose
                    total += r.total
                }
                // D runs forward three times per step in train mode (real, fake, fake again): three running-average updates.
                for spec in stats.specs {
                    assertClose(stats.value(spec.name), f("\(k).after.\(net).\(spec.name)"), "\(k) \(net).\(spec.name)")
                }
            }
            XCTAssertLessThan(loose, total * 3 / 100, "\(k): too many parameters whose Adam move has an uncertain sign")
            print("DCGAN fixture \(k): \(loose)/\(total) parameters with an uncertain Adam move")
        }
        print("DCGAN fixture: worst gradient error \(worstGradient) of max|gradient|")
    }

    // MARK: Latent mapping

    /// ∂L/∂z through the frozen networks, with L's gradient written out here:
    /// residual 0.9·sign(G(z) − x); feature matching 0.1·sign(f(G(z)) − f(x)) into D's features,
    /// or for the reference loss 0.1·(σ(D(G(z))) − 1) into D's logit (per image, not averaged).
    private func mappingGradient(_ g: Generator, _ d: Discriminator, x: Tensor, z: Tensor, reference: Bool, f: Fixture) -> Tensor {
        let fx = d.forward(x, training: false).features.copy()
        assertClose(fx, f("mapping.features_x"), "f(x)")
        let gz = g.forward(z, training: false).copy()
        let out = d.forward(gz, training: false)
        let lambda: Float = 0.1
        let gradLogits = reference ? Tensor(shape: out.logits.shape, values: out.logits.array.map { lambda * (sigmoid($0) - 1) }) : nil
        let gradFeatures = reference ? nil : Tensor(shape: fx.shape, values: zip(out.features.array, fx.array).map { lambda * sign($0 - $1) })
        let dx = d.backward(gradLogits: gradLogits, gradFeatures: gradFeatures, weightGradients: false)
        let total = Tensor(shape: gz.shape, values: (0..<gz.count).map { dx[$0] + (1 - lambda) * sign(gz[$0] - x[$0]) })
        return g.backward(total, weightGradients: false)
    }

    func testMappingGradientWithRespectToZ() throws {
        let f = try fixture()
        let (g, d) = networks(f)
        let before = g.parameters.values.copy()
        g.parameters.zeroGradients()
        d.parameters.zeroGradients()
        let grad = mappingGradient(g, d, x: f("mapping.x"), z: f("mapping.z0"), reference: false, f: f)
        assertClose(grad, f("mapping.grad_z1"), "∂L/∂z feature matching")
        let reference = mappingGradient(g, d, x: f("mapping.x"), z: f("mapping.z0"), reference: true, f: f)
        assertClose(reference, f("reference.grad_z1"), "∂L/∂z reference loss")
        // Frozen: no weight gradients, no change to weights or running statistics.
        XCTAssertEqual(g.parameters.gradients.array.map(abs).max(), 0)
        XCTAssertEqual(d.parameters.gradients.array.map(abs).max(), 0)
        XCTAssertEqual(g.parameters.values.array, before.array)
        for spec in g.statistics.specs { XCTAssertEqual(g.statistics.value(spec.name).array, f("generator.\(spec.name)").array) }
    }

    /// Runs `steps` mapping steps from the fixture's z₀ and compares each step's losses and z with
    /// the fixture's `<prefix>.residualK`, `.discriminationK`, `.totalK`, `.zK`.
    @discardableResult
    private func assertMappingMatches(_ loss: DiscriminationLoss, prefix: String, steps: Int,
                                      file: StaticString = #filePath, line: UInt = #line) throws -> LatentMappingStep {
        let f = try fixture()
        let (g, d) = networks(f)
        let mapping = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: loss)
        mapping.reset(queries: f("mapping.x"), z: f("mapping.z0"))
        for step in 1...steps {
            let losses = mapping.step()
            XCTAssertEqual(losses.count, f.batch, file: file, line: line)
            for (name, values) in [("residual", losses.map(\.residual)), ("discrimination", losses.map(\.discrimination)), ("total", losses.map(\.total))] {
                assertClose(values, f("\(prefix).\(name)\(step)"), "\(prefix) \(name), step \(step)", file: file, line: line)
            }
            if step == 1 { assertClose(mapping.reconstruction, f("\(prefix).reconstruction1"), "G(z₀)", file: file, line: line) }
            // Adam's first step moves each z by about lr·sign(g); later steps depend on the ratio of
            // gradients, so several steps also check the gradients' magnitudes. Every |gradient| > 0.07 here.
            assertClose(mapping.z, f("\(prefix).z\(step)"), "\(prefix) z after step \(step)", tolerance: 2e-6, file: file, line: line)
        }
        return mapping
    }

    func testLatentMappingStepsMatchPyTorch() throws {
        let mapping = try assertMappingMatches(.featureMatching, prefix: "mapping", steps: 5)
        XCTAssertEqual(try fixture()("mapping.clipped_count1")[0], 3)
        XCTAssertEqual(mapping.z.array.filter { abs($0) == 1 }.count, 3, "the three entries pushed past ±1 are clipped")
        XCTAssertLessThanOrEqual(mapping.z.array.map(abs).max()!, 1)
    }

    func testReferenceLossMappingStepsMatchPyTorch() throws {
        try assertMappingMatches(.reference, prefix: "reference", steps: 3)
    }

    /// Each image's mapping is independent of the rest of the batch (inference-mode BatchNorm).
    func testMappingOfOneImageEqualsItsRowInTheBatch() throws {
        let f = try fixture()
        let (g, d) = networks(f)
        let batch = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: .featureMatching)
        batch.reset(queries: f("mapping.x"), z: f("mapping.z0"))
        let all = batch.step()
        let single = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: .featureMatching)
        single.reset(queries: f("mapping.x").items(2..<3), z: f("mapping.z0").items(2..<3))
        let one = single.step()
        XCTAssertEqual(one[0].total, all[2].total, accuracy: 1e-4 * all[2].total)
        assertClose(single.z, batch.z.items(2..<3), "z of image 2 alone vs in the batch", tolerance: 1e-6)
    }

    private func sigmoid(_ x: Float) -> Float { Float(1 / (1 + exp(-Double(x)))) }
    private func sign(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
