// DetectionResult+ScoreRun.swift: a score run of an untrained model writes the
// files of a ScoreRun with A = (1−λ)R + λD and P_D = σ(D(x)), and reads back.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class DetectionResultScoreRunTests: TemporaryDirectoryTestCase {
    override func setUp() { Threads.set(1) }  // tiny shapes: one thread avoids OpenMP spinning

    /// Score run end to end on an untrained model: the files of a ScoreRun, scores that
    /// follow their definitions, and the same z₁ for both variants.
    func testScoreRunWritesTheContractFiles() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 8)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        var input = ImageInput(images: images, labels: [0, 0, 0, 1, nil], source: URL(fileURLWithPath: "/data/q.npy"))
        input.ids = ["a", "b", "c", "d", "e"]
        let settings = ScoringSettings(mapping: MappingSettings(steps: 5, batchSize: 2), variant: .both, seed: 1)
        let result = try AnomalyScorer(generator: g, discriminator: d, settings: settings).score(input)
        XCTAssertEqual(result.featureMatching!.initialZ.array, result.reference!.initialZ.array)

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
}
