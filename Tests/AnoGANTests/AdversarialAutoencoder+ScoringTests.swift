// AdversarialAutoencoder+Scoring.swift: the aCAE's scores and its score run
// directory, against values recomputed from the networks.

import XCTest
import Foundation
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class AdversarialAutoencoderScoringTests: TemporaryDirectoryTestCase {
    func testScoresMatchDefinitionAndRunDirectoryHasContractFiles() throws {
        var rng = SeededGenerator(seed: 5)
        let config = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 1)
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings(batchSize: 4))
        model.initialize(using: &rng)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        let input = ImageInput(images: images, labels: [0, 0, 0, 1, 1], source: dir.appendingPathComponent("queries.npy"))
        let result = try model.score(input, lambda: 0.1, batchSize: 2)   // batches 2+2+1: batching must not matter

        XCTAssertEqual(result.scoreTable().columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(result.rows.map(\.label), [0, 0, 0, 1, 1])
        XCTAssertEqual(result.queryFeatures.shape, [5, 16 * 1 * 1])
        // Independent recomputation with the whole batch at once.
        let xhat = model.reconstruct(images, training: false).reconstructions
        let real = model.discriminator.forward(images, training: false), fake = model.discriminator.forward(xhat, training: false)
        for i in 0..<5 {
            var r = 0.0, d = 0.0
            for j in 0..<256 { r += Double(abs(images.data[i * 256 + j] - xhat.data[i * 256 + j])) }
            for j in 0..<16 { d += Double(abs(real.features.data[i * 16 + j] - fake.features.data[i * 16 + j])) }
            let row = result.rows[i]
            XCTAssertEqual(row.residual!, r, accuracy: 1e-3 * r)
            XCTAssertEqual(row.discrimination!, d, accuracy: 1e-3 * max(d, 1e-3))
            XCTAssertEqual(row.anomaly!, 0.9 * row.residual! + 0.1 * row.discrimination!, accuracy: 1e-6 * row.anomaly!)  // λ is a Float
            XCTAssertEqual(row.discriminatorProbability, 1 / (1 + exp(-Double(real.logits[i]))), accuracy: 1e-5)
            XCTAssertNil(row.referenceAnomaly)
        }
        let checkpoint = dir.appendingPathComponent("acae.safetensors")
        try model.save(to: checkpoint)
        let run = dir.appendingPathComponent("run")
        let scorer = AutoencoderScorer(model: model, lambda: 0.1, batchSize: 2)
        try result.write(input: input, checkpoint: checkpoint, config: config, settings: scorer.recordedSettings,
                         triplets: 2, trace: true, threads: 1, to: run)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("trace.csv").path), "no search, no trace")
        for file in ["scores.csv", "summary.json", "reconstructions.npy", "residuals.npy", "features.npy", "triplets/0001.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), file)
        }
        let table = try ScoreTable.read(run.appendingPathComponent("scores.csv"))
        XCTAssertEqual(table.columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(table.column("A")!, result.rows.map { $0.anomaly! })
        XCTAssertEqual(try NPY.read(run.appendingPathComponent("reconstructions.npy")).shape, [5, 1, 16, 16])

        // The checkpoint round-trips: the reloaded model scores identically.
        let reloaded = try AdversarialAutoencoder.load(from: checkpoint)
        XCTAssertEqual(try reloaded.score(input).rows, result.rows)
    }
}
