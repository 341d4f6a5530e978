// LatentMapper.priorStart: z₁ chosen among K draws from the prior by the
// mapping's own loss. Checked against the draws made by hand and their losses
// from LatentMappingStep's first step (another code path: the folded D), for
// independence from the batch, as the start the scorer records, and on a
// trained GAN, where the chosen start fits the image better than the single draw.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class LatentMapperPriorStartTests: XCTestCase {
    override func setUp() { Threads.set(1) }  // tiny shapes: one thread avoids OpenMP spinning

    private let ids = ["a", "b", "volume/3/7/9", "d", "e"]

    /// Candidate c of an image is the c-th run of 100 draws of its stream, made here by hand.
    private func draws(_ id: String, seed: UInt64, count: Int) -> [[Float]] {
        var rng = SeededGenerator(seed: seed, stream: id)
        return (0..<count).map { _ in (0..<100).map { _ in rng.uniform(-1, 1) } }
    }

    /// On the trained spots GAN, whose G(z) changes with z (an untrained G's barely does, so its
    /// draws tie to rounding).
    func testTheStartIsTheDrawOfLowestLossAndOneDrawIsThePapersStart() throws {
        let model = TrainedSpots.shared
        let g = model.trainer.generator, d = model.trainer.discriminator
        var rng = SeededGenerator(seed: 2)
        let images = Synthetic.spots(5, using: &rng)
        let k = 6
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, batchSize: 2, priorCandidates: k))
        for loss in [DiscriminationLoss.featureMatching, .reference] {
            let chosen = try mapper.priorStart(images, ids: ids, seed: 3, loss: loss)
            let byStep = LatentMappingStep(generator: g, discriminator: d, lambda: 0.1, loss: loss)
            var pickedLater = 0
            for (i, id) in ids.enumerated() {
                let candidates = draws(id, seed: 3, count: k)
                let losses = candidates.map { z -> Float in
                    byStep.reset(queries: images.items(i..<(i + 1)), z: Tensor(shape: [1, 100], values: z))
                    return byStep.step()[0].total
                }
                let best = losses.indices.min { losses[$0] < losses[$1] }!
                // Losses of different draws differ by far more than the two paths' rounding.
                let sorted = losses.sorted()
                XCTAssertGreaterThan(sorted[1] - sorted[0], 1e-4 * sorted[0], "\(loss) image \(i): a near tie")
                XCTAssertEqual(Array(chosen.array[(i * 100)..<((i + 1) * 100)]), candidates[best], "\(loss) image \(i): losses \(losses)")
                if best > 0 { pickedLater += 1 }
            }
            XCTAssertGreaterThan(pickedLater, 0, "\(loss): every image kept its first draw, so the test cannot tell a choice from none")
        }
        // One draw (nil or 1): the paper's z₁, the first of the draws.
        for one in [nil, 1] {
            let single = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, priorCandidates: one))
            let z = try single.priorStart(images, ids: ids, seed: 3, loss: .featureMatching)
            XCTAssertEqual(z.array, single.initialLatents(ids: ids, seed: 3).array)
            XCTAssertEqual(Array(z.array[0..<100]), draws("a", seed: 3, count: 1)[0])
        }
    }

    func testAnImagesStartDoesNotDependOnItsBatch() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 5)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        let all = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, batchSize: 3, priorCandidates: 5))
            .priorStart(images, ids: ids, seed: 1, loss: .featureMatching)
        let pick = [4, 1]
        let subset = Synthetic.concatenate(images.items(4..<5), images.items(1..<2))
        let alone = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, batchSize: 1, priorCandidates: 5))
            .priorStart(subset, ids: pick.map { ids[$0] }, seed: 1, loss: .featureMatching)
        for (k, i) in pick.enumerated() {
            XCTAssertEqual(Array(alone.array[(k * 100)..<((k + 1) * 100)]), Array(all.array[(i * 100)..<((i + 1) * 100)]), "image \(i)")
        }
    }

    /// The scorer starts each variant at its own loss's choice and records it as z₁.
    func testTheScorerMapsFromTheChosenStartOfEachVariant() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 9)
        let images = Synthetic.bars(3, using: &rng)
        let input = ImageInput(images: images, labels: [0, 1, 0], ids: Array(ids.prefix(3)), source: URL(fileURLWithPath: "/q.npy"))
        let settings = ScoringSettings(mapping: MappingSettings(steps: 2, priorCandidates: 4), variant: .both, seed: 7)
        let result = try AnomalyScorer(generator: g, discriminator: d, settings: settings).score(input)
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: settings.mapping)
        XCTAssertEqual(result.featureMatching?.initialZ.array,
                       try mapper.priorStart(images, ids: input.ids, seed: 7, loss: .featureMatching).array)
        XCTAssertEqual(result.reference?.initialZ.array, try mapper.priorStart(images, ids: input.ids, seed: 7, loss: .reference).array)
    }

    func testBadCountsAreClearErrors() throws {
        let (g, d) = Synthetic.networks()
        XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, priorCandidates: 0))) { error in
            XCTAssertEqual("\(error)", "the number of prior candidates for z₁ must be ≥ 1, got 0")
        }
        XCTAssertThrowsError(try ScoringSettings(mapping: MappingSettings(steps: 5, priorCandidates: 4), start: .encoder).validate()) { error in
            XCTAssertTrue("\(error)".contains("scoring.mapping.priorCandidates applies to the prior start"), "\(error)")
        }
        XCTAssertThrowsError(try MappingSettings(priorCandidates: 0).validate()) { error in
            XCTAssertTrue("\(error)".contains("scoring.mapping.priorCandidates must be in 1…"), "\(error)")
        }
        XCTAssertNoThrow(try ScoringSettings(mapping: MappingSettings(steps: 5, priorCandidates: 1), start: .encoder).validate())
    }

    /// On a trained GAN a start chosen among 8 draws is nearer its fit: the held-out images' mean R
    /// at z₁ is well below the single draw's: 0.41–0.57 on fourteen healthy spots GANs (TrainedSpots'
    /// recipe and two nearby ones), about 1 on collapsed ones. After 10 steps of mapping the ratio was
    /// 0.80–1.14 over eight seeds, so the head start is not asserted to last on these tiny GANs;
    /// docs/DETECTION.md measures what it buys on real data.
    func testOnATrainedGANTheChosenStartFitsBetter() throws {
        let model = TrainedSpots.shared
        var rng = SeededGenerator(seed: 11)
        let queries = Synthetic.spots(24, using: &rng)
        let queryIDs = (0..<24).map { "q\($0)" }
        func meanResidual(candidates: Int) throws -> Double {
            let mapper = try LatentMapper(generator: model.trainer.outputGenerator, discriminator: model.trainer.discriminator,
                                          settings: MappingSettings(steps: 1, priorCandidates: candidates))
            let z1 = try mapper.priorStart(queries, ids: queryIDs, seed: 2, loss: .featureMatching)
            let r = try mapper.evaluate(queries, at: z1, loss: .featureMatching).residualLoss
            return r.reduce(0, +) / Double(r.count)
        }
        let single = try meanResidual(candidates: 1), chosen = try meanResidual(candidates: 8)
        print("mean R at z₁: single draw \(single), best of 8 \(chosen)")
        XCTAssertLessThan(chosen, 0.8 * single)
    }
}
