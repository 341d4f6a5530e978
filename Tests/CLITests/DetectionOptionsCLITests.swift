// The detection-quality options from the CLI: the moving average of G and
// one-sided label smoothing in `train`, per-image early stopping and the
// choice of z₁ among several prior draws in `score`.
// Bad values are one-line usage errors naming the flag; good ones reach the
// checkpoint and the score run's summary.

import Foundation
import Records
import XCTest

final class DetectionOptionsCLITests: CLITestCase {
    func testBadStabiliserAndEarlyStoppingValuesAreUsageErrors() throws {
        let data = try write(npy(images(8, size: 16), shape: [8, 1, 16, 16]), "x.npy")
        for value in ["1", "0", "1.5", "nan"] {
            try assertFails(["train", "--data", data, "--out", path("o"), "--generator-average", value], status: 64,
                            mentions: ["--generator-average"])
        }
        for value in ["0.5", "1.1"] {
            try assertFails(["train", "--data", data, "--out", path("o"), "--real-label", value], status: 64, mentions: ["--real-label"])
        }
        try assertFails(["score", "--checkpoint", path("c"), "--data", data, "--out", path("o"), "--early-stopping", "0"],
                        status: 64, mentions: ["--early-stopping"])
        for value in ["0", "-2", "x"] {
            try assertFails(["score", "--checkpoint", path("c"), "--data", data, "--out", path("o"), "--prior-candidates", value],
                            status: 64, mentions: ["--prior-candidates"])
        }
        try assertFails(["score", "--checkpoint", path("c"), "--data", data, "--out", path("o"), "--start", "encoder",
                         "--prior-candidates", "4"], status: 64, mentions: ["--prior-candidates", "prior start"])
    }

    func testOptionsReachTheCheckpointAndTheRun() throws {
        let data = try write(npy(images(8, size: 16), shape: [8, 1, 16, 16]), "x.npy")
        let train = try run(["train", "--data", data, "--out", path("gan"), "--iterations", "3", "--width", "2", "--batch-size", "4",
                             "--generator-average", "0.9", "--real-label", "0.9", "--validation-fraction", "0"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let header = try Safetensors.read(URL(fileURLWithPath: path("gan/checkpoint.safetensors")))
        XCTAssertNotNil(header.tensors["training.generator.project.weight"], "the trained G is kept for a resume")
        let settings = try CheckpointMetadata(safetensorsMetadata: header.metadata, of: URL(fileURLWithPath: path("gan"))).settings
        XCTAssertEqual(settings.generatorAverageDecay, 0.9)
        XCTAssertEqual(settings.realLabel, 0.9)

        let score = try run(["score", "--checkpoint", path("gan/checkpoint.safetensors"), "--data", data, "--out", path("s"),
                             "--steps", "30", "--early-stopping", "2"])
        XCTAssertEqual(score.status, 0, score.stderr)
        XCTAssertTrue(score.stdout.contains("early stopping: "), score.stdout)
        let summary = try XCTUnwrap(try ScoreRun.read(from: URL(fileURLWithPath: path("s")), parts: []).summary)
        XCTAssertEqual(summary.settings.mapping.earlyStopping, EarlyStopping(patience: 2))
        XCTAssertNil(summary.settings.mapping.priorCandidates, "one draw, the paper's, unless asked")

        let chosen = try run(["score", "--checkpoint", path("gan/checkpoint.safetensors"), "--data", data, "--out", path("k"),
                              "--steps", "3", "--prior-candidates", "5"])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
        let run = try ScoreRun.read(from: URL(fileURLWithPath: path("k")))
        XCTAssertEqual(run.summary?.settings.mapping.priorCandidates, 5)
        // z₁ is not the single draw for every image: some image chose another of its five.
        let single = try ScoreRun.read(from: URL(fileURLWithPath: path("s")))
        let z1 = try XCTUnwrap(run.initialLatents), first = try XCTUnwrap(single.initialLatents)
        XCTAssertEqual(z1.shape, first.shape)
        XCTAssertNotEqual(z1.array, first.array)
    }
}
