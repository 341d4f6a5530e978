// The `anogan` executable as a user meets it: each test runs the built binary
// as a subprocess on tiny inputs in a temp directory and checks that bad input
// (wrong flag, missing/corrupt/truncated file, NaN, wrong size, malformed CSV)
// ends in one clear error line naming the file or flag, a non-zero exit, and no
// crash or hang; and that a tiny phantom → prepare → train → score → evaluate
// pipeline writes its files.

import Foundation
import Imaging
import Records
import TestSupport
import XCTest

final class CLITests: CLITestCase {
    // MARK: - Flags

    func testUnknownFlagIsAUsageError() throws {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "x.npy")
        try assertFails(["train", "--data", data, "--out", path("o"), "--bogus", "1"], status: 64, mentions: ["--bogus"])
        try assertFails(["no-such-command"], status: 64, mentions: ["no-such-command"])
    }

    func testBadFlagValuesAreUsageErrors() throws {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "x.npy")
        // `--epochs -1` reads -1 as a flag, so the value is missing; `--epochs=-1` reaches validation.
        try assertFails(["train", "--data", data, "--out", path("o"), "--epochs", "-1"], status: 64, mentions: ["--epochs"])
        try assertFails(["train", "--data", data, "--out", path("o"), "--epochs=-1"], status: 64, mentions: ["--epochs", "-1"])
        try assertFails(["train", "--data", data, "--out", path("o"), "--epochs", "abc"], status: 64, mentions: ["--epochs", "abc"])
        try assertFails(["train", "--data", data, "--out", path("o"), "--batch-size", "1"], status: 64, mentions: ["--batch-size"])
        try assertFails(["train", "--data", data, "--out", path("o"), "--image-size", "17"], status: 64, mentions: ["--image-size", "17"])
        try assertFails(["speed", "--threads", "0"], status: 64, mentions: ["--threads", "0"])
        try assertFails(["speed", "--image-size", "17"], status: 64, mentions: ["17"])
        try assertFails(["score", "--checkpoint", path("c"), "--data", data, "--out", path("o"), "--steps", "0"],
                        status: 64, mentions: ["--steps"])
        try assertFails(["score", "--checkpoint", path("c"), "--data", data, "--out", path("o"), "--lambda", "nan"],
                        status: 64, mentions: ["--lambda"])
        try assertFails(["phantom", "--out", path("p"), "--bscans", "0"], status: 64, mentions: ["--bscans"])
        try assertFails(["prepare", "--out", path("p")], status: 64, mentions: ["input"])
        try assertFails(["evaluate", "--out", path("e")], status: 64, mentions: ["--run"])
    }

    // MARK: - train

    func testTrainRejectsBadImageFiles() throws {
        let out = path("out")
        let missing = path("missing.npy")
        try assertFails(["train", "--data", missing, "--out", out], mentions: [missing, "no such file"])

        let corrupt = try write(randomBytes(500), "corrupt.npy")
        try assertFails(["train", "--data", corrupt, "--out", out], mentions: [corrupt, ".npy"])

        let whole = npy(images(4, size: 16), shape: [4, 1, 16, 16])
        let truncated = try write(whole.prefix(whole.count - 100), "truncated.npy")
        try assertFails(["train", "--data", truncated, "--out", out], mentions: [truncated, "truncated"])

        var values = images(4, size: 16)
        values[16 * 16 + 3] = .nan
        let nan = try write(npy(values, shape: [4, 1, 16, 16]), "nan.npy")
        try assertFails(["train", "--data", nan, "--out", out], mentions: [nan, "non-finite"])

        let empty = try write(npy([], shape: [0, 1, 16, 16]), "empty.npy")
        try assertFails(["train", "--data", empty, "--out", out], mentions: [empty, "no images"])

        let flat = try write(npy(images(1, size: 16), shape: [16, 16]), "flat.npy")
        try assertFails(["train", "--data", flat, "--out", out], mentions: [flat, "shape"])

        let outside = try write(npy([Float](repeating: 5, count: 4 * 16 * 16), shape: [4, 1, 16, 16]), "outside.npy")
        try assertFails(["train", "--data", outside, "--out", out, "--batch-size", "2"], mentions: [outside, "[-1, 1]"])

        let few = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "few.npy")
        try assertFails(["train", "--data", few, "--out", out, "--batch-size", "8"], mentions: [few, "--batch-size"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"), "a failed run left a checkpoint")
    }

    // MARK: - score

    func testScoreRejectsBadInputs() throws {
        let checkpoint = try trainTinyCheckpoint()
        let out = path("scores")
        let good = try write(npy(images(3, size: 16), shape: [3, 1, 16, 16]), "query.npy")

        let missing = path("missing.npy")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", missing, "--out", out, "--steps", "2"],
                        mentions: [missing, "no such file"])
        let missingCheckpoint = path("missing.safetensors")
        try assertFails(["score", "--checkpoint", missingCheckpoint, "--data", good, "--out", out, "--steps", "2"],
                        mentions: [missingCheckpoint, "no such file"])

        let corrupt = try write(randomBytes(500), "corrupt.npy")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", corrupt, "--out", out, "--steps", "2"],
                        mentions: [corrupt, ".npy"])

        let whole = npy(images(3, size: 16), shape: [3, 1, 16, 16])
        let truncated = try write(whole.prefix(whole.count - 10), "truncated.npy")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", truncated, "--out", out, "--steps", "2"],
                        mentions: [truncated, "truncated"])

        var values = images(3, size: 16)
        values[2 * 16 * 16] = .infinity
        values[5] = .nan
        let nan = try write(npy(values, shape: [3, 1, 16, 16]), "nan.npy")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", nan, "--out", out, "--steps", "2"],
                        mentions: [nan, "non-finite"])

        let big = try write(npy(images(2, size: 32), shape: [2, 1, 32, 32]), "big.npy")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", big, "--out", out, "--steps", "2"],
                        mentions: [big, "32×32", "16×16"])

        try assertFails(["score", "--checkpoint", checkpoint, "--data", good, "--out", out, "--steps", "2", "--width", "4"],
                        mentions: [checkpoint, "width"])

        // Not a safetensors file: an .npy, random bytes, a cut-off checkpoint.
        try assertFails(["score", "--checkpoint", good, "--data", good, "--out", out, "--steps", "2"],
                        mentions: [good, "safetensors"])
        let random = try write(randomBytes(300), "random.safetensors")
        try assertFails(["score", "--checkpoint", random, "--data", good, "--out", out, "--steps", "2"],
                        mentions: [random, "safetensors"])
        let cut = try write(try Data(contentsOf: URL(fileURLWithPath: checkpoint)).prefix(1000), "cut.safetensors")
        try assertFails(["score", "--checkpoint", cut, "--data", good, "--out", out, "--steps", "2"],
                        mentions: [cut, "truncated"])

        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/scores.csv"), "a failed run left scores.csv")
    }

    // MARK: - evaluate and report

    /// A hand-written score run: 4 labelled rows, no masks or residuals needed.
    func writeScoreRun(_ name: String, rows: [String]) throws -> String {
        let run = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let csv = (["id,label,R,D,A,P_D"] + rows).joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: run.appendingPathComponent("scores.csv"))
        return run.path
    }

    func testEvaluateAndReportRejectBadRuns() throws {
        let missing = path("no-such-run")
        try assertFails(["evaluate", "--run", missing, "--out", path("e")], mentions: [missing, "no such"])
        try assertFails(["report", "--run", missing, "--out", path("r.html")], mentions: [missing, "no such"])

        let good = ["0,0,1.0,1.0,1.0,0.5", "1,1,2.5,2.0,2.0,0.5", "2,0,1.5,1.0,1.0,0.5", "3,1,3.0,2.0,2.0,0.5"]
        // (run name, row index to replace, replacement, what the error must say besides the file)
        let cases: [(String, Int, String, [String])] = [
            ("bad-number", 1, "1,1,abc,2.0,2.0,0.5", ["line 3", "abc"]),
            ("short-line", 2, "2,0,1.5", ["line 4", "fields"]),
            ("duplicate-id", 3, "0,1,3.0,2.0,2.0,0.5", ["line 5", "twice"]),
        ]
        for (name, index, replacement, problem) in cases {
            var rows = good
            rows[index] = replacement
            let run = try writeScoreRun(name, rows: rows)
            for command in [["evaluate", "--out", path("e")], ["report", "--out", path("r.html")]] {
                try assertFails(command + ["--run", run], mentions: [run + "/scores.csv"] + problem)
            }
        }

        let noCSV = dir.appendingPathComponent("no-csv")
        try FileManager.default.createDirectory(at: noCSV, withIntermediateDirectories: true)
        try assertFails(["evaluate", "--run", noCSV.path, "--out", path("e")], mentions: [noCSV.path + "/scores.csv"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("e/metrics.json")), "a failed run left metrics.json")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r.html")), "a failed run left a report")
    }

    // MARK: - prepare

    func testPrepareRejectsBadVolumes() throws {
        let out = path("patches")
        let missing = path("missing.mha")
        try assertFails(["prepare", "--volume", missing, "--out", out], mentions: [missing, "no such file"])

        let corrupt = try write(randomBytes(400), "corrupt.mha")
        try assertFails(["prepare", "--volume", corrupt, "--out", out], mentions: [corrupt, "header"])

        var truncated = Data("ObjectType = Image\nNDims = 3\nDimSize = 10 10 10\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n".utf8)
        truncated.append(randomBytes(50))
        let cut = try write(truncated, "cut.mha")
        try assertFails(["prepare", "--volume", cut, "--out", out], mentions: [cut, "truncated"])

        let missingDir = path("no-volumes")
        try assertFails(["prepare", "--volumes", missingDir, "--out", out], mentions: [missingDir])
        let emptyDir = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: emptyDir, withIntermediateDirectories: true)
        try assertFails(["prepare", "--volumes", emptyDir.path, "--out", out], mentions: [emptyDir.path, "no .mha"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/images.npy"), "a failed run left images.npy")
    }

    // MARK: - The whole pipeline, tiny

    func testTinyPipelineWritesEveryOutput() throws {
        func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
            let result = try run(args, file: file, line: line)
            XCTAssertEqual(result.status, 0, "anogan \(args.joined(separator: " ")) failed:\n\(result.stderr)", file: file, line: line)
            XCTAssertFalse(result.crashed, file: file, line: line)
            return result
        }
        let fm = FileManager.default
        _ = try ok(["phantom", "--out", path("phantom"), "--healthy", "1", "--diseased", "1",
                    "--bscans", "2", "--width", "128", "--height", "128", "--no-png"])
        for name in ["healthy_000.mha", "diseased_000.mha", "diseased_000_mask.mha"] {
            XCTAssertTrue(fm.fileExists(atPath: path("phantom/" + name)), name)
        }
        _ = try ok(["prepare", "--volume", path("phantom/healthy_000.mha"), "--out", path("normal"),
                    "--patch-size", "16", "--patches-per-bscan", "4"])
        _ = try ok(["prepare", "--volume", path("phantom/diseased_000.mha"), "--out", path("query"),
                    "--patch-size", "16", "--patches-per-bscan", "4", "--mask-classes", "1", "2"])
        for name in ["images.npy", "labels.npy", "masks.npy", "manifest.json"] {
            XCTAssertTrue(fm.fileExists(atPath: path("query/" + name)), name)
        }
        // 2 B-scans × 4 patches; the .npy's payload is exactly 8 × 16 × 16 float32 after its header.
        let queryImages = try Data(contentsOf: URL(fileURLWithPath: path("query/images.npy")))
        let headerLength = Int(queryImages[8]) | Int(queryImages[9]) << 8
        XCTAssertEqual(queryImages.count - 10 - headerLength, 8 * 16 * 16 * 4)

        let train = try ok(["train", "--data", path("normal"), "--out", path("train"), "--epochs", "1", "--width", "2", "--batch-size", "4"])
        XCTAssertTrue(fm.fileExists(atPath: path("train/checkpoint.safetensors")))
        XCTAssertTrue(fm.fileExists(atPath: path("train/health.json")))
        XCTAssertTrue(train.stdout.contains("holding out 1 of 8 images"), train.stdout)
        XCTAssertTrue(train.stdout.contains("health OK") || train.stdout.contains("WARNING: "), train.stdout)
        let losses = try String(contentsOfFile: path("train/losses.csv"), encoding: .utf8)
        XCTAssertEqual(losses.split(separator: "\n").count, 1 + 1, "header + 7 training images (one held out) / batch 4 iterations")

        _ = try ok(["score", "--checkpoint", path("train/checkpoint.safetensors"), "--data", path("query"),
                    "--out", path("scores"), "--steps", "2", "--triplets", "2"])
        for name in ["scores.csv", "summary.json", "reconstructions.npy", "residuals.npy", "features.npy",
                     "triplets/0000.png", "triplets/0001.png"] {
            XCTAssertTrue(fm.fileExists(atPath: path("scores/" + name)), name)
        }
        XCTAssertFalse(fm.fileExists(atPath: path("scores/triplets/0002.png")), "--triplets 2 wrote a third")
        let csv = try String(contentsOfFile: path("scores/scores.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(lines.first.map(String.init), "id,label,R,D,A,P_D")
        XCTAssertEqual(lines.count, 1 + 8, "one row per query image")
        for row in lines.dropFirst() {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(fields.count, 6, String(row))
            let r = Double(fields[2]) ?? .nan, d = Double(fields[3]) ?? .nan, a = Double(fields[4]) ?? .nan
            XCTAssertTrue(r.isFinite && r >= 0 && d.isFinite && d >= 0, String(row))
            XCTAssertEqual(a, 0.9 * r + 0.1 * d, accuracy: 1e-6 * max(1, a), "A = 0.9 R + 0.1 D: \(row)")
        }

        let evaluate = try ok(["evaluate", "--run", path("scores"), "--out", path("eval"), "--bootstrap", "10"])
        XCTAssertTrue(evaluate.stdout.contains("AUC"), evaluate.stdout)
        XCTAssertTrue(fm.fileExists(atPath: path("eval/metrics.json")))
        XCTAssertTrue(fm.fileExists(atPath: path("eval/roc.csv")))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("eval/metrics.json"))))
        XCTAssertTrue(metrics is [String: Any], "metrics.json is a JSON object")

        _ = try ok(["report", "--run", path("scores"), "--out", path("report/report.html"), "--bootstrap", "10",
                    "--tsne-iterations", "20"])
        let html = try String(contentsOfFile: path("report/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<html") && html.contains("</html>"), "report.html is a whole HTML page")
        XCTAssertTrue(html.contains("Training health") && html.contains("start prior (seed 0), Γ = 2"), "the model's health and the run's start")
        XCTAssertTrue(fm.fileExists(atPath: path("report/metrics.json")))
    }

    // MARK: - train --resume, benchmark and IDX inputs

    func testTrainResumeAndExistingRunFailCleanly() throws {
        let checkpoint = try trainTinyCheckpoint()
        let data = path("train.npy")
        // Training again into the same directory must not overwrite the run.
        try assertFails(["train", "--data", data, "--out", path("run"), "--epochs", "1", "--width", "2", "--batch-size", "2"],
                        mentions: [checkpoint, "--resume"])
        let missing = path("missing.safetensors")
        try assertFails(["train", "--data", data, "--out", path("run2"), "--resume", missing, "--epochs", "2"],
                        mentions: [missing, "no such file"])
        let corrupt = try write(randomBytes(200), "corrupt.safetensors")
        try assertFails(["train", "--data", data, "--out", path("run2"), "--resume", corrupt, "--epochs", "2"],
                        mentions: [corrupt, "safetensors"])
        let other = try write(npy(images(6, size: 16), shape: [6, 1, 16, 16]), "other.npy")
        try assertFails(["train", "--data", other, "--out", path("run"), "--resume", checkpoint, "--epochs", "2"],
                        mentions: [checkpoint, "same data"])
    }

    func testBenchmarkAndIDXInputsFailCleanly() throws {
        let missing = path("no-idx")
        try assertFails(["one-class", "mnist", "--data", missing, "--normal-class", "1", "--out", path("b")],
                        mentions: [missing, "train-images-idx3-ubyte"])
        try assertFails(["one-class", "svhn", "--normal-class", "1", "--out", path("b")], status: 64, mentions: ["svhn"])
        let idx = dir.appendingPathComponent("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            try randomBytes(100).write(to: idx.appendingPathComponent(name))
        }
        let images = idx.appendingPathComponent("train-images-idx3-ubyte").path
        try assertFails(["one-class", "mnist", "--data", idx.path, "--normal-class", "1", "--out", path("b"),
                         "--train-limit", "64", "--test-limit", "10", "--width", "2", "--steps", "1", "--iterations", "1"],
                        mentions: [images, "IDX"])
        try assertFails(["prepare", "--idx", idx.path, "--normal-class", "1", "--out", path("p")], mentions: [images, "IDX"])
    }

    func testPrepareFitsPNGFoldersOfAnySizeToTheModel() throws {
        // 28×28 images, as MNIST-like data come: not a side the DCGAN can have.
        for (folder, count) in [("train", 3), ("good", 2), ("bad", 2)] {
            let url = dir.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for i in 0..<count {
                try PNG.write(width: 28, height: 28, channels: 1, pixels8: (0..<784).map { UInt8(($0 + i) % 256) },
                              to: url.appendingPathComponent("\(i).png"))
            }
        }
        func ok(_ args: [String]) throws {
            let r = try run(args)
            XCTAssertEqual(r.status, 0, "anogan \(args.joined(separator: " ")):\n\(r.stderr)")
        }
        let folders = ["--train-folder", path("train"), "--test-folder", "normal=" + path("good"), "--test-folder", "anomalous=" + path("bad")]
        try ok(["prepare"] + folders + ["--out", path("as-is")])
        try assertFails(["train", "--data", path("as-is/train"), "--out", path("m")], mentions: ["28×28", "--image-size"])
        try ok(["prepare"] + folders + ["--out", path("fitted"), "--image-size", "32"])
        let train = try PatchSet.load(from: dir.appendingPathComponent("fitted/train"))
        let test = try PatchSet.load(from: dir.appendingPathComponent("fitted/test"))
        XCTAssertEqual(train.images.shape, [3, 1, 32, 32])
        XCTAssertEqual(test.images.shape, [4, 1, 32, 32])
        XCTAssertEqual(test.labels, [0, 0, 1, 1])
        XCTAssertEqual(train.images[0, 0, 0, 0], -1)   // the border the 28×28 image is centred in
        XCTAssertEqual(train.images[0, 0, 2, 2], -1, accuracy: 1e-6)   // its first pixel, 0
        XCTAssertEqual(train.images[0, 0, 2, 3], 1 / 255 * 2 - 1, accuracy: 1e-6)
        try assertFails(["prepare"] + folders + ["--out", path("f"), "--image-size", "30"], status: 64, mentions: ["--image-size", "30"])
        try assertFails(["prepare", "--volume", path("v.mha"), "--out", path("f"), "--image-size", "32"], status: 64,
                        mentions: ["--image-size", "--patch-size"])
    }

    func testEvaluateNamesUnnamedRunsByWhatTheyScored() throws {
        let runs: [(String, ScoringSettings?, String, String)] = [
            ("prior", nil, "feature-matching", "AnoGAN (anogan.A)"),
            ("enc", ScoringSettings(mapping: MappingSettings(steps: 0), start: .encoder), "feature-matching", "izi_f (E only) (izif.A)"),
            ("enc20", ScoringSettings(mapping: MappingSettings(steps: 20), start: .encoder), "feature-matching", "AnoGAN (E start) (anogan-encoder.A)"),
            ("ae", ScoringSettings(mapping: MappingSettings(steps: 0)), ScoreRun.Summary.encoderPass, "aCAE (acae.A)"),
        ]
        for (name, settings, from, _) in runs {
            _ = try SyntheticRun.make(in: dir, name: name, count: 8, size: 8, seed: 1, settings: settings, reconstructionsFrom: from)
        }
        let result = try run(["evaluate", "--out", path("eval"), "--bootstrap", "10"] + runs.flatMap { ["--run", path($0.0)] })
        XCTAssertEqual(result.status, 0, result.stderr)
        for (_, _, _, row) in runs { XCTAssertTrue(result.stdout.contains(row + ": AUC"), "\(row) in\n\(result.stdout)") }
        // A name given wins; two unnamed runs of one kind need names.
        let named = try run(["evaluate", "--out", path("eval2"), "--bootstrap", "10", "--run", "mine=" + path("enc")])
        XCTAssertFalse(named.stdout.contains("izif"), named.stdout)
        _ = try SyntheticRun.make(in: dir, name: "prior2", count: 8, size: 8, seed: 2)
        try assertFails(["evaluate", "--out", path("eval3"), "--run", path("prior"), "--run", path("prior2")], status: 1,
                        mentions: [path("prior"), path("prior2"), "anogan", "NAME=DIR"])
        try assertFails(["evaluate", "--out", path("eval3"), "--run", path("prior"), "--run", path("enc"), "--patches", path("prior-patches")],
                        status: 64, mentions: ["--patches", "NAME=DIR"])
    }

    func testPrepareRejectsAMaskOfTheWrongSize() throws {
        func metaImage(_ w: Int, _ h: Int, _ d: Int) -> Data {
            var data = Data("ObjectType = Image\nNDims = 3\nDimSize = \(w) \(h) \(d)\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n".utf8)
            data.append(Data((0..<(w * h * d)).map { UInt8($0 % 251) }))
            return data
        }
        let volume = try write(metaImage(64, 64, 2), "scan.mha")
        let mask = try write(metaImage(32, 64, 2), "other.mha")
        // The message names the volume by file name (OCTPreprocessing's name), not the mask's path.
        try assertFails(["prepare", "--volume", volume, "--mask", mask, "--out", path("p"), "--patch-size", "16"],
                        mentions: ["scan.mha", "mask", "32×64×2"])
    }
}

/// `--config FILE`: settings from JSON or YAML, flags over them, one-line errors naming the file.
final class CLIConfigTests: CLITestCase {
    func testYAMLConfigTrainsWithFlagsOverridingIt() throws {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "train.npy")
        let yaml = try write(Data("""
            # two epochs by the file; the flag below asks for one
            architecture:
              width: 2
            training:
              epochs: 2
              batchSize: 2
              seed: 3
            """.utf8), "train.yaml")
        let result = try run(["train", "--data", data, "--out", path("run"), "--config", yaml, "--epochs", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("width 2, batch 2, 1 epochs, seed 3"), result.stdout)
        let losses = try String(contentsOfFile: path("run/losses.csv"), encoding: .utf8)
        XCTAssertEqual(losses.split(separator: "\n").count, 1 + 1, "header + 1 epoch × 3 training images (one held out) / batch 2")
    }

    func testJSONConfigScoresWithItsSettings() throws {
        let checkpoint = try trainTinyCheckpoint()
        let query = try write(npy(images(3, size: 16), shape: [3, 1, 16, 16]), "query.npy")
        let json = try write(Data(#"{"scoring": {"mapping": {"steps": 3}, "variant": "both"}, "output": {"triplets": 1, "trace": true}}"#.utf8),
                             "score.json")
        let result = try run(["score", "--checkpoint", checkpoint, "--data", query, "--out", path("s"), "--config", json, "--steps", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let header = try String(contentsOfFile: path("s/scores.csv"), encoding: .utf8).split(separator: "\n").first
        XCTAssertEqual(header, "id,label,R,D,A,R_hat,D_hat,A_hat,P_D", "variant both from the file")
        let trace = try String(contentsOfFile: path("s/trace.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(trace.count, 1 + 2, "the flag's 2 steps, not the file's 3")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("s/triplets/0000.png")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s/triplets/0001.png")), "triplets: 1 from the file")
    }

    func testBadConfigsFailInOneLineNamingTheFile() throws {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "train.npy")
        let unknown = try write(Data(#"{"training": {"epoch": 2}}"#.utf8), "unknown.json")
        try assertFails(["train", "--data", data, "--out", path("o"), "--config", unknown], status: 1,
                        mentions: [unknown, "training.epoch"])
        let wrongType = try write(Data("training:\n  epochs: many\n".utf8), "type.yaml")
        try assertFails(["train", "--data", data, "--out", path("o"), "--config", wrongType], status: 1,
                        mentions: [wrongType, "training.epochs", "integer"])
        let missing = path("missing.yaml")
        try assertFails(["demo", "--config", missing, "--out", path("d")], status: 1, mentions: [missing, "no such file"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o/checkpoint.safetensors")))
    }

    func testSettingErrorsNameTheFlagsAndOldNamesStillWork() throws {
        // OneClassBenchmarkSettings says "testLimit"; the command says its flag.
        try assertFails(["one-class", "mnist", "--data", path("none"), "--normal-class", "1", "--test-limit", "1"],
                        status: 64, mentions: ["--test-limit"])
        try assertFails(["one-class", "mnist", "--data", path("none")], status: 64, mentions: ["--normal-class"])
        try assertFails(["bench", "--threads", "0"], status: 64, mentions: ["--threads"])
        let help = try run(["--help"])
        XCTAssertTrue(help.stdout.contains("one-class") && help.stdout.contains("speed"), help.stdout)
    }

    // MARK: - Encoder start, aCAE, validation slice

    func testEncoderStartAndACAEFromTheCLI() throws {
        func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
            let result = try run(args, file: file, line: line)
            XCTAssertEqual(result.status, 0, "anogan \(args.joined(separator: " ")) failed:\n\(result.stderr)", file: file, line: line)
            return result
        }
        let fm = FileManager.default
        let data = try write(npy(images(8, size: 16), shape: [8, 1, 16, 16]), "train.npy")
        let train = try ok(["train", "--data", data, "--out", path("run"), "--iterations", "3", "--width", "2", "--batch-size", "2"])
        XCTAssertTrue(train.stdout.contains("holding out 1 of 8 images"), train.stdout)
        XCTAssertEqual(try String(contentsOfFile: path("run/losses.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 3,
                       "--iterations 3 is the whole budget")
        // Too few images for a slice beside one batch: trained on all, with a note.
        let small = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "small.npy")
        let noSlice = try ok(["train", "--data", small, "--out", path("small"), "--epochs", "1", "--width", "2", "--batch-size", "4"])
        XCTAssertTrue(noSlice.stdout.contains("note: no validation slice: 4 images leave nothing to hold out beside one batch of 4"), noSlice.stdout)
        XCTAssertEqual(try String(contentsOfFile: path("small/losses.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 1)

        let checkpoint = path("run/checkpoint.safetensors")
        try assertFails(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("s"), "--start", "encoder"],
                        status: 1, mentions: [path("run/encoder.safetensors"), "anogan train-encoder"])
        _ = try ok(["train-encoder", "--checkpoint", checkpoint, "--data", data, "--iterations", "4", "--batch-size", "4",
                    "--checkpoint-every", "2"])
        XCTAssertTrue(fm.fileExists(atPath: path("run/encoder.safetensors")))
        XCTAssertEqual(try String(contentsOfFile: path("run/encoder-losses.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 4)
        let resumed = try ok(["train-encoder", "--checkpoint", checkpoint, "--data", data, "--resume", path("run/encoder.safetensors"),
                              "--iterations", "6"])
        XCTAssertTrue(resumed.stdout.contains("resuming encoder"), resumed.stdout)
        XCTAssertEqual(try String(contentsOfFile: path("run/encoder-losses.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 6)

        _ = try ok(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("enc"), "--start", "encoder", "--variant", "both"])
        let summary = try String(contentsOfFile: path("enc/summary.json"), encoding: .utf8)
        XCTAssertTrue(summary.contains("\"start\" : \"encoder\"") && summary.contains("\"steps\" : 0")
                      && summary.contains("encoder.safetensors"), summary)
        let header = try String(contentsOfFile: path("enc/scores.csv"), encoding: .utf8).split(separator: "\n")[0]
        XCTAssertEqual(header, "id,label,R,D,A,R_hat,D_hat,A_hat,P_D")
        _ = try ok(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("enc3"), "--start", "encoder", "--steps", "3", "--trace"])
        XCTAssertEqual(try String(contentsOfFile: path("enc3/trace.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 3)
        // Each start maps with its own Adam rate (LatentStart.defaultAdam) unless a settings file sets one.
        XCTAssertEqual(try mappingLearningRate(path("enc3")), 0.01, accuracy: 1e-7)
        _ = try ok(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("prior2"), "--steps", "2"])
        XCTAssertEqual(try mappingLearningRate(path("prior2")), 0.1, accuracy: 1e-7)
        let rate = try write(Data("scoring:\n  mapping:\n    adam:\n      learningRate: 0.05\n".utf8), "rate.yaml")
        _ = try ok(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("enc-rate"), "--start", "encoder", "--steps", "2",
                    "--config", rate])
        XCTAssertEqual(try mappingLearningRate(path("enc-rate")), 0.05, accuracy: 1e-7)
        XCTAssertNil(try mappingSetting(path("enc-rate"), "finalLearningRate"), "a constant rate unless a file asks for a decay")
        // The decaying rate, from a settings file, is recorded with the run.
        let decay = try write(Data("scoring:\n  mapping:\n    finalLearningRate: 0.005\n    adam:\n      learningRate: 0.5\n".utf8), "decay.yaml")
        _ = try ok(["score", "--checkpoint", checkpoint, "--data", data, "--out", path("prior-decay"), "--steps", "3", "--config", decay])
        XCTAssertEqual(try mappingLearningRate(path("prior-decay")), 0.5, accuracy: 1e-7)
        XCTAssertEqual(try XCTUnwrap(mappingSetting(path("prior-decay"), "finalLearningRate") as? Double), 0.005, accuracy: 1e-7)

        // The aCAE: trained and scored from the CLI, recognised by its checkpoint's format.
        _ = try ok(["train-acae", "--data", data, "--out", path("acae"), "--iterations", "3", "--width", "2", "--batch-size", "2"])
        XCTAssertEqual(try String(contentsOfFile: path("acae/losses.csv"), encoding: .utf8).split(separator: "\n").count, 1 + 3)
        let acae = try ok(["score", "--checkpoint", path("acae/acae.safetensors"), "--data", data, "--out", path("sa")])
        XCTAssertTrue(acae.stdout.contains("aCAE"), acae.stdout)
        XCTAssertEqual(try String(contentsOfFile: path("sa/scores.csv"), encoding: .utf8).split(separator: "\n")[0], "id,label,R,D,A,P_D")
        try assertFails(["score", "--checkpoint", path("acae/acae.safetensors"), "--data", data, "--out", path("sb"), "--variant", "both"],
                        status: 64, mentions: ["aCAE", "--variant"])

        let help = try run(["score", "--help"])
        XCTAssertTrue(help.stdout.contains("--start") && help.stdout.contains("encoder.safetensors"), help.stdout)
    }
}

/// settings.mapping.adam.learningRate of a score run's summary.json.
/// settings.mapping.<key> of a score run's summary.json (nil when absent).
func mappingSetting(_ run: String, _ key: String) throws -> Any? {
    let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any]
    let settings = summary?["settings"] as? [String: Any], mapping = settings?["mapping"] as? [String: Any]
    return mapping?[key]
}

func mappingLearningRate(_ run: String) throws -> Double {
    let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any]
    let settings = summary?["settings"] as? [String: Any], mapping = settings?["mapping"] as? [String: Any]
    let adam = mapping?["adam"] as? [String: Any]
    return try XCTUnwrap(adam?["learningRate"] as? Double, "\(run)/summary.json has no settings.mapping.adam.learningRate")
}
