// The PyTorch fixture (Fixtures/dcgan_reference.safetensors, float64; see
// DCGANFixtureTests) with every convolution in bf16 mixed precision.
//
// Tolerance, per tensor, |ours − torch| ≤ τ · max|torch|:
// - one convolution rounds both operands of every product to bf16, a relative
//   error ≤ 2·2⁻⁸ ≈ 7.8e-3 of Σ|a·b| (BF16ConvolutionTests checks that bound);
// - G and D stack four convolutions each (three in bf16: the layers at the image stay
//   f32, Precision.forLayer), and BatchNorm divides by the batch's standard deviation,
//   which can amplify an absolute error where activations are small.
// So we allow τ = 0.05 for outputs and losses (about 6 layers × 7.8e-3).
// Gradients are compared normwise per network, ‖ours − torch‖ ≤ 0.3·‖torch‖: they pass
// through LeakyReLU/ReLU, whose slope jumps at 0, and a forward error ε flips the slope
// of a fraction ~ε of the activations, an O(1) change each, so the gradient error grows
// like √ε, not ε (√(2⁻⁸) ≈ 0.06 per layer; this width-4 fixture has few terms to average).
// Measured: outputs ≤ 0.015, losses ≤ 0.0032, gradients G 0.16, D 0.033 (normwise); with
// the image layers in bf16 too they were 0.017, 0.0012, 0.16 and 0.095.
// The same numbers must miss f32's tolerance (1e-4), or bf16 did not run.
// Parameters after Adam are not compared: Adam's first move is lr·sign(g), so any
// gradient within its tolerance of 0 may flip — the f32 test bounds that; here the
// loss curve test (BF16TrainingTests) checks that bf16 training tracks f32.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class DCGANFixtureBF16Tests: XCTestCase {
    static let tolerance: Float = 0.05
    static let gradientTolerance = 0.3

    override func setUpWithError() throws {
        try XCTSkipUnless(Precision.bf16.isSupported(), "this CPU has no AVX512-BF16 (oneDNN reports \(CPUISA.effective))")
    }

    private static let loaded: Result<(tensors: [String: Tensor], config: DCGANConfig, batch: Int), Error> = Result {
        guard let url = Bundle.module.url(forResource: "dcgan_reference", withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw FileError("Fixtures/dcgan_reference.safetensors", "missing from the test bundle")
        }
        let file = try Safetensors.read(url)
        guard let json = file.metadata["config"]?.data(using: .utf8), let batch = file.metadata["batch"].flatMap(Int.init) else {
            throw FileError(url, "metadata lacks config or batch")
        }
        return (file.tensors, try JSONDecoder().decode(DCGANConfig.self, from: json), batch)
    }

    private func f(_ name: String) throws -> Tensor {
        guard let t = try Self.loaded.get().tensors[name] else { throw FileError("dcgan_reference.safetensors", "no tensor \(name)") }
        return t
    }

    /// G and D in bf16 holding the fixture's initial weights and statistics.
    private func networks() throws -> (Generator, Discriminator) {
        let config = try Self.loaded.get().config
        let g = Generator(config: config, precision: .bf16), d = Discriminator(config: config, precision: .bf16)
        for (set, prefix) in [(g.parameters, "generator."), (g.statistics, "generator."), (d.parameters, "discriminator."), (d.statistics, "discriminator.")] {
            for spec in set.specs { set.value(spec.name).assign(from: try f(prefix + spec.name)) }
        }
        return (g, d)
    }

    /// Worst |got − expected| / max|expected|, asserted ≤ τ (+1e-6 absolute).
    @discardableResult
    private func relativeError(_ got: Tensor, _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(got.count, expected.count, what, file: file, line: line)
        let scale = expected.array.map(abs).max() ?? 0
        var worst: Float = 0
        for i in 0..<min(got.count, expected.count) { let d = abs(got[i] - expected[i]); if !(d <= worst) { worst = d } }
        XCTAssertLessThanOrEqual(worst, Self.tolerance * scale + 1e-6, "\(what): worst |Δ| \(worst), scale \(scale)", file: file, line: line)
        return worst / max(scale, 1e-30)
    }

    func testTrainingStepInBF16MatchesPyTorchWithinTheBF16Tolerance() throws {
        try checkTrainingStep()
    }

    /// Every bias-free layer's weight gradient as im2col + matmul (in the full-size model only the deepest
    /// layers use it): D's real and fake passes accumulate into the same gradients, G's through D.
    func testTrainingStepWithGemmWeightGradientsMatchesPyTorch() throws {
        let saved = DNNL.bf16GemmWeightGradients
        defer { DNNL.bf16GemmWeightGradients = saved }
        DNNL.bf16GemmWeightGradients = true
        let start = DNNL.implementations.count
        try checkTrainingStep()
        let made = DNNL.implementations.dropFirst(start)
        XCTAssertEqual(made.filter { $0.hasPrefix("gemm weight gradient") }.count, 6, "D's conv2–4 and G's deconv1–3: \(Array(made))")
    }

    private func checkTrainingStep() throws {
        let (g, d) = try networks()
        let step = GANTrainingStep(generator: g, discriminator: d)
        let losses = step.step(real: try f("input.real"), z: try f("input.z"))
        var worst: [String: Float] = [:]
        for (name, value) in [("loss_d", losses.lossD), ("loss_g", losses.lossG), ("d_real", losses.dReal), ("d_fake", losses.dFake),
                              ("d_fake_after", losses.dFakeAfter)] {
            worst[name] = relativeError(Tensor(shape: [1], values: [value]), try f("step.\(name)"), name)
        }
        // Gradients: normwise per network, ‖ours − torch‖ / ‖torch‖ over all its parameters.
        var report: [String] = []
        for (net, set) in [("generator", g.parameters), ("discriminator", d.parameters)] {
            var difference = 0.0, norm = 0.0
            for spec in set.specs {
                let ours = set.gradient(spec.name).array, torch = try f("step.grad.\(net).\(spec.name)").array
                for (a, b) in zip(ours, torch) { difference += Double(a - b) * Double(a - b); norm += Double(b) * Double(b) }
            }
            let relative = (difference / norm).squareRoot()
            XCTAssertLessThanOrEqual(relative, Self.gradientTolerance, "\(net) gradients")
            XCTAssertGreaterThan(relative, 1e-4, "\(net) gradients within f32's tolerance: bf16 did not run")
            report.append("\(net) \(relative)")
        }
        print("DCGAN fixture bf16: losses \(worst.sorted { $0.key < $1.key }), gradients ‖Δ‖/‖g‖ \(report.joined(separator: ", "))")
    }

    func testForwardPassesAndMappingGradientInBF16MatchPyTorch() throws {
        let (g, d) = try networks()
        let fake = g.forward(try f("input.z"), training: true)
        let gWorst = relativeError(fake, try f("step.fake"), "G(z)")
        let logits = d.forward(try f("input.real"), training: true).logits
        let dWorst = relativeError(logits, try f("step.logits_real"), "D(x) logits")
        XCTAssertGreaterThan(max(gWorst, dWorst), 1e-4, "within f32's tolerance: bf16 did not run")

        // Five feature-matching mapping steps: losses per image, and z (lr 0.01 moves z by ≈ 0.01 per step).
        let (g2, d2) = try networks()
        let mapping = LatentMappingStep(generator: g2, discriminator: d2, lambda: 0.1, loss: .featureMatching)
        mapping.reset(queries: try f("mapping.x"), z: try f("mapping.z0"))
        var lossWorst: Float = 0
        for k in 1...5 {
            let losses = mapping.step()
            lossWorst = max(lossWorst, relativeError(Tensor(shape: [losses.count], values: losses.map(\.total)), try f("mapping.total\(k)"), "total loss, step \(k)"))
        }
        // z after 5 steps: each step moves |Δz| ≤ lr·(1+ε) ≈ 0.01; a flipped sign costs up to 0.02 per step.
        let z5 = try f("mapping.z5")
        let zWorst = zip(mapping.z.array, z5.array).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(zWorst, 5 * 0.02, "z after 5 steps")
        print("DCGAN fixture bf16: G(z) \(gWorst), D logits \(dWorst), mapping loss \(lossWorst), z after 5 steps |Δ| \(zWorst)")
    }
}
