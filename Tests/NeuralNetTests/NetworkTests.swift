// The Network protocol's shared code on a toy network (Linear → BatchNorm):
// declaration order, reset statistics, the DCGAN initialisation's draws
// (replayed here with the same generator), layers wired to named views,
// zeroing, copying and naming of the state.

import Records
import XCTest
@testable import NeuralNet

private final class Toy: Network {
    let parameters: ParameterSet, statistics: ParameterSet
    let fc: Linear, norm: BatchNorm2d
    init() {
        var specs = NetworkSpecs()
        specs.parameter("fc.weight", [3, 2])
        specs.parameter("fc.bias", [3])
        specs.batchNorm("bn1", channels: 3)
        specs.parameter("head.weight", [1, 3])
        (parameters, statistics) = specs.makeSets()
        fc = Linear("fc", in: parameters)
        norm = BatchNorm2d("bn1", in: parameters, statistics: statistics)
    }
}

final class NetworkTests: XCTestCase {
    func testSpecsAreInDeclarationOrderWithStatisticsReset() {
        let t = Toy()
        XCTAssertEqual(t.parameters.specs.map(\.name), ["fc.weight", "fc.bias", "bn1.weight", "bn1.bias", "head.weight"])
        XCTAssertEqual(t.statistics.specs, [ParameterSpec(name: "bn1.running_mean", shape: [3]), ParameterSpec(name: "bn1.running_var", shape: [3])])
        XCTAssertEqual(t.statistics.values.array, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(t.namedTensors(prefix: "toy.").map(\.name),
                       ["toy.fc.weight", "toy.fc.bias", "toy.bn1.weight", "toy.bn1.bias", "toy.head.weight",
                        "toy.bn1.running_mean", "toy.bn1.running_var"])
    }

    func testNamedLayersAreViewsOfTheSets() {
        let t = Toy()
        XCTAssertEqual([t.fc.inputFeatures, t.fc.outputFeatures, t.norm.channels], [2, 3, 3])
        XCTAssertNotNil(t.fc.bias)
        t.parameters.value("fc.bias")[1] = 7
        t.statistics.value("bn1.running_var")[2] = 5
        XCTAssertEqual(t.fc.bias![1], 7)
        XCTAssertEqual(t.norm.runningVariance[2], 5)
        XCTAssertTrue(t.fc.weightGradient!.data == t.parameters.gradient("fc.weight").data)
        XCTAssertTrue(t.norm.biasGradient!.data == t.parameters.gradient("bn1.bias").data)
    }

    func testDefaultInitializationIsDCGANInSpecOrder() {
        let t = Toy()
        t.statistics.values.fill(3)
        var rng = SeededGenerator(seed: 4)
        t.initialize(using: &rng)
        var replay = SeededGenerator(seed: 4)
        let fcWeight = (0..<6).map { _ in replay.normal(mean: 0, std: 0.02) }
        let gamma = (0..<3).map { _ in replay.normal(mean: 1, std: 0.02) }
        let head = (0..<3).map { _ in replay.normal(mean: 0, std: 0.02) }
        XCTAssertEqual(t.parameters.values.array, fcWeight + [0, 0, 0] + gamma + [0, 0, 0] + head)
        XCTAssertEqual(t.statistics.values.array, [0, 0, 0, 1, 1, 1])
    }

    func testZeroingAndCopyingTouchWhatTheySay() {
        let a = Toy(), b = Toy()
        var rng = SeededGenerator(seed: 1)
        a.initialize(using: &rng)
        a.statistics.values.fill(0.5)
        b.parameters.gradients.fill(2)
        b.copyState(from: a)
        XCTAssertEqual(b.parameters.values.array, a.parameters.values.array)
        XCTAssertEqual(b.statistics.values.array, a.statistics.values.array)
        XCTAssertEqual(b.parameters.gradients.array, [Float](repeating: 2, count: b.parameters.count), "gradients are not state")
        b.zeroGradients()
        XCTAssertEqual(b.parameters.gradients.array, [Float](repeating: 0, count: b.parameters.count))
    }
}
