// The records written by one stage and read by the next: a score run and
// checkpoint metadata each round-trip through the one type that writes and
// reads them; bad files give errors naming the file; the stable hash that
// seeds z₁ matches the published FNV-1a test vectors.

import Foundation
@testable import Records
import TestSupport
import XCTest

final class ScoreRunTests: TemporaryDirectoryTestCase {
    private func sample(n: Int = 4, s: Int = 4, latent: Int = 3) -> ScoreRun {
        var rng = SeededGenerator(seed: 2)
        func tensor(_ shape: [Int]) -> Tensor { Tensor.uniform(shape: shape, low: -1, high: 1, using: &rng) }
        let table = ScoreTable(columns: ["R", "D", "A", "P_D"], ids: (0..<n).map { "v/\($0)/0/0" }, labels: [0, 1, nil, 0],
                               values: (0..<n).map { i in [Double(i), 2, 0.9 * Double(i) + 0.2, 0.5] })
        let settings = ScoringSettings(mapping: MappingSettings(steps: 3, lambda: 0.1, batchSize: 2), variant: .featureMatching, seed: UInt64.max - 1)
        let summary = ScoreRun.Summary(checkpoint: "/c.safetensors", patches: "patches", architecture: DCGANConfig(latentDimension: latent, imageSize: 16, width: 2),
                                       settings: settings, scores: table, seconds: 2, mappings: 1, threads: 2, reconstructionsFrom: "feature-matching")
        return ScoreRun(scores: table, summary: summary, reconstructions: tensor([n, 1, s, s]), residuals: tensor([n, 1, s, s]),
                        features: tensor([n, 5]), initialLatents: tensor([n, latent]), latents: tensor([n, latent]),
                        trace: ScoreRun.Trace(featureMatching: [3.5, 2.25, 1.125], reference: nil))
    }

    func testScoreRunRoundTripsThroughOneType() throws {
        var run = sample()
        let id = try run.write(to: dir)
        run.summary?.runID = id
        for name in [ScoreRun.Files.scores, ScoreRun.Files.summary, ScoreRun.Files.reconstructions, ScoreRun.Files.residuals,
                     ScoreRun.Files.features, ScoreRun.Files.initialLatents, ScoreRun.Files.latents, ScoreRun.Files.trace] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name)
        }
        let back = try ScoreRun.read(from: dir)
        XCTAssertEqual(back.missing, [])
        XCTAssertEqual(back.scores, run.scores)
        XCTAssertEqual(back.summary, run.summary)
        XCTAssertEqual(back.summary?.seed, UInt64.max - 1, "a seed above 2^53 survives JSON")
        let meanA: Double = (0.2 + 1.1 + 2.0 + 2.9) / 4
        XCTAssertEqual(back.summary!.means["A"]!, meanA, accuracy: 1e-12)
        XCTAssertEqual(back.summary?.anomalous, 1)
        XCTAssertEqual(back.summary?.unlabeled, 1)
        for (a, b) in [(back.reconstructions, run.reconstructions), (back.residuals, run.residuals), (back.features, run.features),
                       (back.initialLatents, run.initialLatents), (back.latents, run.latents)] {
            XCTAssertEqual(a?.shape, b?.shape)
            XCTAssertEqual(a?.array, b?.array)
        }
        XCTAssertEqual(back.trace, run.trace)
        // Parts not asked for stay nil, without counting as missing.
        let light = try ScoreRun.read(from: dir, parts: .evaluation)
        XCTAssertNil(light.features)
        XCTAssertNil(light.latents)
        XCTAssertNotNil(light.residuals)
        // A run without optional parts removes stale files of an earlier run.
        try ScoreRun(scores: run.scores).write(to: dir)
        let bare = try ScoreRun.read(from: dir)
        XCTAssertNil(bare.summary)
        XCTAssertNil(bare.residuals)
        XCTAssertEqual(Set(bare.missing), [ScoreRun.Files.summary, ScoreRun.Files.reconstructions, ScoreRun.Files.residuals,
                                           ScoreRun.Files.features, ScoreRun.Files.initialLatents, ScoreRun.Files.latents, ScoreRun.Files.trace])
    }

    func testBadRunFilesNameTheFile() throws {
        try sample().write(to: dir)
        try SyntheticRun.dropRunID(in: dir)  // reach the checks of each file's contents
        func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
        try NPY.write(Tensor(shape: [3, 3]), to: url(ScoreRun.Files.latents))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.latents, "shape [3, 3], expected 4×F")
        try NPY.write(Tensor(shape: [4, 2]), to: url(ScoreRun.Files.latents))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.latents, "differs from z1.npy")
        try FileManager.default.removeItem(at: url(ScoreRun.Files.latents))
        try Data("{\"format\": \"anogan-scores\"}".utf8).write(to: url(ScoreRun.Files.summary))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.summary, "not a valid score run summary")
        var summary = sample().summary!
        summary.count = 7
        try summary.json().write(to: url(ScoreRun.Files.summary))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.summary, "counts 7 images, scores.csv has 4 rows")
        try sample().summary!.json().write(to: url(ScoreRun.Files.summary))
        try Data("step,feature\n1,0.5\n3,0.25\n".utf8).write(to: url(ScoreRun.Files.trace))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.trace, "line 3")
        try FileManager.default.removeItem(at: url(ScoreRun.Files.scores))
        assertFileError(try ScoreRun.read(from: dir), names: ScoreRun.Files.scores, "no such file")
    }

    func testCheckpointMetadataRoundTripsThroughTheSafetensorsHeader() throws {
        let meta = CheckpointMetadata(architecture: DCGANConfig(latentDimension: 8, imageSize: 32, width: 4),
                                      settings: TrainingSettings(epochs: 3, batchSize: 8, seed: UInt64.max),
                                      position: TrainingPosition(epoch: 1, iteration: 9, rngState: [1, 2, 3, UInt64.max],
                                                                 generatorAdamSteps: 9, discriminatorAdamSteps: 9),
                                      dataset: CheckpointDataset(count: 72, path: "/data/train"))
        let url = dir.appendingPathComponent("c.safetensors")
        try Safetensors.write([("x", Tensor(shape: [1]))], metadata: try meta.safetensorsMetadata(), to: url)
        let header = try Safetensors.read(url).metadata
        XCTAssertEqual(header["seed"], String(UInt64.max))
        XCTAssertEqual(header["dataset.count"], "72")
        XCTAssertEqual(try CheckpointMetadata(safetensorsMetadata: header, of: url), meta)
        var future = header
        future["version"] = "2"
        assertFileError(try CheckpointMetadata(safetensorsMetadata: future, of: url), names: "c.safetensors", "version 2 is not supported")
        var broken = header
        broken["position"] = "{\"epoch\": 1}"
        assertFileError(try CheckpointMetadata(safetensorsMetadata: broken, of: url), names: "c.safetensors", "\"position\" is not valid")
    }

    /// FNV-1a 64 test vectors (Fowler, Noll, Vo: the reference test suite), and a
    /// stream that depends on both the seed and the name.
    func testStableHashMatchesFNV1aTestVectors() {
        XCTAssertEqual(StableHash.fnv1a64([UInt8]()), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(StableHash.fnv1a64(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(StableHash.fnv1a64(Array("foobar".utf8)), 0x8594_4171_f739_67e8)
        var a = SeededGenerator(seed: 1, stream: "img"), b = SeededGenerator(seed: 1, stream: "img")
        var c = SeededGenerator(seed: 2, stream: "img"), d = SeededGenerator(seed: 1, stream: "img2")
        let x = a.next()
        XCTAssertEqual(x, b.next())
        XCTAssertNotEqual(x, c.next())
        XCTAssertNotEqual(x, d.next())
        // The seed's bytes come first, little-endian, then the name's UTF-8.
        var e = SeededGenerator(seed: StableHash.fnv1a64([1, 0, 0, 0, 0, 0, 0, 0] + Array("img".utf8)))
        XCTAssertEqual(x, e.next())
    }

    /// A summary written before the encoder start existed (no "start", no "encoderCheckpoint")
    /// decodes as the prior start; a new one round-trips both.
    func testSummariesWithoutAStartDecodeAsThePrior() throws {
        let old = """
        {"architecture":{"channels":1,"imageSize":16,"latentDimension":4,"width":2},"checkpoint":"c.safetensors","columns":["A"],
         "count":1,"anomalous":0,"normal":1,"unlabeled":0,"format":"anogan-scores","version":1,"imagesPerSecond":1,"mappingsPerSecond":1,
         "means":{"A":1},"patches":"p","reconstructionsFrom":"feature","seconds":1,"seed":3,"threads":1,
         "settings":{"mapping":{"adam":{"beta1":0.9,"beta2":0.999,"epsilon":1e-8,"learningRate":0.01},"batchSize":64,"lambda":0.1,"steps":500},
                     "seed":3,"variant":"feature"}}
        """
        let summary = try JSONDecoder().decode(ScoreRun.Summary.self, from: Data(old.utf8))
        XCTAssertEqual(summary.settings.start, .prior)
        XCTAssertNil(summary.encoderCheckpoint)
        XCTAssertEqual(summary.settings.mapping.steps, 500)
        var new = summary
        new.settings = ScoringSettings(seed: 3, start: .encoder)
        new.encoderCheckpoint = "run/encoder.safetensors"
        let back = try JSONDecoder().decode(ScoreRun.Summary.self, from: new.json())
        XCTAssertEqual(back, new)
        XCTAssertEqual(back.settings.start, .encoder)
        XCTAssertEqual(back.settings.mapping.steps, 0, "the encoder start's default Γ")
        XCTAssertTrue(String(decoding: try new.json(), as: UTF8.self).contains("\"start\" : \"encoder\""))
    }
}
