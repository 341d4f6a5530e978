// Per-image early stopping of the latent mapping (MappingSettings.earlyStopping):
// the rule by hand, a stopped image equals a plain mapping of exactly its steps,
// and where an image stops does not depend on its batch.

import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class LatentMapperEarlyStoppingTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    func testTrackerStopsAfterPatienceStepsWithoutRelativeImprovement() {
        let rule = EarlyStopping(patience: 2, tolerance: 0.01)
        var tracker = EarlyStopping.Tracker()
        // 10 → 9 improves; 8.95 is within 1 % of 9 (stale 1); 8.5 improves; 8.46, 8.6 are stale → stop.
        let losses = [10, 9, 8.95, 8.5, 8.46, 8.6]
        let stops = losses.map { tracker.record($0, rule: rule) }
        XCTAssertEqual(stops, [false, false, false, false, false, true])
        XCTAssertEqual(tracker.best, 8.5)
    }

    /// An image that stops at step s has exactly the z_Γ, G(z_Γ) and scores of a mapping with Γ = s;
    /// with a loose tolerance some images stop early and the others run the full Γ.
    func testStoppedImageEqualsAMappingOfItsSteps() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 8)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(3, using: &rng))
        let z = Tensor.uniform(shape: [6, 100], low: -1, high: 1, using: &rng)
        let steps = 40
        let early = try LatentMapper(generator: g, discriminator: d,
                                     settings: MappingSettings(steps: steps, batchSize: 6, earlyStopping: EarlyStopping(patience: 3, tolerance: 0.02)))
        let result = try early.map(images, initialZ: z, loss: .featureMatching)
        XCTAssertTrue(result.stepsTaken.contains { $0 < steps }, "no image stopped: \(result.stepsTaken)")
        XCTAssertTrue(result.stepsTaken.allSatisfy { $0 >= 4 && $0 <= steps }, "\(result.stepsTaken)")
        XCTAssertEqual(result.meanLossTrace.count, steps)
        for (i, s) in result.stepsTaken.enumerated() {
            let plain = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: s, batchSize: 6))
                .map(images, initialZ: z, loss: .featureMatching)
            XCTAssertEqual(result.residualLoss[i], plain.residualLoss[i], "image \(i) stopped at \(s)")
            XCTAssertEqual(result.discriminationLoss[i], plain.discriminationLoss[i])
            XCTAssertEqual(result.z.items(i..<(i + 1)).array, plain.z.items(i..<(i + 1)).array)
            XCTAssertEqual(result.reconstructions.items(i..<(i + 1)).array, plain.reconstructions.items(i..<(i + 1)).array)
        }
    }

    /// The same image stops at the same step among other companions and at another batch size.
    func testWhereAnImageStopsDoesNotDependOnItsBatch() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 12)
        let images = Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(4, using: &rng))
        let z = Tensor.uniform(shape: [8, 100], low: -1, high: 1, using: &rng)
        let rule = EarlyStopping(patience: 3, tolerance: 0.02)
        let whole = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 40, batchSize: 8, earlyStopping: rule))
            .map(images, initialZ: z, loss: .featureMatching)
        let split = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 40, batchSize: 3, earlyStopping: rule))
            .map(images, initialZ: z, loss: .featureMatching)
        XCTAssertEqual(whole.stepsTaken, split.stepsTaken)
        for i in 0..<8 { XCTAssertEqual(whole.residualLoss[i], split.residualLoss[i], accuracy: 1e-4 * max(1, whole.residualLoss[i])) }
    }

    func testInvalidRuleIsRefused() throws {
        let (g, d) = Synthetic.networks()
        for rule in [EarlyStopping(patience: 0), EarlyStopping(patience: 5, tolerance: 1), EarlyStopping(patience: 5, tolerance: -0.1)] {
            XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 10, earlyStopping: rule))) {
                XCTAssertTrue("\($0)".contains("early stopping"), "\($0)")
            }
        }
    }
}
