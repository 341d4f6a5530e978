// Our DCGAN at the paper's full size against PyTorch: Fixtures/dcgan_paper.safetensors,
// written by scripts/make_fixtures.py in float64. Tolerances as in
// DCGANFixtureTests.swift (the small fixture), whose outputTolerance this uses.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

/// The paper's full-size model (DCGANConfig.paper: latent 100, width 64, 64×64) against
/// Fixtures/dcgan_paper.safetensors. Weights come from a formula both sides compute bit for
/// bit (see `formula`), so the fixture holds only inputs, outputs, running statistics, small
/// gradients in full and every large gradient as a projection Σ gᵢ·rᵢ onto a formula vector r.
/// At this size every hidden layer runs in oneDNN's blocked layouts, which the small fixture
/// (width 4) does not reach. Tolerances as in DCGANFixtureTests; a projection must agree within
/// 1e-4 · Σ|gᵢ·rᵢ|.
final class DCGANPaperFixtureTests: XCTestCase {
    private static let loaded: Result<(tensors: [String: Tensor], batch: Int, config: DCGANConfig), Error> = Result {
        guard let url = Bundle.module.url(forResource: "dcgan_paper", withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw FileError("Fixtures/dcgan_paper.safetensors", "missing from the test bundle")
        }
        let file = try Safetensors.read(url)
        guard let json = file.metadata["config"]?.data(using: .utf8), let batch = file.metadata["batch"].flatMap(Int.init) else {
            throw FileError(url, "metadata lacks config or batch")
        }
        return (file.tensors, batch, try JSONDecoder().decode(DCGANConfig.self, from: json))
    }

    private func f(_ name: String) throws -> Tensor {
        guard let t = try Self.loaded.get().tensors[name] else { throw FileError("dcgan_paper.safetensors", "no tensor \(name)") }
        return t
    }

    /// 64-bit FNV-1a of the name's UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// `count` values in [-1, 1): SplitMix64 of (fnv1a(name)·φ + i), top 24 bits / 2²³ − 1.
    /// scripts/make_fixtures.py `formula` computes the same numbers.
    static func formula(_ name: String, count: Int) -> [Double] {
        let base = fnv1a(name) &* 0x9E37_79B9_7F4A_7C15
        // A plain loop into uninitialised storage: debug builds are slow with closures over millions of values.
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            var z0 = base
            for i in 0..<count {
                var z = z0
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                buffer[i] = Double(z >> 40) / 8_388_608 - 1
                z0 &+= 1
            }
            initialized = count
        }
    }

    /// Formula weights (weight: uniform, std 1/√fan_in; BN γ = 1 + 0.1u, β = 0.1u; biases 0.05u)
    /// and the fixture's running statistics.
    private func networks() throws -> (Generator, Discriminator) {
        let config = try Self.loaded.get().config
        let g = Generator(config: config), d = Discriminator(config: config)
        for (prefix, params, stats) in [("generator.", g.parameters, g.statistics), ("discriminator.", d.parameters, d.statistics)] {
            for spec in params.specs {
                let u = Self.formula(prefix + spec.name, count: spec.shape.reduce(1, *))
                let values: [Double]
                if spec.name.hasPrefix("bn") {
                    values = spec.name.hasSuffix(".weight") ? u.map { 1 + 0.1 * $0 } : u.map { 0.1 * $0 }
                } else if spec.name.hasSuffix(".bias") {
                    values = u.map { 0.05 * $0 }
                } else {
                    let fanIn = spec.name.hasPrefix("deconv") ? spec.shape[0] * 25 / 4 : spec.shape.dropFirst().reduce(1, *)
                    let amplitude = (3.0 / Double(fanIn)).squareRoot()
                    values = u.map { amplitude * $0 }
                }
                params.value(spec.name).assign(from: Tensor(shape: spec.shape, values: values.map { Float($0) }))
            }
            for spec in stats.specs { stats.value(spec.name).assign(from: try f(prefix + spec.name)) }
        }
        return (g, d)
    }

    private func input(_ name: String, _ shape: [Int]) -> Tensor {
        Tensor(shape: shape, values: Self.formula(name, count: shape.reduce(1, *)).map { Float($0) })
    }

    private func assertClose(_ got: Tensor, _ expected: Tensor, _ what: String, tolerance: Float = DCGANFixtureTests.outputTolerance,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, what, file: file, line: line)
        guard got.count == expected.count, got.count > 0 else { return }
        let scale = expected.array.map(abs).max()!
        var worst: Float = 0
        for i in 0..<got.count { let d = abs(got[i] - expected[i]); if !(d <= worst) { worst = d } }
        XCTAssertLessThanOrEqual(worst, tolerance * scale + 1e-6, "\(what): worst |Δ| \(worst), scale \(scale)", file: file, line: line)
    }

    private func assertClose(_ got: [Float], _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(Tensor(shape: [got.count], values: got), expected, what, file: file, line: line)
    }

    func testFixtureIsThePapersConfiguration() throws {
        XCTAssertEqual(try Self.loaded.get().config, DCGANConfig.paper)
        XCTAssertEqual(DCGANConfig.paper.latentDimension, 100)
        XCTAssertEqual(DCGANConfig.paper.width, 64)
        XCTAssertEqual(DCGANConfig.paper.imageSize, 64)
    }

    func testFullSizeTrainingStepMatchesPyTorch() throws {
        let (n, c) = (try Self.loaded.get().batch, try Self.loaded.get().config)
        let real = input("input.real", [n, 1, c.imageSize, c.imageSize])
        let z = input("input.z", [n, c.latentDimension])

        let (g0, _) = try networks()
        assertClose(g0.forward(z, training: true), try f("step.fake"), "G(z) train mode")

        let (g, d) = try networks()
        let losses = GANTrainingStep(generator: g, discriminator: d).step(real: real, z: z)
        assertClose([losses.lossD], try f("step.loss_d"), "lossD")
        assertClose([losses.lossG], try f("step.loss_g"), "lossG")
        assertClose([losses.dReal], try f("step.d_real"), "D(x)")
        assertClose([losses.dFake], try f("step.d_fake"), "D(G(z))")
        assertClose([losses.dFakeAfter], try f("step.d_fake_after"), "D(G(z)) after D's update")

        var projections = 0
        for (net, params, stats) in [("generator", g.parameters, g.statistics), ("discriminator", d.parameters, d.statistics)] {
            for spec in params.specs {
                let ours = params.gradient(spec.name)
                if let full = try? f("step.grad.\(net).\(spec.name)") {
                    assertClose(ours, full, "\(net) ∂\(spec.name)")
                } else {
                    let reference = try f("step.gradproj.\(net).\(spec.name)")  // [Σ g·r, Σ |g·r|]
                    let r = Self.formula("step.projection.\(net).\(spec.name)", count: ours.count)
                    var projection = 0.0
                    for i in 0..<ours.count { projection += Double(ours[i]) * r[i] }
                    XCTAssertLessThanOrEqual(abs(projection - Double(reference[0])), 1e-4 * Double(reference[1]) + 1e-6,
                                             "\(net) ∂\(spec.name): projection \(projection), torch \(reference[0]) (scale \(reference[1]))")
                    projections += 1
                }
            }
            for spec in stats.specs {
                assertClose(stats.value(spec.name), try f("step.after.\(net).\(spec.name)"), "\(net).\(spec.name) after the step")
            }
        }
        XCTAssertGreaterThanOrEqual(projections, 8, "the large weights are checked by projection")
    }

    func testFullSizeLatentMappingMatchesPyTorch() throws {
        let (g, d) = try networks()
        let mapping = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: .featureMatching)
        mapping.reset(queries: try f("mapping.x"), z: try f("mapping.z0"))
        for step in 1...3 {
            let losses = mapping.step()
            assertClose(losses.map(\.residual), try f("mapping.residual\(step)"), "residual, step \(step)")
            assertClose(losses.map(\.discrimination), try f("mapping.discrimination\(step)"), "discrimination, step \(step)")
            assertClose(losses.map(\.total), try f("mapping.total\(step)"), "total, step \(step)")
            assertClose(mapping.z, try f("mapping.z\(step)"), "z after step \(step)", tolerance: 2e-6)
        }
    }
}
