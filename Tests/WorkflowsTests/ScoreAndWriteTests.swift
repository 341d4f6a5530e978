// Score-and-write with both detectors: progress counted in the whole job's units
// (image·steps over both variants; images for the aCAE) ends exactly at the total,
// never goes back, and the written scores are the detector's, row for row.

import AnoGAN
import Foundation
import NeuralNet
import Records
import TestSupport
@testable import Workflows
import XCTest

final class ScoreAndWriteTests: TemporaryDirectoryTestCase {
    let config = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 1)

    func queries(_ n: Int) -> ImageInput {
        var rng = SeededGenerator(seed: 3)
        let images = Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng)
        return ImageInput(images: images, labels: (0..<n).map { $0 % 2 }, source: dir.appendingPathComponent("q.npy"))
    }

    func testLatentMappingProgressCountsImageStepsOverBothVariants() throws {
        var rng = SeededGenerator(seed: 1)
        let g = Generator(config: config), d = Discriminator(config: config)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        let settings = ScoringSettings(mapping: MappingSettings(steps: 3, batchSize: 2), variant: .both, seed: 1)
        let scorer = try LatentMappingScorer(generator: g, discriminator: d, settings: settings)
        let input = queries(5)
        XCTAssertEqual(scorer.work(imageCount: 5), 5 * 3 * 2)
        var seen: [Int] = []
        let result = try scorer.score(input) { seen.append($0.done); XCTAssertEqual($0.total, 30) }
        XCTAssertEqual(seen.last, 30)
        XCTAssertEqual(seen, seen.sorted(), "progress never goes back")
        // The detection is AnoGAN's own scoring (same seed → same z₁), column for column.
        let direct = try AnomalyScorer(generator: g, discriminator: d, settings: settings).score(input)
        XCTAssertEqual(result.scoreTable(), direct.scoreTable())
        XCTAssertEqual(result.reconstructions.array, direct.feature!.reconstructions.array)
        XCTAssertEqual(result.lossTraces.map(\.name), ["feature", "reference"])

        let run = dir.appendingPathComponent("run")
        let written = try scoreAndWrite(scorer, input: input, checkpoint: dir.appendingPathComponent("c.safetensors"), to: run,
                                        options: ScoreRunOptions(triplets: 1, trace: true))
        XCTAssertEqual(try ScoreTable.read(run.appendingPathComponent("scores.csv")).values.map { $0.map(Float.init) },
                       written.scoreTable().values.map { $0.map(Float.init) })
        XCTAssertEqual(try String(contentsOf: run.appendingPathComponent("trace.csv")).split(separator: "\n").count, 1 + 3)
    }

    func testAutoencoderScoresInOnePassWithoutATrace() throws {
        var rng = SeededGenerator(seed: 2)
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings(batchSize: 2, seed: 5))
        model.initialize(using: &rng)
        let scorer = AutoencoderScorer(model: model, batchSize: 2)
        var seen: [Int] = []
        let run = dir.appendingPathComponent("acae")
        let input = queries(5)
        let result = try scorer.score(input) { seen.append($0.done) }
        XCTAssertEqual(seen, [2, 4, 5])
        XCTAssertEqual(result.columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(result.latents?.shape, [5, 4], "enc(x) of every image")
        XCTAssertTrue(result.lossTraces.isEmpty)
        try scoreAndWrite(scorer, input: input, checkpoint: dir.appendingPathComponent("a.safetensors"), to: run,
                          options: ScoreRunOptions(triplets: 0, trace: true))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("trace.csv").path), "no search, no trace")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["reconstructionsFrom"] as? String, "encoder")
        XCTAssertEqual(summary["seed"] as? Int, 5)
    }
}
