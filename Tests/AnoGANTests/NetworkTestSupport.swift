// Helpers shared by the network and step tests (GeneratorTests,
// DiscriminatorTests, ConvolutionalTrunkTests, FoldedNetworksTests,
// GANTrainingStepTests, LatentMappingStepTests): tiny configurations, a seeded
// G/D pair with larger-than-DCGAN weights, and tolerance checks.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

func d(_ t: Tensor) -> [Double] { t.array.map(Double.init) }

func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 2e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    let scale = 1 + (b.map(abs).max() ?? 0)
    var worst = 0.0
    for i in 0..<min(a.count, b.count) { worst = max(worst, abs(Double(a[i]) - b[i])) }
    XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(what): worst error \(worst), scale \(scale)", file: file, line: line)
}

/// A tiny model that still exercises blocked layouts (8w = 16 channels).
let tiny = DCGANConfig(latentDimension: 3, imageSize: 16, width: 2, channels: 1)

func statOffset(_ s: ParameterSet, _ name: String) -> Int {
    var o = 0
    for spec in s.specs { if spec.name == name { return o }; o += spec.shape.reduce(1, *) }
    preconditionFailure(name)
}

let stepConfig = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 1)

func pair(seed: UInt64) -> (Generator, Discriminator) {
    var rng = SeededGenerator(seed: seed)
    let g = Generator(config: stepConfig), d = Discriminator(config: stepConfig)
    g.initialize(using: &rng); d.initialize(using: &rng)
    // Larger weights than DCGAN's 0.02 so that every term matters.
    for i in 0..<g.parameters.count { g.parameters.values.data[i] += rng.normal(std: 0.2) }
    for i in 0..<d.parameters.count { d.parameters.values.data[i] += rng.normal(std: 0.2) }
    return (g, d)
}

func assertNear(_ a: [Float], _ b: [Float], _ tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tol, what, file: file, line: line)
}
