// The training health report: it flags a generator that ignores z and a tiny GAN
// that collapsed, passes the trained spots GAN, reads D's trends from the loss history, and round-trips.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class TrainingHealthTests: TemporaryDirectoryTestCase {
    override func setUp() { Threads.set(1) }

    private let quick = HealthSettings(mappingSteps: 20, images: 16, samples: 32)

    /// A copy of the healthy spots G (testTrainedGANPasses) whose projection weights are zero:
    /// every z gives the same image.
    func testCollapsedGeneratorIsFlagged() throws {
        let model = TrainedSpots.shared
        let source = model.trainer.outputGenerator
        let g = Generator(config: source.config)
        g.parameters.values.assign(from: source.parameters.values)
        g.statistics.values.assign(from: source.statistics.values)
        g.parameters.value("project.weight").fill(0)
        let health = try TrainingHealth.assess(generator: g, discriminator: model.trainer.discriminator,
                                               trainingImages: model.data, validationImages: model.trainer.validationImages,
                                               lossHistory: [], settings: quick)
        print(health)
        XCTAssertEqual(health.diversity.samples, 0, accuracy: 1e-6)
        XCTAssertGreaterThan(health.diversity.data, 0.01)
        XCTAssertTrue(health.warnings.contains { $0.issue == .collapsed }, "\(health)")
        XCTAssertFalse(health.isHealthy)
        let line = health.warnings.first { $0.issue == .collapsed }!.message
        XCTAssertTrue(line.hasPrefix("generator collapsed: samples are 0 % as diverse as the data"), line)
        XCTAssertTrue(health.description.contains("WARNING: generator collapsed"))
        XCTAssertNil(health.trend)
    }

    /// A GAN trained on bars at random columns with random brightness (width 16, 16×16, 320
    /// steps, lr 1e-3) collapses on its own (as SyntheticData.swift notes) — the silent failure the
    /// report exists for: it is flagged. The report's numbers follow their definitions.
    /// (The passing side is testTrainedGANPasses, on soft spots, and every threshold on its own
    /// on hand-made numbers in testVerdictsNameTheCause.)
    func testNaturallyCollapsedTinyGANIsFlagged() throws {
        var rng = SeededGenerator(seed: 17)
        let data = Synthetic.bars(512, brightness: 0.3...1, using: &rng)
        var settings = TrainingSettings(epochs: 20, batchSize: 32, seed: 3, sampleCount: 4, validationFraction: 0.05)
        settings.adam.learningRate = 1e-3
        let trainer = Synthetic.trainedGAN(on: data, settings: settings).trainer
        let model = (trainer: trainer, data: trainer.trainingSample(count: 512))
        let history = (0..<40).map { i in GANStepLosses(lossD: 1, lossG: 1, dReal: 0.6, dFake: 0.4 + 0.001 * Float(i), dFakeAfter: 0.4) }
        let health = try TrainingHealth.assess(generator: model.trainer.generator, discriminator: model.trainer.discriminator,
                                               trainingImages: model.data, validationImages: trainer.validationImages,
                                               lossHistory: history, settings: quick)
        print(health)
        XCTAssertLessThan(health.diversity.ratio, 0.2, "\(health)")
        XCTAssertTrue(health.warnings.contains { $0.issue == .collapsed }, "\(health)")
        XCTAssertFalse(health.warnings.contains { $0.issue == .memorised }, "\(health)")
        XCTAssertEqual(health.diversity.ratio, health.diversity.samples / health.diversity.data, accuracy: 1e-12)
        XCTAssertEqual(health.reconstruction.ratio!, health.reconstruction.validation! / health.reconstruction.training, accuracy: 1e-12)
        XCTAssertEqual(health.iteration, 40)
        // Trend over the last 10 % (4 iterations): D(G(z)) = 0.436…0.439, slope 0.001/iteration = 1 per 1000.
        let t = try XCTUnwrap(health.trend)
        XCTAssertEqual(t.iterations, 4)
        XCTAssertEqual(t.dReal, 0.6, accuracy: 1e-6)
        XCTAssertEqual(t.dRealSlope, 0, accuracy: 1e-6)
        XCTAssertEqual(t.dFake, 0.4375, accuracy: 1e-6)
        XCTAssertEqual(t.dFakeSlope, 1, accuracy: 1e-3)

        let url = dir.appendingPathComponent("health.json")
        try health.write(to: url)
        XCTAssertEqual(try TrainingHealth.read(url), health)
    }

    /// The GAN trained on soft spots (TrainedSpots) passes: no warning, samples about as diverse
    /// as the data, reconstructions of held-out spots far better than the mean image and no
    /// worse than those of training spots, and a D that has not won.
    func testTrainedGANPasses() throws {
        let model = TrainedSpots.shared
        let health = try model.trainer.assessHealth(lossHistory: model.lossHistory, settings: HealthSettings(images: 16, samples: 32))
        print(health)
        XCTAssertEqual(health.warnings, [], "\(health)")
        XCTAssertTrue(health.isHealthy)
        XCTAssertEqual(health.iteration, model.lossHistory.count)
        XCTAssertEqual(health.diversity.ratio, 1, accuracy: 0.4, "\(health)")
        let r = health.reconstruction
        XCTAssertLessThan(try XCTUnwrap(r.validation), 0.8 * r.meanImage, "\(health)")
        XCTAssertLessThan(try XCTUnwrap(r.ratio), 1.3, "\(health)")
        let trend = try XCTUnwrap(health.trend)
        XCTAssertLessThan(trend.dReal, 0.97, "\(health)")
        XCTAssertGreaterThan(trend.dFake, 0.03, "\(health)")
    }

    /// The verdicts on hand-made numbers: each threshold on its own.
    func testVerdictsNameTheCause() {
        let base = TrainingHealth(iteration: 100,
                                  reconstruction: .init(start: "prior", steps: 50, validation: 0.1, training: 0.1, ratio: 1, meanImage: 0.5),
                                  diversity: .init(samples: 0.3, data: 0.3, ratio: 1),
                                  trend: .init(iterations: 10, dReal: 0.6, dRealSlope: 0, dFake: 0.4, dFakeSlope: 0), warnings: [])
        XCTAssertEqual(TrainingHealth.verdicts(base), [])
        var memorised = base
        memorised.reconstruction.validation = 0.2
        memorised.reconstruction.ratio = 2
        XCTAssertEqual(TrainingHealth.verdicts(memorised).map(\.issue), [.memorised])
        XCTAssertTrue(TrainingHealth.verdicts(memorised)[0].message.contains("2.0× worse"))
        var poor = base
        poor.reconstruction.validation = 0.48
        poor.reconstruction.training = 0.48
        XCTAssertEqual(TrainingHealth.verdicts(poor).map(\.issue), [.poorFit])
        XCTAssertTrue(TrainingHealth.verdicts(poor)[0].message.hasSuffix("; train longer, or check the images' range ([-1, 1]) and size"))
        // It fitted well at iteration 40 (0.2 < 0.8 × 0.48, and below the poor-fit line 0.45): it drifted, train fewer.
        poor.bestEarlier = .init(iteration: 40, value: 0.2)
        XCTAssertEqual(TrainingHealth.verdicts(poor).map(\.issue), [.poorFit])
        XCTAssertTrue(TrainingHealth.verdicts(poor)[0].message.hasSuffix(
            "; they were 0.2 at iteration 40: the GAN drifted away from the data; train fewer iterations (about 40), not longer"),
                      TrainingHealth.verdicts(poor)[0].message)
        // Hardly better earlier (0.4 ≥ 0.8 × 0.48), or poor then too (0.46 > 0.45): train longer, as before.
        for earlier in [0.4, 0.46] {
            poor.bestEarlier = .init(iteration: 40, value: earlier)
            XCTAssertTrue(TrainingHealth.verdicts(poor)[0].message.hasSuffix("; train longer, or check the images' range ([-1, 1]) and size"))
        }
        // Which way the warnings point: a drift calls for fewer iterations, a plain poor fit for more.
        for (earlier, fewer) in [(0.2, true), (0.4, false)] {
            poor.bestEarlier = .init(iteration: 40, value: earlier)
            poor.warnings = TrainingHealth.verdicts(poor)
            XCTAssertEqual(poor.callsForFewerIterations, fewer, "best earlier \(earlier)")
        }
        // The record passes on the lower of the earlier best and this check.
        poor.bestEarlier = .init(iteration: 40, value: 0.46)
        XCTAssertEqual(poor.bestSoFar, .init(iteration: 40, value: 0.46))
        poor.bestEarlier = nil
        XCTAssertEqual(poor.bestSoFar, .init(iteration: 100, value: 0.48))
        poor.bestEarlier = .init(iteration: 40, value: 0.6)
        XCTAssertEqual(poor.bestSoFar, .init(iteration: 100, value: 0.48))
        var winning = base
        winning.trend = .init(iterations: 10, dReal: 0.99, dRealSlope: 0, dFake: 0.01, dFakeSlope: 0)
        XCTAssertEqual(TrainingHealth.verdicts(winning).map(\.issue), [.discriminatorWins])
        // The demo's healthy GAN runs at D(x) ≈ 0.93, D(G(z)) ≈ 0.07: no warning.
        winning.trend = .init(iterations: 64, dReal: 0.93, dRealSlope: 0, dFake: 0.07, dFakeSlope: 0)
        XCTAssertEqual(TrainingHealth.verdicts(winning), [])
        var collapsed = base
        collapsed.iteration = 2000
        collapsed.diversity = .init(samples: 0.036, data: 0.3, ratio: 0.12)
        XCTAssertTrue(TrainingHealth.verdicts(collapsed)[0].message.hasPrefix("generator collapsed: samples are 12 % as diverse as the data"))
        XCTAssertTrue(TrainingHealth.verdicts(collapsed)[0].message.hasSuffix("train again with fewer iterations (--iterations; train keeps only its last checkpoint), or on more data / at a lower learning rate"))
        collapsed.warnings = TrainingHealth.verdicts(collapsed)
        XCTAssertTrue(collapsed.callsForFewerIterations)
        XCTAssertFalse(base.callsForFewerIterations, "no warning")
        // Young: the same numbers after 100 iterations call for more training, not less.
        collapsed.iteration = 100
        collapsed.warnings = TrainingHealth.verdicts(collapsed)
        XCTAssertFalse(collapsed.callsForFewerIterations)
        XCTAssertEqual(TrainingHealth.verdicts(collapsed).map(\.issue), [.collapsed])
        XCTAssertTrue(TrainingHealth.verdicts(collapsed)[0].message.hasSuffix("after only 100 iterations it has not learned the data yet: train longer (thousands of iterations)"))
    }
}
