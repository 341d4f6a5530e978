// The encoder start of AnoGAN's scorer (z₁ = E(x)): with Γ = 0 every score column
// equals one forward pass computed by hand, image by image; with Γ > 0 it is the
// paper's mapping from E(x); scores do not depend on the batch or on which other
// images are scored; Γ = 0 from the prior is refused, naming the setting.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class EncoderStartTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    /// Untrained G, D and E whose BatchNorm running statistics come from a few training passes,
    /// so that inference-mode outputs vary with their inputs.
    private func model() throws -> (Generator, Discriminator, LatentEncoder) {
        let config = Synthetic.config(width: 4)
        let g = Generator(config: config), d = Discriminator(config: config)
        var rng = SeededGenerator(seed: 21)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        for _ in 0..<20 {
            let images = g.forward(Tensor.uniform(shape: [16, 100], low: -1, high: 1, using: &rng), training: true)
            _ = d.forward(images, training: true)
        }
        let e = try LatentEncoder(generator: g, discriminator: d, settings: EncoderTrainingSettings(batchSize: 8, seed: 4))
        for _ in 0..<5 { e.step(Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(4, using: &rng))) }
        return (g, d, e)
    }

    private func input(_ n: Int, seed: UInt64 = 3) -> ImageInput {
        var rng = SeededGenerator(seed: seed)
        let images = Synthetic.concatenate(Synthetic.bars(n - n / 2, using: &rng), Synthetic.blobs(n / 2, using: &rng))
        return ImageInput(images: images, labels: (0..<n).map { $0 < n - n / 2 ? 0 : 1 }, ids: (0..<n).map { "q/\($0)" },
                          source: URL(fileURLWithPath: "/data/q.npy"))
    }

    private func scorer(_ g: Generator, _ d: Discriminator, _ e: LatentEncoder, steps: Int, batch: Int,
                        variant: MappingVariant = .both) throws -> LatentMappingScorer {
        try LatentMappingScorer(generator: g, discriminator: d,
                                settings: ScoringSettings(mapping: MappingSettings(steps: steps, batchSize: batch), variant: variant,
                                                          seed: 5, start: .encoder),
                                initialLatents: .encoder(e))
    }

    /// Γ = 0: R, D, A, R̂, D̂, Â and P_D of every image are those of G(E(x)) computed by hand with
    /// each network alone on that one image (batch 1), and z₁ = z_Γ = E(x).
    func testEncoderStartWithZeroStepsIsOneForwardPassByHand() throws {
        let (g, d, e) = try model()
        let q = input(5)
        let result = try scorer(g, d, e, steps: 0, batch: 3).score(q)
        XCTAssertEqual(result.columns, ScoreRow.columns, "every score column is filled")
        XCTAssertTrue(result.lossTraces.isEmpty, "Γ = 0 searches nothing")
        let item = 256
        for i in 0..<5 {
            let x = q.images.items(i..<(i + 1))
            let z = e.encoder.forward(x, training: false)
            let image = g.forward(z, training: false)
            var r = 0.0
            for k in 0..<item { r += Double(abs(x[k] - image[k])) }
            let fx = d.forward(x, training: false), fg = d.forward(image, training: false)
            var dl = 0.0
            for k in 0..<fx.features.count { dl += Double(abs(fx.features[k] - fg.features[k])) }
            let dHat = log(1 + exp(-Double(fg.logits[0])))
            let pd = 1 / (1 + exp(-Double(fx.logits[0])))
            let row = result.rows[i]
            XCTAssertEqual(row.residual!, r, accuracy: 1e-4 * r, "R image \(i)")
            XCTAssertEqual(row.discrimination!, dl, accuracy: 1e-4 * dl, "D image \(i)")
            XCTAssertEqual(row.anomaly!, 0.9 * r + 0.1 * dl, accuracy: 1e-4 * r, "A image \(i)")
            XCTAssertEqual(row.referenceResidual!, r, accuracy: 1e-4 * r, "R_hat image \(i)")
            XCTAssertEqual(row.referenceDiscrimination!, dHat, accuracy: 1e-4 * max(dHat, 1e-3), "D_hat image \(i)")
            XCTAssertEqual(row.referenceAnomaly!, 0.9 * r + 0.1 * dHat, accuracy: 1e-4 * r, "A_hat image \(i)")
            XCTAssertEqual(row.discriminatorProbability, pd, accuracy: 1e-5, "P_D image \(i)")
            for k in 0..<100 {
                XCTAssertEqual(result.initialLatents![i * 100 + k], z[k], accuracy: 1e-6)
                XCTAssertEqual(result.latents![i * 100 + k], z[k], accuracy: 1e-6)
            }
            for k in 0..<item { XCTAssertEqual(result.reconstructions[i * item + k], image[k], accuracy: 1e-5) }
        }
        // E(x) is not the prior draw: the start really changes z₁.
        let prior = try LatentMappingScorer(generator: g, discriminator: d,
                                            settings: ScoringSettings(mapping: MappingSettings(steps: 1, batchSize: 3), seed: 5))
        XCTAssertNotEqual(prior.scorer.mapper.initialLatents(ids: q.ids, seed: 5).array, result.initialLatents!.array)
    }

    /// Γ > 0: the paper's mapping, started from E(x) instead of the prior draw.
    func testEncoderStartWithStepsMapsFromTheCode() throws {
        let (g, d, e) = try model()
        let q = input(4)
        let result = try scorer(g, d, e, steps: 4, batch: 4, variant: .featureMatching).score(q)
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 4, batchSize: 4))
        let direct = try mapper.map(q.images, initialZ: e.encode(q.images), loss: .featureMatching)
        XCTAssertEqual(result.rows.map { $0.residual! }, direct.residualLoss)
        XCTAssertEqual(result.latents!.array, direct.z.array)
        XCTAssertEqual(result.lossTraces.first?.values, direct.meanLossTrace)
        XCTAssertEqual(result.columns, ["R", "D", "A", "P_D"])
    }

    /// Scoring [0, k) and [k, N) separately gives the whole set's scores, bit for bit, for Γ = 0 and
    /// Γ > 0, whatever the batch size.
    func testEncoderStartScoresDoNotDependOnTheBatch() throws {
        let (g, d, e) = try model()
        let q = input(7)
        for steps in [0, 3] {
            let whole = try scorer(g, d, e, steps: steps, batch: 7).score(q)
            for (k, batch) in [(1, 7), (3, 2), (6, 4)] {
                let s = try scorer(g, d, e, steps: steps, batch: batch)
                let rows = try s.score(q.subset(Array(0..<k))).rows + s.score(q.subset(Array(k..<7))).rows
                for i in 0..<7 {
                    XCTAssertEqual(rows[i].id, whole.rows[i].id)
                    for (a, b) in zip(rows[i].values, whole.rows[i].values) {
                        XCTAssertEqual(a.bitPattern, b.bitPattern, "Γ \(steps), k \(k), batch \(batch), image \(i): \(rows[i].values) vs \(whole.rows[i].values)")
                    }
                }
            }
        }
    }

    /// Γ = 0 from the prior would score G of a random z: refused, naming the setting; a start that
    /// disagrees with the settings is refused too; Γ = 0 is the evaluation for the mapper itself.
    func testZeroStepsFromThePriorIsRefused() throws {
        let (g, d, e) = try model()
        XCTAssertThrowsError(try AnomalyScorer(generator: g, discriminator: d,
                                               settings: ScoringSettings(mapping: MappingSettings(steps: 0)))) { error in
            XCTAssertTrue("\(error)".contains("mapping.steps") && "\(error)".contains("encoder start"), "\(error)")
        }
        XCTAssertThrowsError(try LatentMappingScorer(generator: g, discriminator: d, settings: ScoringSettings(start: .encoder))) { error in
            XCTAssertTrue("\(error)".contains("start is encoder"), "\(error)")
        }
        XCTAssertThrowsError(try LatentMappingScorer(generator: g, discriminator: d, settings: ScoringSettings(), initialLatents: .encoder(e)))
        XCTAssertThrowsError(try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: -1)))
        // The defaults: the paper's 500 from the prior, the encoder score alone from E(x).
        XCTAssertEqual(ScoringSettings().mapping.steps, 500)
        XCTAssertEqual(ScoringSettings(start: .encoder).mapping.steps, 0)
        // Progress in images for Γ = 0, ending at the total.
        let s = try scorer(g, d, e, steps: 0, batch: 2)
        XCTAssertEqual(s.workUnit, "img")
        XCTAssertEqual(s.work(imageCount: 5), 10)
        var seen: [Int] = []
        _ = try s.score(input(5)) { seen.append($0.done) }
        XCTAssertEqual(seen, [0, 2, 4, 5, 7, 9, 10])
    }
}
