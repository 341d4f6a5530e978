// Trainer.swift: a tiny GAN learns the spot images; a resumed run equals an
// uninterrupted one bit for bit; divergence stops the run and keeps the last
// good checkpoint.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class TrainerTests: TemporaryDirectoryTestCase {
    private var directory: URL { dir }

    override func setUpWithError() throws {
        Threads.set(1)  // tiny shapes: one thread avoids OpenMP spinning on a shared machine
        try super.setUpWithError()
    }

    /// End to end on the spots (TrainedSpots): after training G's samples look more like the data
    /// than at initialisation, and mapping ranks blobs above held-out spots.
    func testTrainingLearnsSpotsAndMappingRanksBlobsAboveHeldOutSpots() throws {
        let model = TrainedSpots.shared
        let trainer = model.trainer
        XCTAssertEqual(trainer.completedIterations, model.lossHistory.count)
        let target = Synthetic.statistics(model.data)
        func distance(_ s: [Double]) -> Double { zip(s, target).map { abs($0 - $1) }.reduce(0, +) }
        let before = distance(model.initialSampleStatistics), after = distance(Synthetic.statistics(trainer.samples()))
        XCTAssertLessThan(after, 0.7 * before, "sample statistics \(Synthetic.statistics(trainer.samples())) vs data \(target), at init \(model.initialSampleStatistics)")

        var rng = SeededGenerator(seed: 21)
        let queries = Synthetic.concatenate(Synthetic.spots(16, using: &rng), Synthetic.blobs(16, using: &rng))
        let mapper = try LatentMapper(generator: trainer.outputGenerator, discriminator: trainer.discriminator,
                                      settings: MappingSettings(steps: 200, batchSize: 32))
        var zRNG = SeededGenerator(seed: 11)
        let result = try mapper.map(queries, initialZ: Tensor.uniform(shape: [32, 100], low: -1, high: 1, using: &zRNG), loss: .featureMatching)
        let r = result.residualLoss, a = result.anomalyScores(lambda: 0.1), d = result.discriminationLoss
        let aucR = try Synthetic.auc(anomalous: Array(r[16...]), normal: Array(r[..<16]))
        // R, the misfit the paper segments with, must separate; A and D are printed for the record.
        let aucD = try Synthetic.auc(anomalous: Array(d[16...]), normal: Array(d[..<16])), aucA = try Synthetic.auc(anomalous: Array(a[16...]), normal: Array(a[..<16]))
        print("spots vs blobs AUC: R \(aucR), D \(aucD), A \(aucA)")
        XCTAssertGreaterThanOrEqual(aucR, 0.9, "R(x) normal \(r[..<16]) anomalous \(r[16...])")
        XCTAssertLessThan(result.meanLossTrace.last!, result.meanLossTrace.first!)
    }

    /// Two epochs straight and one epoch + checkpoint + resume + one epoch give identical
    /// weights, BatchNorm statistics, Adam moments, random state and loss log.
    func testResumeGivesTheSameStateAsAnUninterruptedRun() throws {
        var rng = SeededGenerator(seed: 1)
        let images = Synthetic.bars(96, using: &rng)
        let config = Synthetic.config(width: 4)
        let settings = TrainingSettings(epochs: 2, batchSize: 16, seed: 42, sampleCount: 4)

        let straightOut = TrainingOutput(directory: directory.appendingPathComponent("straight"))
        let straight = try Trainer(config: config, settings: settings, images: images)
        try straight.run(output: straightOut)

        var firstLeg = settings
        firstLeg.epochs = 1
        let stoppedOut = TrainingOutput(directory: directory.appendingPathComponent("stopped"))
        try Trainer(config: config, settings: firstLeg, images: images).run(output: stoppedOut)
        let resumed = try Trainer(resuming: Checkpoint.read(stoppedOut.checkpoint), images: images, epochs: 2)
        XCTAssertEqual(resumed.completedEpochs, 1)
        XCTAssertEqual(resumed.completedIterations, 6)
        try resumed.run(output: stoppedOut)

        XCTAssertEqual(resumed.position, straight.position)
        let pairs: [(String, Tensor, Tensor)] = [
            ("G", straight.generator.parameters.values, resumed.generator.parameters.values),
            ("G stats", straight.generator.statistics.values, resumed.generator.statistics.values),
            ("D", straight.discriminator.parameters.values, resumed.discriminator.parameters.values),
            ("D stats", straight.discriminator.statistics.values, resumed.discriminator.statistics.values),
            ("Adam G m", straight.step.adamG.m, resumed.step.adamG.m), ("Adam G v", straight.step.adamG.v, resumed.step.adamG.v),
            ("Adam D m", straight.step.adamD.m, resumed.step.adamD.m), ("Adam D v", straight.step.adamD.v, resumed.step.adamD.v),
        ]
        for (name, a, b) in pairs { XCTAssertEqual(a.array, b.array, "\(name) differs after resume") }
        // And the run really moved: the weights differ from a fresh initialisation.
        let fresh = try Trainer(config: config, settings: settings, images: images)
        XCTAssertNotEqual(fresh.generator.parameters.values.array, straight.generator.parameters.values.array)
        // The files agree too: same loss log, checkpoints with the same tensors.
        XCTAssertEqual(try String(contentsOf: straightOut.lossLog), try String(contentsOf: stoppedOut.lossLog))
        XCTAssertEqual(try String(contentsOf: straightOut.lossLog).split(separator: "\n").count, 1 + 12)
        let c1 = try Checkpoint.read(straightOut.checkpoint), c2 = try Checkpoint.read(stoppedOut.checkpoint)
        XCTAssertEqual(Set(c1.tensors.keys), Set(c2.tensors.keys))
        for key in c1.tensors.keys { XCTAssertEqual(c1.tensors[key]!.array, c2.tensors[key]!.array, key) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: straightOut.samples(epoch: 2).path))
    }

    /// NaN weights make the next epoch's losses NaN: the run stops with a message naming the
    /// epoch and the kept checkpoint, and the checkpoint on disk is still the good one.
    func testDivergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        var rng = SeededGenerator(seed: 2)
        let images = Synthetic.bars(32, using: &rng)
        let settings = TrainingSettings(epochs: 1, batchSize: 16, seed: 5, sampleCount: 4)
        let output = TrainingOutput(directory: directory)
        let trainer = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: images)
        try trainer.run(output: output)
        let good = try Data(contentsOf: output.checkpoint)

        let resumed = try Trainer(resuming: Checkpoint.read(output.checkpoint), images: images, epochs: 3)
        resumed.discriminator.parameters.values[0] = .nan
        XCTAssertThrowsError(try resumed.run(output: output)) { error in
            guard case TrainingError.diverged(let epoch, _, _, let lastGood) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(epoch, 2)
            XCTAssertEqual(lastGood, output.checkpoint)
            XCTAssertTrue("\(error)".contains("diverged at epoch 2"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: output.checkpoint), good)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.samples(epoch: 2).path))
    }

    func testTooFewImagesOrWrongShapeIsAClearError() throws {
        var rng = SeededGenerator(seed: 3)
        XCTAssertThrowsError(try Trainer(config: Synthetic.config(width: 4), settings: TrainingSettings(batchSize: 64),
                                         images: Synthetic.bars(10, using: &rng))) { error in
            XCTAssertTrue("\(error)".contains("10 images, fewer than one batch of 64"), "\(error)")
        }
        XCTAssertThrowsError(try Trainer(config: Synthetic.config(width: 4, imageSize: 32), settings: TrainingSettings(batchSize: 4),
                                         images: Synthetic.bars(10, using: &rng))) { error in
            XCTAssertTrue("\(error)".contains("N×1×32×32"), "\(error)")
        }
    }
}
