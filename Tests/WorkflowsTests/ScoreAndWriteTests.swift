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
        XCTAssertEqual(result.reconstructions.array, direct.featureMatching!.reconstructions.array)
        XCTAssertEqual(result.lossTraces.map(\.name), ["feature-matching", "reference"])

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

/// The encoder and aCAE paths of `anogan score` through the use-case functions: an encoder
/// trained for a checkpoint, scored with Γ = 0, recorded in summary.json; an aCAE checkpoint
/// told apart by its format and scored in one pass.
final class EncoderAndACAEWorkflowTests: TemporaryDirectoryTestCase {
    func images(_ n: Int, seed: UInt64) throws -> URL {
        var rng = SeededGenerator(seed: seed)
        let url = dir.appendingPathComponent("images-\(seed).npy")
        try NPY.write(Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng), to: url)
        return url
    }

    func testSmallSetsLogAnEpochLinePerCheckpointNotPerEpoch() throws {
        Threads.set(1)
        let data = try images(8, seed: 3)
        var lines: [String] = []
        // 2 iterations per epoch, a checkpoint after the first epoch ending ≥ 5 iterations after the last.
        try trainOrResume(data: data, config: DCGANConfig(latentDimension: 4, imageSize: 16, width: 2), fitImageSizeToData: false,
                          settings: TrainingSettings(batchSize: 4, iterations: 20),
                          output: TrainingOutput(directory: dir.appendingPathComponent("small"), saveInterval: 5, healthInterval: 1000),
                          resume: .fresh, log: { lines.append($0) })
        let epochLines = lines.filter { $0.hasPrefix("epoch ") }
        XCTAssertEqual(epochLines.map { $0.components(separatedBy: " ")[1] }, ["3", "6", "9", "10"], "\(lines)")
        XCTAssertTrue(epochLines.allSatisfy { !$0.hasSuffix("wrote -") }, "\(epochLines)")
    }

    func testEncoderTrainsResumesAndScoresWithItsStartRecorded() throws {
        Threads.set(1)
        let data = try images(8, seed: 1)
        let runDir = dir.appendingPathComponent("gan")
        try trainOrResume(data: data, config: DCGANConfig(latentDimension: 8, imageSize: 16, width: 2), fitImageSizeToData: false,
                          settings: TrainingSettings(epochs: 1, batchSize: 4, validationFraction: TrainingSettings.defaultValidationFraction),
                          output: TrainingOutput(directory: runDir), resume: .fresh, log: { _ in })
        let gan = runDir.appendingPathComponent("checkpoint.safetensors")
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDir.appendingPathComponent("health.json").path))
        let output = EncoderTrainingOutput(directory: runDir)
        let settings = EncoderTrainingSettings(iterations: 6, batchSize: 4, seed: 2, checkpointInterval: 3)
        // Straight through vs 3 iterations then a resume to 6: the same weights, bit for bit.
        let straight = try trainEncoder(gan: gan, data: data, settings: settings,
                                        output: EncoderTrainingOutput(directory: dir.appendingPathComponent("straight")), resume: .fresh, log: { _ in })
        var half = settings
        half.iterations = 3
        try trainEncoder(gan: gan, data: data, settings: half, output: output, resume: .fresh, log: { _ in })
        XCTAssertThrowsError(try trainEncoder(gan: gan, data: data, settings: half, output: output, resume: .fresh, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("exists"), "\($0)")
        }
        let resumed = try trainEncoder(gan: gan, data: data, settings: settings, output: output,
                                       resume: .from(output.checkpoint, iterations: 6), log: { _ in })
        XCTAssertEqual(resumed.encoder.parameters.values.array, straight.encoder.parameters.values.array)
        let log = try String(contentsOf: output.lossLog, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 1 + 6)
        XCTAssertEqual(log.dropFirst().map { $0.split(separator: ",")[0] }, ["1", "2", "3", "4", "5", "6"])

        // Scoring from E(x) with Γ = 0 records the start, Γ and the encoder file.
        let out = dir.appendingPathComponent("scores")
        let result = try scoreWithCheckpoint(gan, data: data, settings: ScoringSettings(variant: .both, start: .encoder),
                                             encoder: output.checkpoint, to: out, log: { _ in })
        let run = try ScoreRun.read(from: out)
        XCTAssertEqual(run.summary?.settings.start, .encoder)
        XCTAssertEqual(run.summary?.settings.mapping.steps, 0)
        XCTAssertEqual(run.summary?.encoderCheckpoint, output.checkpoint.path)
        XCTAssertEqual(run.scores.columns, ScoreRow.columns)
        XCTAssertEqual(run.initialLatents?.array, resumed.encode(try ImageInput.load(data).images).array)
        XCTAssertEqual(result.rows.count, 8)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("trace.csv").path))
        // The encoder start without an encoder is a settings error.
        XCTAssertThrowsError(try latentMappingScorer(checkpoint: gan, settings: ScoringSettings(start: .encoder)))
    }

    func testACAECheckpointIsRecognisedAndScoredInOnePass() throws {
        Threads.set(1)
        let data = try images(6, seed: 3)
        let output = ACAETrainingOutput(directory: dir.appendingPathComponent("acae"))
        let model = try trainAutoencoder(try ImageInput.load(data), config: DCGANConfig(latentDimension: 4, imageSize: 16, width: 2),
                                         settings: ACAESettings(epochs: 5, batchSize: 2, seed: 1, iterations: 4), output: output, log: { _ in })
        XCTAssertEqual(model.completedEpochs, 1, "4 iterations of 3 per epoch: one full epoch")
        XCTAssertEqual(try String(contentsOf: output.lossLog, encoding: .utf8).split(separator: "\n").count, 1 + 4)
        XCTAssertEqual(ModelCheckpointKind.of(output.checkpoint), .acae)
        XCTAssertEqual(ModelCheckpointKind.of(output.lossLog), .anogan, "anything else is left to AnoGAN's reader")
        let out = dir.appendingPathComponent("scores")
        let result = try scoreWithCheckpoint(output.checkpoint, data: data, settings: ScoringSettings(), to: out, log: { _ in })
        let direct = try AutoencoderScorer(model: try AdversarialAutoencoder.load(from: output.checkpoint)).score(try ImageInput.load(data))
        XCTAssertEqual(result.scoreTable(), direct.scoreTable())
        XCTAssertEqual(try ScoreRun.read(from: out).scores.columns, ["R", "D", "A", "P_D"])
        XCTAssertThrowsError(try scoreWithCheckpoint(output.checkpoint, data: data, settings: ScoringSettings(variant: .both),
                                                     to: out, log: { _ in }))
    }

    /// A colour checkpoint (written before colour was refused, or by another tool) is refused
    /// before any work by every stage that reads one, and the message names the checkpoint file.
    func testAColourCheckpointIsRefusedNamingTheFile() throws {
        var rng = SeededGenerator(seed: 4)
        let colour = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 3)
        let trainer = try Trainer(config: colour, settings: TrainingSettings(epochs: 0, batchSize: 2, validationFraction: 0),
                                  images: Tensor.uniform(shape: [4, 3, 16, 16], low: -1, high: 1, using: &rng))
        let checkpoint = dir.appendingPathComponent("colour.safetensors")
        try trainer.saveCheckpoint(to: checkpoint)
        let data = dir.appendingPathComponent("grey.npy")
        try NPY.write(Tensor.uniform(shape: [4, 1, 16, 16], low: -1, high: 1, using: &rng), to: data)
        let expected = "\(checkpoint.path): the model has 3 channels; anogan trains and scores grey (one-channel) models only"
        XCTAssertThrowsError(try scoreWithCheckpoint(checkpoint, data: data, settings: ScoringSettings(mapping: MappingSettings(steps: 1)),
                                                     to: dir.appendingPathComponent("run"), log: { _ in })) {
            XCTAssertEqual("\($0)", expected)
        }
        XCTAssertThrowsError(try trainEncoder(gan: checkpoint, data: data, settings: EncoderTrainingSettings(iterations: 1, batchSize: 2),
                                              output: EncoderTrainingOutput(directory: dir.appendingPathComponent("enc")),
                                              resume: .fresh, log: { _ in })) {
            XCTAssertEqual("\($0)", expected)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path), "nothing written")
    }
}
