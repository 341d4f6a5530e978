// The iteration budget (a run may stop mid-epoch and resume bit-for-bit), the
// validation slice (seeded, clamped, never trained on) and old checkpoints'
// settings without these fields.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class TrainingBudgetTests: TemporaryDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        Threads.set(1)
    }

    /// 12 iterations straight equal 7 (stopping 2 into epoch 2), checkpoint, resume to 12.
    func testIterationBudgetStopsMidEpochAndResumesBitForBit() throws {
        var rng = SeededGenerator(seed: 1)
        let images = Synthetic.bars(96, using: &rng)   // 5 held out (5 %), 91 left: 5 batches of 16 per epoch
        let config = Synthetic.config(width: 4)
        let settings = TrainingSettings(epochs: 50, batchSize: 16, seed: 42, sampleCount: 4, iterations: 12,
                                        validationFraction: TrainingSettings.defaultValidationFraction)

        let straightOut = TrainingOutput(directory: dir.appendingPathComponent("straight"))
        let straight = try Trainer(config: config, settings: settings, images: images)
        XCTAssertEqual(straight.validationIndices.count, 5)
        XCTAssertEqual(straight.iterationsPerEpoch, 5)
        XCTAssertEqual(straight.totalIterations, 12)
        XCTAssertEqual(straight.totalEpochs, 3)
        try straight.run(output: straightOut, health: nil)
        XCTAssertEqual(straight.completedIterations, 12)
        XCTAssertEqual(straight.completedEpochs, 2)

        var firstLeg = settings
        firstLeg.iterations = 7
        let stoppedOut = TrainingOutput(directory: dir.appendingPathComponent("stopped"))
        let first = try Trainer(config: config, settings: firstLeg, images: images)
        var summaries: [EpochSummary] = []
        try first.run(output: stoppedOut, health: HealthSettings(mappingSteps: 3, images: 4, samples: 6)) { summaries.append($0) }
        XCTAssertEqual(first.completedIterations, 7)
        XCTAssertEqual(first.completedEpochs, 1)
        XCTAssertEqual(summaries.map(\.epoch), [1, 2])
        let saved = try Checkpoint.read(stoppedOut.checkpoint)
        XCTAssertNotNil(saved.position.epochStartRNGState)
        XCTAssertEqual(saved.settings.iterations, 7)
        // The health report of the last checkpoint is on disk and in the summary.
        let health = try TrainingHealth.read(stoppedOut.health)
        XCTAssertEqual(health, summaries.last?.health)
        XCTAssertEqual(health.iteration, 7)
        XCTAssertEqual(health.trend?.iterations, 1)

        let resumed = try Trainer(resuming: saved, images: images, iterations: 12)
        XCTAssertEqual(resumed.validationIndices, straight.validationIndices)
        try resumed.run(output: stoppedOut, health: nil)
        XCTAssertEqual(resumed.position, straight.position)
        let pairs: [(String, Tensor, Tensor)] = [
            ("G", straight.generator.parameters.values, resumed.generator.parameters.values),
            ("G stats", straight.generator.statistics.values, resumed.generator.statistics.values),
            ("D", straight.discriminator.parameters.values, resumed.discriminator.parameters.values),
            ("D stats", straight.discriminator.statistics.values, resumed.discriminator.statistics.values),
            ("Adam G m", straight.step.adamG.m, resumed.step.adamG.m), ("Adam D v", straight.step.adamD.v, resumed.step.adamD.v),
        ]
        for (name, a, b) in pairs { XCTAssertEqual(a.array, b.array, "\(name) differs after resume") }
        XCTAssertEqual(try String(contentsOf: straightOut.lossLog), try String(contentsOf: stoppedOut.lossLog))
        XCTAssertEqual(try String(contentsOf: straightOut.lossLog).split(separator: "\n").count, 1 + 12)
    }

    /// The slice is seeded, clamped to [1, count − batch], disjoint from the training indices,
    /// and never trained on: held-out images set to NaN leave every loss finite.
    func testValidationSliceIsSeededClampedAndNeverTrainedOn() throws {
        func split(_ count: Int, batch: Int = 16, seed: UInt64 = 3, fraction: Double? = 0.05) -> (training: [Int], validation: [Int]) {
            Trainer.validationSplit(count: count, settings: TrainingSettings(batchSize: batch, seed: seed, validationFraction: fraction))
        }
        let a = split(200)
        XCTAssertEqual(a.validation.count, 10)
        XCTAssertEqual(a.validation, split(200).validation)
        XCTAssertNotEqual(a.validation, split(200, seed: 4).validation)
        XCTAssertEqual(Set(a.training).union(a.validation), Set(0..<200))
        XCTAssertTrue(Set(a.training).isDisjoint(with: a.validation))
        XCTAssertEqual(a.validation, a.validation.sorted())
        XCTAssertEqual(split(100, fraction: 0.001).validation.count, 1)   // at least one image
        XCTAssertEqual(split(20, fraction: 0.5).validation.count, 4)      // leaves one batch of 16
        XCTAssertEqual(split(16).validation.count, 0)                     // nothing to spare
        XCTAssertEqual(split(100, fraction: nil).validation.count, 0)
        XCTAssertEqual(split(100, fraction: 0).validation.count, 0)

        var rng = SeededGenerator(seed: 2)
        let images = Synthetic.bars(40, using: &rng)
        let settings = TrainingSettings(epochs: 2, batchSize: 8, seed: 5, sampleCount: 4, validationFraction: 0.1)
        let held = Trainer.validationSplit(count: 40, settings: settings).validation
        XCTAssertEqual(held.count, 4)
        for i in held { for k in 0..<256 { images[i * 256 + k] = .nan } }
        let trainer = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: images)
        XCTAssertEqual(trainer.validationIndices, held)
        XCTAssertEqual(trainer.iterationsPerEpoch, 4)
        while !trainer.isFinished { _ = try trainer.trainEpoch() }   // throws `diverged` if a NaN image was used
        XCTAssertTrue(trainer.validationImages.array.allSatisfy(\.isNaN))
        XCTAssertFalse(trainer.trainingSample(count: 36).array.contains(where: \.isNaN))
        XCTAssertThrowsError(try Trainer(config: Synthetic.config(width: 4), settings: TrainingSettings(batchSize: 8, validationFraction: 1),
                                         images: images)) { XCTAssertTrue("\($0)".contains("validation fraction"), "\($0)") }
    }

    /// Settings and positions from checkpoints written before the budget and the slice existed
    /// decode with nil, which means: epochs only, no hold-out, an epoch boundary.
    func testOldCheckpointMetadataDecodes() throws {
        let settings = try JSONDecoder().decode(TrainingSettings.self, from: Data("""
            {"adam":{"beta1":0.5,"beta2":0.999,"epsilon":1e-08,"learningRate":0.0002},"batchSize":64,"epochs":20,"sampleCount":64,"seed":7}
            """.utf8))
        XCTAssertNil(settings.iterations)
        XCTAssertNil(settings.validationFraction)
        XCTAssertEqual(Trainer.validationSplit(count: 1000, settings: settings).validation, [])
        let position = try JSONDecoder().decode(TrainingPosition.self, from: Data("""
            {"discriminatorAdamSteps":3,"epoch":1,"generatorAdamSteps":3,"iteration":3,"rngState":[1,2,3,4]}
            """.utf8))
        XCTAssertNil(position.epochStartRNGState)
        // And an epoch-boundary position is written without the new field, as before.
        XCTAssertFalse(try jsonString(position).contains("epochStart"))
    }
}

final class MinimumIterationsTests: TemporaryDirectoryTestCase {
    /// An epoch budget is raised to the floor on small sets, left alone on large ones,
    /// and an explicit --epochs on resume drops the floor.
    func testEpochBudgetIsRaisedToTheMinimumOnlyWhenShort() throws {
        Threads.set(1)
        var rng = SeededGenerator(seed: 1)
        let images = Synthetic.bars(64, using: &rng)   // 4 batches of 16 per epoch
        let config = Synthetic.config(width: 4)
        let short = try Trainer(config: config, settings: TrainingSettings(epochs: 2, batchSize: 16, minimumIterations: 11), images: images)
        XCTAssertEqual(short.totalIterations, 11)
        XCTAssertEqual(short.totalEpochs, 3)
        let long = try Trainer(config: config, settings: TrainingSettings(epochs: 5, batchSize: 16, minimumIterations: 11), images: images)
        XCTAssertEqual(long.totalIterations, 20)
        let explicit = try Trainer(config: config, settings: TrainingSettings(epochs: 2, batchSize: 16, iterations: 3, minimumIterations: 11),
                                   images: images)
        XCTAssertEqual(explicit.totalIterations, 3, "an iteration budget is taken as given")
        XCTAssertEqual(try Trainer(config: config, settings: TrainingSettings(epochs: 2, batchSize: 16), images: images).totalIterations, 8)

        let firstLeg = TrainingSettings(epochs: 1, batchSize: 16, sampleCount: 4, minimumIterations: 6)
        let out = TrainingOutput(directory: dir)
        let first = try Trainer(config: config, settings: firstLeg, images: images)
        try first.run(output: out, health: nil)
        XCTAssertEqual(first.completedIterations, 6)
        let resumed = try Trainer(resuming: Checkpoint.read(out.checkpoint), images: images, epochs: 3)
        XCTAssertNil(resumed.settings.minimumIterations)
        XCTAssertEqual(resumed.totalIterations, 12)
    }
}

final class TrainingCadenceTests: TemporaryDirectoryTestCase {
    /// Epochs of 4 iterations with a save interval of 10: files after epochs 3 (12 iterations) and
    /// 5 (the end), the health check only at the end; every epoch is still reported.
    func testFilesAreWrittenAtTheSaveIntervalAndAtTheEnd() throws {
        Threads.set(1)
        var rng = SeededGenerator(seed: 1)
        let images = Synthetic.bars(64, using: &rng)
        let settings = TrainingSettings(epochs: 5, batchSize: 16, seed: 2, sampleCount: 4)
        let trainer = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: images)
        let output = TrainingOutput(directory: dir, saveInterval: 10, healthInterval: 1000)
        var summaries: [EpochSummary] = []
        try trainer.run(output: output, health: HealthSettings(mappingSteps: 2, images: 4, samples: 4)) { summaries.append($0) }
        XCTAssertEqual(summaries.map(\.epoch), [1, 2, 3, 4, 5])
        XCTAssertEqual(summaries.map { $0.checkpoint != nil }, [false, false, true, false, true])
        XCTAssertEqual(summaries.map { $0.health != nil }, [false, false, false, false, true])
        let fm = FileManager.default
        XCTAssertEqual((1...5).map { fm.fileExists(atPath: output.samples(epoch: $0).path) }, [false, false, true, false, true])
        XCTAssertEqual(try Checkpoint.read(output.checkpoint).position.iteration, 20)
        XCTAssertEqual(try String(contentsOf: output.lossLog, encoding: .utf8).split(separator: "\n").count, 1 + 20)
    }

    /// Each health check carries the best fit of the earlier ones (the lowest reconstruction error
    /// and its iteration), and a resumed run continues that record from its health.json.
    func testHealthChecksCarryTheBestEarlierFitAcrossAResume() throws {
        Threads.set(1)
        var rng = SeededGenerator(seed: 1)
        let images = Synthetic.bars(64, using: &rng)
        let output = TrainingOutput(directory: dir, saveInterval: 4, healthInterval: 4)
        let health = HealthSettings(mappingSteps: 2, images: 4, samples: 4)
        let first = try Trainer(config: Synthetic.config(width: 4), settings: TrainingSettings(epochs: 3, batchSize: 16, seed: 2, sampleCount: 4),
                                images: images)
        var reports: [TrainingHealth] = []
        try first.run(output: output, health: health) { if let h = $0.health { reports.append(h) } }
        let resumed = try Trainer(resuming: Checkpoint.read(output.checkpoint), images: images, epochs: 5)
        try resumed.run(output: output, health: health) { if let h = $0.health { reports.append(h) } }
        XCTAssertEqual(reports.map(\.iteration), [4, 8, 12, 16, 20])
        XCTAssertNil(reports[0].bestEarlier)
        for k in 1..<reports.count {
            let best = reports[..<k].map(\.fit).min { $0.value < $1.value }!
            XCTAssertEqual(reports[k].bestEarlier, best, "check \(k), resumed after the third")
        }
        XCTAssertEqual(try TrainingHealth.read(output.health), reports.last)
    }
}
