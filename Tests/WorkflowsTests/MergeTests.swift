// Sharded scoring and its merge (scoreWithCheckpoint's shard, mergeShardRuns):
// the shards of a small patch set, scored one by one with another batch size and
// merged in any order, are the unsharded run file for file (scores.csv, every
// .npy, the triplet pictures; trace.csv to rounding); shards that do not belong
// together are refused in one line naming the run and the reason.

import AnoGAN
import Evaluation
import Foundation
import NeuralNet
import Records
import TestSupport
@testable import Workflows
import XCTest

final class MergeTests: TemporaryDirectoryTestCase {
    var checkpoint: URL!
    var data: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        Threads.set(1)
        data = try patchSet(7, seed: 1, name: "patches")
        // Width 4: a narrower model trained this briefly makes G(z) constant in z, and the test could not see z.
        let run = dir.appendingPathComponent("gan")
        try trainOrResume(data: data, config: DCGANConfig(latentDimension: 8, imageSize: 16, width: 4), fitImageSizeToData: false,
                          settings: TrainingSettings(epochs: 1, batchSize: 4, validationFraction: 0),
                          output: TrainingOutput(directory: run), resume: .fresh, log: { _ in })
        checkpoint = run.appendingPathComponent("checkpoint.safetensors")
    }

    /// A labelled patch set of `n` random 16² images with ids "name/k/…".
    func patchSet(_ n: Int, seed: UInt64, name: String) throws -> URL {
        var rng = SeededGenerator(seed: seed)
        let url = dir.appendingPathComponent(name)
        try PatchSet(images: Tensor.uniform(shape: [n, 1, 16, 16], low: -1, high: 1, using: &rng), labels: (0..<n).map { $0 % 2 },
                     sources: (0..<n).map { PatchSource(volume: name, bscan: $0, x: 3, y: 4) }).save(to: url)
        return url
    }

    @discardableResult
    func score(_ out: String, shard: Shard? = nil, data: URL? = nil, settings: ScoringSettings, options: ScoreRunOptions,
               checkpoint: URL? = nil) throws -> URL {
        let url = dir.appendingPathComponent(out)
        try scoreWithCheckpoint(checkpoint ?? self.checkpoint, data: data ?? self.data, settings: settings, shard: shard, to: url,
                                options: options, log: { _ in })
        return url
    }

    func bytes(_ url: URL, _ name: String) throws -> Data { try Data(contentsOf: url.appendingPathComponent(name)) }

    func testMergedShardsAreTheUnshardedRunFileForFile() throws {
        let settings = ScoringSettings(mapping: MappingSettings(steps: 3, batchSize: 4), variant: .both, seed: 11)
        var sharded = settings
        sharded.mapping.batchSize = 1  // the batch size does not change the results
        let options = ScoreRunOptions(triplets: 5, trace: true)  // 5 pictures: across all three shards (2, 2, 3 images)
        let whole = try score("whole", settings: settings, options: options)
        let shards = try (1...3).map { try score("shard-\($0)", shard: Shard(index: $0, count: 3), settings: sharded, options: options) }
        XCTAssertEqual(try shards.map { try ScoreRun.read(from: $0).scores.count }, [2, 2, 3])
        let out = dir.appendingPathComponent("merged")
        let merged = try mergeShardRuns([shards[2], shards[0], shards[1]], to: out)

        typealias F = ScoreRun.Files
        for name in [F.scores, F.initialLatents, F.latents, F.residuals, F.reconstructions, F.features] {
            XCTAssertEqual(try bytes(out, name), try bytes(whole, name), name)
        }
        let pictures = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(F.triplets).path).sorted()
        XCTAssertEqual(pictures, ["0000.png", "0001.png", "0002.png", "0003.png", "0004.png"])
        for name in pictures { XCTAssertEqual(try bytes(out, F.triplets + "/" + name), try bytes(whole, F.triplets + "/" + name), name) }
        // The z arrays are not all alike (the test would see a mix-up): z₁ differs between images.
        let z1 = try XCTUnwrap(merged.initialLatents)
        XCTAssertNotEqual(Array(z1.array[0..<8]), Array(z1.array[8..<16]))

        let a = try ScoreRun.read(from: out), b = try ScoreRun.read(from: whole)
        for (mine, theirs) in [(a.trace?.featureMatching, b.trace?.featureMatching), (a.trace?.reference, b.trace?.reference)] {
            let mine = try XCTUnwrap(mine), theirs = try XCTUnwrap(theirs)
            XCTAssertEqual(mine.count, 3)
            for (x, y) in zip(mine, theirs) { XCTAssertEqual(x, y, accuracy: 1e-12 * abs(y)) }
        }
        let s = try XCTUnwrap(a.summary), w = try XCTUnwrap(b.summary)
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual([s.normal, s.anomalous, s.unlabeled], [w.normal, w.anomalous, w.unlabeled])
        XCTAssertEqual(s.means, w.means, "the same values in the same order")
        XCTAssertEqual(s.settings.seed, 11)
        XCTAssertNil(s.shard)
        XCTAssertEqual(s.mergedFrom, try shards.map { try ScoreRun.read(from: $0).summary!.runID! })
        // Evaluation takes the merged run with its patch set, and a shard run with its shard of the set.
        let loaded = try NamedScoreRun.load(name: "merged", directory: out)
        XCTAssertEqual(loaded.patches?.ids, try PatchSet.load(from: data).ids)
        XCTAssertEqual(try NamedScoreRun.load(name: "two", directory: shards[1]).patches?.ids, ["patches/2/3/4", "patches/3/3/4"])
        // A split into one shard merges too; the record says so.
        let one = try score("one", shard: Shard(index: 1, count: 1), settings: settings, options: options)
        try mergeShardRuns([one], to: dir.appendingPathComponent("merged-one"))
        XCTAssertEqual(try bytes(dir.appendingPathComponent("merged-one"), F.latents), try bytes(whole, F.latents))
    }

    /// The aCAE's one-pass scoring shards and merges the same way (its checkpoint told apart by its format).
    func testAutoencoderShardsMergeIntoTheUnshardedRun() throws {
        var rng = SeededGenerator(seed: 4)
        let model = AdversarialAutoencoder(config: DCGANConfig(latentDimension: 8, imageSize: 16, width: 4),
                                           settings: ACAESettings(batchSize: 2, seed: 5))
        model.initialize(using: &rng)
        let acae = dir.appendingPathComponent("acae.safetensors")
        try model.save(to: acae)
        let settings = ScoringSettings(mapping: MappingSettings(steps: 1, batchSize: 3))
        let options = ScoreRunOptions(triplets: 3, trace: false)
        let whole = try score("whole", settings: settings, options: options, checkpoint: acae)
        let shards = try (1...2).map { try score("a\($0)", shard: Shard(index: $0, count: 2), settings: settings, options: options, checkpoint: acae) }
        let out = dir.appendingPathComponent("merged")
        try mergeShardRuns(shards, to: out)
        for name in [ScoreRun.Files.scores, ScoreRun.Files.latents, ScoreRun.Files.residuals, ScoreRun.Files.features, "triplets/0002.png"] {
            XCTAssertEqual(try bytes(out, name), try bytes(whole, name), name)
        }
        XCTAssertEqual(try ScoreRun.read(from: out).summary?.reconstructionsFrom, "encoder")
    }

    func testShardsThatDoNotBelongTogetherAreRefusedNamingTheRun() throws {
        let settings = ScoringSettings(mapping: MappingSettings(steps: 1, batchSize: 4), seed: 3)
        let options = ScoreRunOptions(triplets: 0, trace: false)
        let shards = try (1...3).map { try score("s\($0)", shard: Shard(index: $0, count: 3), settings: settings, options: options) }
        let out = dir.appendingPathComponent("merged")
        func refused(_ runs: [URL], names file: String, _ fragment: String, line: UInt = #line) {
            assertFileError(try mergeShardRuns(runs, to: out), names: file, fragment, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written", line: line)
        }
        // A missing shard: named, with the ones given.
        XCTAssertThrowsError(try mergeShardRuns([shards[0], shards[2]], to: out)) { error in
            XCTAssertTrue(error is SettingsError, "\(error)")
            XCTAssertEqual("\(error)", "shard 2/3 is missing: the runs given are shards 1/3, 3/3")
        }
        XCTAssertThrowsError(try mergeShardRuns([shards[1]], to: out)) { XCTAssertTrue("\($0)".contains("shards 1/3, 3/3 are missing"), "\($0)") }
        XCTAssertThrowsError(try mergeShardRuns([], to: out))
        // The same shard twice (a copy): overlapping.
        let copy = dir.appendingPathComponent("s2-copy")
        try FileManager.default.copyItem(at: shards[1], to: copy)
        refused(shards + [copy], names: "s2-copy", "is shard 2/3, and so is")
        // A shard of another split, of another data set, scored otherwise, with another model, with other files.
        refused(shards + [try score("half", shard: Shard(index: 1, count: 2), settings: settings, options: options)],
                names: "half", "shards of different splits")
        let other = try patchSet(7, seed: 2, name: "other")
        refused([shards[0], try score("o2", shard: Shard(index: 2, count: 3), data: other, settings: settings, options: options), shards[2]],
                names: "o2", "another data set")
        var seeded = settings
        seeded.seed = 4
        refused([shards[0], try score("seed", shard: Shard(index: 2, count: 3), settings: seeded, options: options), shards[2]],
                names: "seed/summary.json", "settings.seed is 4 here but 3 in shard 1")
        var stepped = settings
        stepped.mapping.steps = 2
        refused([shards[0], shards[1], try score("steps", shard: Shard(index: 3, count: 3), settings: stepped, options: options)],
                names: "steps/summary.json", "settings.mapping.steps is 2 here but 1")
        let run2 = dir.appendingPathComponent("gan2")
        try trainOrResume(data: data, config: DCGANConfig(latentDimension: 8, imageSize: 16, width: 4), fitImageSizeToData: false,
                          settings: TrainingSettings(epochs: 1, batchSize: 4, seed: 2, validationFraction: 0),
                          output: TrainingOutput(directory: run2), resume: .fresh, log: { _ in })
        refused([shards[0], try score("model", shard: Shard(index: 2, count: 3), settings: settings, options: options,
                                      checkpoint: run2.appendingPathComponent("checkpoint.safetensors")), shards[2]],
                names: "model/summary.json", "checkpoint (FNV-1a of the file)")
        refused([shards[0], try score("traced", shard: Shard(index: 2, count: 3), settings: settings,
                                      options: ScoreRunOptions(triplets: 0, trace: true)), shards[2]],
                names: "s1/trace.csv", "is missing, but")
        // Not shard runs: a whole run, a folder of other things, no folder at all; the output is a shard.
        refused(shards + [try score("whole", settings: settings, options: options)], names: "whole/summary.json", "records no shard")
        refused(shards + [data], names: "patches", "is not a score run")
        refused(shards + [dir.appendingPathComponent("nowhere")], names: "nowhere", "no such score run directory")
        assertFileError(try mergeShardRuns(shards, to: shards[0]), names: "s1", "is one of the shard runs")
        // More shards than images, when scoring.
        XCTAssertThrowsError(try score("eight", shard: Shard(index: 8, count: 8), settings: settings, options: options)) { error in
            XCTAssertTrue(error is SettingsError, "\(error)")
            XCTAssertTrue("\(error)".contains("shard 8/8: 8 shards of 7 images"), "\(error)")
        }
        // Everything given, once: merged.
        try mergeShardRuns(shards.reversed(), to: out)
        XCTAssertEqual(try ScoreRun.read(from: out).scores.ids, try PatchSet.load(from: data).ids)
    }
}
