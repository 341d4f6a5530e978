// Latent mapping and scoring: a query made by G from a known z* is mapped to a
// near-zero residual; an image's mapping does not depend on its batch
// companions; wrong sizes are clear errors; a score run writes the files of
// a ScoreRun with A = (1−λ)R + λD and P_D = σ(D(x)).

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class MappingTests: XCTestCase {
    override func setUp() { Threads.set(1) }  // tiny shapes: one thread avoids OpenMP spinning

    /// A G and D with seeded random DCGAN initialisation (untrained), width 4, 16×16, whose
    /// BatchNorm running statistics come from a few training-mode passes, so that G's output
    /// varies with z in inference mode as it does after training.
    private func networks(seed: UInt64 = 9, width: Int = 4) -> (Generator, Discriminator) {
        let config = Synthetic.config(width: width)
        let g = Generator(config: config), d = Discriminator(config: config)
        var rng = SeededGenerator(seed: seed)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        for _ in 0..<30 {
            let images = g.forward(Tensor.uniform(shape: [16, 100], low: -1, high: 1, using: &rng), training: true)
            _ = d.forward(images, training: true)
        }
        return (g, d)
    }

    /// A query made by the trained G from a known z* is mapped, from another z₁, to an
    /// image whose residual is a small fraction of the starting one.
    func testMappingAGeneratedQueryDrivesTheResidualCloseToZero() throws {
        let trainer = TrainedBars.shared.trainer
        let g = trainer.generator
        var rng = SeededGenerator(seed: 4)
        let zStar = Tensor.uniform(shape: [4, 100], low: -0.8, high: 0.8, using: &rng)
        let queries = g.forward(zStar, training: false)
        let mapper = try LatentMapper(generator: g, discriminator: trainer.discriminator, settings: MappingSettings(steps: 500))
        let z1 = Tensor.uniform(shape: [4, 100], low: -1, high: 1, using: &rng)
        let result = try mapper.map(queries, initialZ: z1, loss: .featureMatching)
        // The residual at z₁, from an independent forward, against the one at z_Γ.
        let start = g.forward(z1, training: false)
        let pixels = queries.itemCount
        for i in 0..<4 {
            var initial = 0.0
            for k in 0..<pixels { initial += Double(abs(queries[i * pixels + k] - start[i * pixels + k])) }
            XCTAssertLessThan(result.residualLoss[i], 0.1 * initial, "image \(i): R(z_Γ) \(result.residualLoss[i]) vs R(z₁) \(initial)")
            XCTAssertLessThan(result.residualLoss[i] / Double(pixels), 0.02, "image \(i): mean |x − G(z_Γ)| per pixel")
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
        let (g, d) = networks()
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

    func testWrongQuerySizeGivesAClearError() throws {
        let (g, d) = networks()
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

    /// Score run end to end on an untrained model: the files of a ScoreRun, scores that
    /// follow their definitions, and the same z₁ for both variants.
    func testScoreRunWritesTheContractFiles() throws {
        let (g, d) = networks()
        var rng = SeededGenerator(seed: 8)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        var input = ImageInput(images: images, labels: [0, 0, 0, 1, nil], source: URL(fileURLWithPath: "/data/q.npy"))
        input.ids = ["a", "b", "c", "d", "e"]
        let settings = ScoringSettings(mapping: MappingSettings(steps: 5, batchSize: 2), variant: .both, seed: 1)
        let result = try AnomalyScorer(generator: g, discriminator: d, settings: settings).score(input)
        XCTAssertEqual(result.featureMatching!.initialZ.array, result.reference!.initialZ.array)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anogan-score-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try DetectionResult(result).write(input: input, checkpoint: URL(fileURLWithPath: "/ckpt.safetensors"), config: g.config,
                         settings: settings, triplets: 2, trace: true, threads: 1, to: dir)
        let table = try ScoreTable.read(dir.appendingPathComponent("scores.csv"))
        XCTAssertEqual(table.columns, ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"])
        XCTAssertEqual(table.ids, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(table.labels, [0, 0, 0, 1, nil])
        let logits = d.forward(images, training: false).logits
        for row in 0..<5 {
            let v = table.values[row]
            XCTAssertEqual(v[2], 0.9 * v[0] + 0.1 * v[1], accuracy: 1e-6 * max(1, v[2]))
            XCTAssertEqual(v[5], 0.9 * v[3] + 0.1 * v[4], accuracy: 1e-6 * max(1, v[5]))
            XCTAssertEqual(v[6], 1 / (1 + exp(-Double(logits[row]))), accuracy: 1e-6)
            // R is Σ|x − G(z_Γ)| of the written reconstruction.
        }
        let reconstructions = try NPY.readTensor(dir.appendingPathComponent("reconstructions.npy"))
        let residuals = try NPY.readTensor(dir.appendingPathComponent("residuals.npy"))
        let features = try NPY.readTensor(dir.appendingPathComponent("features.npy"))
        XCTAssertEqual(reconstructions.shape, [5, 1, 16, 16])
        XCTAssertEqual(residuals.shape, [5, 1, 16, 16])
        XCTAssertEqual(features.shape, [5, 32 * 1 * 1])
        for i in 0..<5 {
            var r = 0.0
            for k in 0..<256 {
                XCTAssertEqual(residuals[i * 256 + k], abs(images[i * 256 + k] - reconstructions[i * 256 + k]), accuracy: 1e-6)
                r += Double(residuals[i * 256 + k])
            }
            XCTAssertEqual(r, table.values[i][0], accuracy: 1e-3 * max(1, r))
        }
        let trace = try String(contentsOf: dir.appendingPathComponent("trace.csv")).split(separator: "\n")
        XCTAssertEqual(trace.first, "step,feature-matching,reference")
        XCTAssertEqual(trace.count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("triplets/0001.png").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("triplets/0002.png").path))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["count"] as? Int, 5)
        XCTAssertEqual(summary["anomalous"] as? Int, 1)
        XCTAssertEqual(summary["unlabeled"] as? Int, 1)
        // z₁ and z_Γ as .npy; the whole run reads back through the same type.
        XCTAssertEqual(try NPY.readTensor(dir.appendingPathComponent("z1.npy")).array, result.featureMatching!.initialZ.array)
        XCTAssertEqual(try NPY.readTensor(dir.appendingPathComponent("z_gamma.npy")).array, result.featureMatching!.z.array)
        let run = try ScoreRun.read(from: dir)
        XCTAssertEqual(run.missing, [])
        XCTAssertEqual(run.scores, table)
        XCTAssertEqual(run.summary?.settings, settings)
        XCTAssertEqual(run.summary?.architecture, g.config)
        XCTAssertEqual(run.summary?.patches, "/data/q.npy")
        XCTAssertEqual(run.initialLatents?.shape, [5, 100])
        XCTAssertEqual(run.latents?.array, result.featureMatching!.z.array)
        XCTAssertEqual(run.trace, ScoreRun.Trace(featureMatching: result.featureMatching!.meanLossTrace, reference: result.reference!.meanLossTrace))

        // Only the paper's variant: only its columns.
        let featureOnly = try AnomalyScorer(generator: g, discriminator: d,
                                            settings: ScoringSettings(mapping: MappingSettings(steps: 5, batchSize: 5), variant: .featureMatching, seed: 1)).score(input)
        XCTAssertEqual(featureOnly.scoreTable().columns, ["R", "D", "A", "P_D"])
        // Batch size does not change the scores (same seed → same z₁).
        for i in 0..<5 {
            XCTAssertEqual(featureOnly.rows[i].anomaly!, result.rows[i].anomaly!, accuracy: 1e-4 * max(1, result.rows[i].anomaly!))
        }
    }

    /// z₁ of an image comes from (seed, id) alone: scoring [0, k) and [k, N) separately
    /// and concatenating gives the whole set's results bit for bit, whatever the batch.
    func testScoringShardsEqualsScoringTheWholeSetBitForBit() throws {
        let (g, d) = networks()
        var rng = SeededGenerator(seed: 12)
        let images = Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(3, using: &rng))
        let input = ImageInput(images: images, labels: [0, 0, 0, 0, 1, 1, 1], ids: (0..<7).map { "vol/\($0 * 3)/5/9" },
                               source: URL(fileURLWithPath: "/data/q.npy"))
        let settings = ScoringSettings(mapping: MappingSettings(steps: 6, batchSize: 7), variant: .both, seed: 77)
        let scorer = try AnomalyScorer(generator: g, discriminator: d, settings: settings)
        let whole = try scorer.score(input)
        for k in [1, 3, 6] {
            let head = try scorer.score(input.subset(Array(0..<k))), tail = try scorer.score(input.subset(Array(k..<7)))
            let rows = head.rows + tail.rows
            // Same batching as the whole set's (one batch of all images) cannot be the reason: a shard is its own batch.
            for i in 0..<7 {
                XCTAssertEqual(rows[i].id, whole.rows[i].id)
                for (a, b) in zip(rows[i].values, whole.rows[i].values) {
                    XCTAssertEqual(a.bitPattern, b.bitPattern, "k \(k), image \(i): \(rows[i].values) vs \(whole.rows[i].values)")
                }
            }
            for (part, offset) in [(head, 0), (tail, k)] {
                let n = part.rows.count, latent = 100
                for (mine, all) in [(part.featureMatching!.initialZ, whole.featureMatching!.initialZ), (part.featureMatching!.z, whole.featureMatching!.z),
                                    (part.reference!.z, whole.reference!.z)] {
                    XCTAssertEqual(mine.array, Array(all.array[(offset * latent)..<((offset + n) * latent)]), "k \(k)")
                }
            }
        }
        // z₁ is uniform on [-1, 1], differs between ids and between seeds, and is the stream (seed, id).
        let z = scorer.mapper.initialLatents(ids: ["a", "b"], seed: 77)
        XCTAssertTrue(z.array.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertNotEqual(Array(z.array[0..<100]), Array(z.array[100..<200]))
        XCTAssertNotEqual(z.array, scorer.mapper.initialLatents(ids: ["a", "b"], seed: 78).array)
        var stream = SeededGenerator(seed: 77, stream: "b")
        XCTAssertEqual(Array(z.array[100..<200]), (0..<100).map { _ in stream.uniform(-1, 1) })
    }

    /// Duplicate ids are refused, naming the source.
    func testDuplicateIDsAreRefused() throws {
        let input = ImageInput(images: Tensor(shape: [3, 1, 16, 16]), ids: ["x", "y", "x"], source: URL(fileURLWithPath: "/data/q.npy"))
        XCTAssertThrowsError(try input.validate()) { error in
            XCTAssertEqual("\(error)", "/data/q.npy: id \"x\" is shared by images 0 and 2; ids must be unique")
        }
    }
}
