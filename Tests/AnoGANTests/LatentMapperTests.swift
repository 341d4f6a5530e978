// LatentMapper.swift: a query made by G from a known z* is mapped to a
// near-zero residual; an image's mapping does not depend on its batch
// companions; a decaying rate steps at its cosine's values; wrong sizes are clear errors.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class LatentMapperTests: XCTestCase {
    override func setUp() { Threads.set(1) }  // tiny shapes: one thread avoids OpenMP spinning

    /// A query made by the trained G from a known z* is mapped, from another z₁, to an image
    /// whose residual is near zero and a small fraction of the starting one. On fourteen healthy
    /// spots GANs (TrainedSpots' recipe and two nearby ones, other seeds) R(z_Γ)/R(z₁) was at most
    /// 0.15 and R(z_Γ) per pixel at most 0.005; the bounds leave room for another seed or another
    /// float summation order.
    func testMappingAGeneratedQueryDrivesTheResidualCloseToZero() throws {
        let trainer = TrainedSpots.shared.trainer
        let g = trainer.outputGenerator
        var rng = SeededGenerator(seed: 4)
        let zStar = Tensor.uniform(shape: [4, 100], low: -0.8, high: 0.8, using: &rng)
        let queries = g.forward(zStar, training: false)
        // At 0.01: the prior start's 0.1 finds the fit sooner but ends less precisely (Adam's steps stay ~0.1).
        let mapper = try LatentMapper(generator: g, discriminator: trainer.discriminator,
                                      settings: MappingSettings(steps: 500, adam: .mapping))
        let z1 = Tensor.uniform(shape: [4, 100], low: -1, high: 1, using: &rng)
        let result = try mapper.map(queries, initialZ: z1, loss: .featureMatching)
        // The residual at z₁, from an independent forward, against the one at z_Γ.
        let start = g.forward(z1, training: false)
        let pixels = queries.itemCount
        for i in 0..<4 {
            var initial = 0.0
            for k in 0..<pixels { initial += Double(abs(queries[i * pixels + k] - start[i * pixels + k])) }
            XCTAssertLessThan(result.residualLoss[i], 0.25 * initial, "image \(i): R(z_Γ) \(result.residualLoss[i]) vs R(z₁) \(initial)")
            XCTAssertLessThan(result.residualLoss[i] / Double(pixels), 0.015, "image \(i): mean |x − G(z_Γ)| per pixel")
        }
        // The reported residual is the returned reconstruction's, which is G(z_Γ), and z stays in [-1, 1].
        let residuals = result.residuals(of: queries)
        XCTAssertEqual(residuals.array[0..<pixels].reduce(0) { $0 + Double($1) }, result.residualLoss[0], accuracy: 1e-3 * max(1, result.residualLoss[0]))
        XCTAssertTrue(result.z.array.allSatisfy { $0 >= -1 && $0 <= 1 })
        let again = g.forward(result.z, training: false)
        for k in 0..<again.count { XCTAssertEqual(again[k], result.reconstructions[k], accuracy: 1e-5) }
    }

    /// The same image from the same z₁, once among other images at batch 4 and once at
    /// batch 3 with different companions, gives the same z_Γ and scores.
    func testMappingOfAnImageDoesNotDependOnItsBatch() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 6)
        let images = Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(3, using: &rng))
        let z = Tensor.uniform(shape: [7, 100], low: -1, high: 1, using: &rng)
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 30, batchSize: 4))
        for loss in [DiscriminationLoss.featureMatching, .reference] {
            let all = try mapper.map(images, initialZ: z, loss: loss)          // batches {0,1,2,3}, {4,5,6}
            // Image 0 again, now with images 5 and 6 as companions at batch 3.
            let pick = [0, 5, 6]
            let subset = Tensor(shape: [3, 1, 16, 16]), zSubset = Tensor(shape: [3, 100])
            for (k, i) in pick.enumerated() {
                (subset.data + k * 256).update(from: images.data + i * 256, count: 256)
                (zSubset.data + k * 100).update(from: z.data + i * 100, count: 100)
            }
            let alone = try mapper.map(subset, initialZ: zSubset, loss: loss)
            for (k, i) in pick.enumerated() {
                XCTAssertEqual(alone.residualLoss[k], all.residualLoss[i], accuracy: 1e-4 * max(1, all.residualLoss[i]), "\(loss) image \(i)")
                XCTAssertEqual(alone.discriminationLoss[k], all.discriminationLoss[i], accuracy: 1e-4 * max(1, all.discriminationLoss[i]))
                for j in 0..<100 { XCTAssertEqual(alone.z[k * 100 + j], all.z[i * 100 + j], accuracy: 1e-4) }
            }
        }
    }

    /// `finalLearningRate`: Adam's rate falls along a half cosine from the first step's to the
    /// last's (values worked out by hand), and the mapper steps at those rates: its z_Γ equals
    /// the steps taken by hand at 0.1, 0.0775, 0.0325 (Γ = 4: z₄ is reached by three updates).
    func testDecayingRateFollowsTheCosineFromTheFirstRateToTheLast() throws {
        let decaying = MappingSettings(steps: 4, batchSize: 4, adam: AdamSettings(learningRate: 0.1, beta1: 0.9), finalLearningRate: 0.01)
        let rates: [Float] = [0.1, 0.0775, 0.0325, 0.01]  // 0.01 + 0.09·½(1 + cos(π(s−1)/3))
        for (s, want) in rates.enumerated() { XCTAssertEqual(decaying.learningRate(atStep: s + 1), want, accuracy: 1e-6, "step \(s + 1)") }
        var constant = decaying
        constant.finalLearningRate = nil
        XCTAssertEqual(constant.learningRate(atStep: 3), 0.1)

        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 8)
        let images = Synthetic.bars(3, using: &rng)
        let z1 = Tensor.uniform(shape: [3, 100], low: -1, high: 1, using: &rng)
        let mapped = try LatentMapper(generator: g, discriminator: d, settings: decaying).map(images, initialZ: z1, loss: .featureMatching)
        let byHand = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: .featureMatching, adam: decaying.adam)
        byHand.reset(queries: images, z: z1)
        for rate in rates.prefix(3) { _ = byHand.step(learningRate: rate) }
        XCTAssertEqual(mapped.z.array, byHand.z.array)
        let atConstantRate = try LatentMapper(generator: g, discriminator: d, settings: constant).map(images, initialZ: z1, loss: .featureMatching)
        XCTAssertNotEqual(atConstantRate.z.array, mapped.z.array, "the decay changes the path")
        for bad in [Float(0), -0.01, .nan] {
            var settings = decaying
            settings.finalLearningRate = bad
            XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: settings)) { error in
                XCTAssertTrue("\(error)".contains("final learning rate on z must be a positive number"), "\(error)")
            }
            settings = decaying
            settings.adam.learningRate = bad
            XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: settings))
        }
    }

    func testWrongQuerySizeGivesAClearError() throws {
        let (g, d) = Synthetic.networks()
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1))
        let big = Tensor(shape: [2, 1, 32, 32])
        XCTAssertThrowsError(try mapper.map(big, initialZ: Tensor(shape: [2, 100]), loss: .featureMatching)) { error in
            XCTAssertEqual("\(error)", "query images have shape [2, 1, 32, 32], the model maps N×1×16×16")
        }
        let input = ImageInput(images: big, source: URL(fileURLWithPath: "/data/q.npy"))
        XCTAssertThrowsError(try input.check(fits: g.config)) { error in
            XCTAssertEqual("\(error)", "/data/q.npy: images are 32×32 but the model takes 16×16")
        }
        XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: -1)))
    }
}
