// The optional stabilisers of Trainer: the moving average of G's weights
// (against a plain Double reference of the update rule, through a resume, and
// its re-estimated BatchNorm statistics) and one-sided label smoothing
// (against the BCE of D's logits computed separately).

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class TrainingStabilisationTests: TemporaryDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        Threads.set(1)
    }

    private func bars() -> Tensor {
        var rng = SeededGenerator(seed: 1)
        return Synthetic.bars(64, using: &rng)
    }

    /// After every iteration the average follows a ← d_t·a + (1 − d_t)·g with d_t = min(d, (1+t)/(10+t)),
    /// recomputed here in Double from the trained weights seen after each iteration.
    func testAverageFollowsTheDecayScheduleOfTheTrainedWeights() throws {
        let settings = TrainingSettings(epochs: 50, batchSize: 16, seed: 3, sampleCount: 4, iterations: 7, generatorAverageDecay: 0.5)
        let trainer = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: bars())
        var expected = trainer.generator.parameters.values.array.map(Double.init)
        _ = try trainer.trainEpoch { it in
            let d = min(0.5, Double(1 + it.globalIteration) / Double(10 + it.globalIteration))
            let g = trainer.generator.parameters.values.array
            for i in expected.indices { expected[i] = d * expected[i] + (1 - d) * Double(g[i]) }
        }
        let averaged = try XCTUnwrap(trainer.averagedGenerator).parameters.values.array
        XCTAssertEqual(trainer.completedIterations, 4)  // one epoch: 64 images, no validation slice, 4 batches
        let worst = zip(averaged, expected).map { abs(Double($0) - $1) }.max()!
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertNotEqual(averaged, trainer.generator.parameters.values.array, "the average must lag the trained weights")
    }

    /// With averaging, the checkpoint's generator.* is the average (what scoring loads), the
    /// trained weights sit under training.generator.*, and a resume continues bit for bit.
    func testAveragedRunResumesBitForBitAndScoringLoadsTheAverage() throws {
        let images = bars(), config = Synthetic.config(width: 4)
        let settings = TrainingSettings(epochs: 50, batchSize: 16, seed: 5, sampleCount: 4, iterations: 8, generatorAverageDecay: 0.9)
        let straight = try Trainer(config: config, settings: settings, images: images)
        try straight.run(output: TrainingOutput(directory: dir.appendingPathComponent("straight")), health: nil)

        var firstLeg = settings
        firstLeg.iterations = 3
        let out = TrainingOutput(directory: dir.appendingPathComponent("stopped"))
        try Trainer(config: config, settings: firstLeg, images: images).run(output: out, health: nil)
        let resumed = try Trainer(resuming: Checkpoint.read(out.checkpoint), images: images, iterations: 8)
        try resumed.run(output: out, health: nil)

        XCTAssertEqual(resumed.generator.parameters.values.array, straight.generator.parameters.values.array)
        XCTAssertEqual(resumed.averagedGenerator!.parameters.values.array, straight.averagedGenerator!.parameters.values.array)
        XCTAssertEqual(resumed.discriminator.parameters.values.array, straight.discriminator.parameters.values.array)

        let checkpoint = try Checkpoint.read(out.checkpoint)
        let (g, _) = try checkpoint.makeNetworks()
        XCTAssertEqual(g.parameters.values.array, straight.averagedGenerator!.parameters.values.array)
        XCTAssertEqual(checkpoint.tensors["training.generator.project.weight"]?.array,
                       straight.generator.parameters.value("project.weight").array)
        XCTAssertEqual(g.statistics.values.array, straight.outputGenerator.statistics.values.array)
    }

    /// The re-estimated statistics are the mean over the passes of each pass's batch statistics:
    /// BatchNorm with momentum 1/k after k passes, against the layer's plain reference.
    func testMomentumOneOverKGivesTheMeanOfTheBatchStatistics() throws {
        let channels = 3, shape = [4, channels, 2, 2]
        var rng = SeededGenerator(seed: 9)
        let gamma = Tensor(shape: [channels]), beta = Tensor(shape: [channels])
        gamma.fill(1)
        let mean = Tensor(shape: [channels]), variance = Tensor(shape: [channels])
        let norm = BatchNorm2d(channels: channels, weight: gamma, bias: beta, runningMean: mean, runningVariance: variance)
        var meanOfMeans = [Double](repeating: 0, count: channels), meanOfVariances = meanOfMeans
        let passes = 3
        for k in 1...passes {
            let x = Tensor.uniform(shape: shape, low: -2, high: Float(k), using: &rng)
            norm.momentum = 1 / Float(k)
            _ = norm.forward(x, training: true)
            let r = BatchNorm2d.referenceForward(x: x.array.map(Double.init), shape: shape, gamma: [1, 1, 1], beta: [0, 0, 0],
                                                 runningMean: [0, 0, 0], runningVariance: [1, 1, 1], training: true, momentum: 1)
            for c in 0..<channels {
                meanOfMeans[c] += r.runningMean[c] / Double(passes)
                meanOfVariances[c] += r.runningVariance[c] / Double(passes)
            }
        }
        for c in 0..<channels {
            XCTAssertEqual(Double(mean.data[c]), meanOfMeans[c], accuracy: 1e-5)
            XCTAssertEqual(Double(variance.data[c]), meanOfVariances[c], accuracy: 1e-5)
        }
    }

    /// Re-estimation ignores the trained G's running statistics and is deterministic.
    func testAveragedStatisticsAreReestimatedNotCopied() throws {
        let settings = TrainingSettings(epochs: 1, batchSize: 16, seed: 4, sampleCount: 4, generatorAverageDecay: 0.99)
        let trainer = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: bars())
        _ = try trainer.trainEpoch()
        let first = trainer.outputGenerator.statistics.values.array
        XCTAssertNotEqual(first, trainer.generator.statistics.values.array)
        // The same run again estimates the same statistics (seeded noise, not the trainer's stream).
        let again = try Trainer(config: Synthetic.config(width: 4), settings: settings, images: bars())
        _ = try again.trainEpoch()
        XCTAssertEqual(again.outputGenerator.statistics.values.array, first)
        XCTAssertNotEqual(first, Array(repeating: first[0], count: first.count))
    }

    /// With real label 0.9, Loss_D = BCE(D(x), 0.9) + BCE(D(G(z)), 0) on the same networks.
    func testOneSidedLabelSmoothingChangesOnlyTheRealTarget() throws {
        let config = Synthetic.config(width: 4)
        var rng = SeededGenerator(seed: 2)
        let g = Generator(config: config), d = Discriminator(config: config)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        // Logits near 0 make BCE almost blind to the target (x·t is the only term that sees it): scale them up.
        let classify = d.parameters.value("classify.weight")
        for i in 0..<classify.count { classify.data[i] *= 200 }
        let real = Synthetic.bars(8, using: &rng)
        let z = Tensor.uniform(shape: [8, config.latentDimension], low: -1, high: 1, using: &rng)

        // The same logits the step sees: D in training mode on each half (per-half statistics).
        let g2 = Generator(config: config), d2 = Discriminator(config: config)
        g2.copyState(from: g)
        d2.copyState(from: d)
        let fake = g2.forward(z, training: true)
        let realLogits = d2.forward(real, training: true).logits, fakeLogits = d2.forward(fake, training: true).logits
        let expected = Loss.binaryCrossEntropyWithLogits(realLogits, target: 0.9) + Loss.binaryCrossEntropyWithLogits(fakeLogits, target: 0)
        let paper = Loss.binaryCrossEntropyWithLogits(realLogits, target: 1) + Loss.binaryCrossEntropyWithLogits(fakeLogits, target: 0)

        let step = GANTrainingStep(generator: g, discriminator: d)
        step.realTarget = 0.9
        let losses = step.step(real: real, z: z)
        XCTAssertEqual(Double(losses.lossD), Double(expected), accuracy: 1e-4)
        XCTAssertGreaterThan(abs(Double(expected - paper)), 1e-2, "the test must tell 0.9 from 1")
    }

    func testOutOfRangeStabiliserSettingsAreRefused() {
        for (decay, label) in [(1.0, nil), (0.0, nil), (nil, Float(0.4)), (nil, Float(1.2))] as [(Double?, Float?)] {
            let settings = TrainingSettings(batchSize: 16, generatorAverageDecay: decay, realLabel: label)
            XCTAssertThrowsError(try Trainer(config: Synthetic.config(width: 4), settings: settings, images: bars())) { error in
                XCTAssertTrue("\(error)".contains(decay != nil ? "generator average decay" : "real label"), "\(error)")
            }
        }
    }
}
