// The `anogan` executable as a user meets it: each test runs the built binary
// as a subprocess on tiny inputs in a temp directory and checks that bad input
// (wrong flag, missing/corrupt/truncated file, NaN, wrong size, malformed CSV)
// ends in one clear error line naming the file or flag, a non-zero exit, and no
// crash or hang; and that a tiny phantom → prepare → train → score → evaluate
// pipeline writes its files.

import Foundation
import Records
import XCTest

/// Result of one `anogan` run.
struct CLIRun {
    var status: Int32
    var crashed: Bool
    var stdout: String
    var stderr: String

    /// stderr without blank lines.
    var errorLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

final class CLITests: XCTestCase {
    /// Kill a run after this long and fail: the team's rule is "never a hang".
    static let timeout: TimeInterval = 60

    /// The built `anogan` next to the test bundle (Linux: Bundle.main is the
    /// products directory's xctest runner; macOS: the bundle's parent).
    static let binary: URL? = {
        var candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates += [bundle.bundleURL.deletingLastPathComponent()]
        }
        for dir in candidates {
            let url = dir.appendingPathComponent("anogan")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: url.path) {
                return url
            }
        }
        return nil
    }()

    var dir: URL!

    override func setUpWithError() throws {
        guard Self.binary != nil else {
            throw XCTSkip("the anogan executable is not built next to the tests (run `swift build --build-tests`)")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("anogan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    // MARK: - Running the binary

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs `anogan args…` in the temp directory; fails the test on a timeout.
    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let process = Process()
        process.executableURL = Self.binary!
        process.arguments = args
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        process.environment = environment
        // Files, not pipes: a chatty child cannot block on a full pipe.
        let id = UUID().uuidString
        let outURL = dir.appendingPathComponent(".stdout-\(id)"), errURL = dir.appendingPathComponent(".stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        if done.wait(timeout: .now() + Self.timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 5)
            XCTFail("anogan \(args.joined(separator: " ")) did not finish within \(Int(Self.timeout)) s", file: file, line: line)
        }
        try out.close(); try err.close()
        let stdout = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        return CLIRun(status: process.terminationStatus, crashed: process.terminationReason == .uncaughtSignal,
                      stdout: stdout, stderr: stderr)
    }

    /// Runs and asserts a clean failure: no crash, exit `status` (any non-zero
    /// when nil), the first stderr line is "Error: …" and mentions every string
    /// in `mentions`; a runtime error (exit 1) is that one line only.
    @discardableResult
    func assertFails(_ args: [String], status: Int32? = nil, mentions: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let result = try run(args, file: file, line: line)
        let command = "anogan " + args.joined(separator: " ")
        XCTAssertFalse(result.crashed, "\(command) crashed (signal \(result.status)):\n\(result.stderr)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, "\(command) exited 0 on bad input", file: file, line: line)
        if let status { XCTAssertEqual(result.status, status, "\(command): exit status\n\(result.stderr)", file: file, line: line) }
        for marker in ["Fatal error", "Stack dump", "Backtrace", "Current stack trace"] {
            XCTAssertFalse(result.stderr.contains(marker), "\(command) printed a crash report:\n\(result.stderr)", file: file, line: line)
        }
        let lines = result.errorLines
        guard let first = lines.first else {
            XCTFail("\(command): nothing on stderr", file: file, line: line)
            return result
        }
        XCTAssertTrue(first.hasPrefix("Error: "), "\(command): first stderr line is not an error: \(first)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(first.contains(text), "\(command): error line does not mention \(text): \(first)", file: file, line: line)
        }
        if result.status == 1 {
            XCTAssertEqual(lines.count, 1, "\(command): the error is not one line:\n\(result.stderr)", file: file, line: line)
        }
        return result
    }

    // MARK: - Fixtures, written without the library (an independent .npy writer)

    /// A version-1.0 .npy of little-endian float32 with `shape`.
    func npy(_ values: [Float], shape: [Int]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// `count` images of size×size in [-1, 1] (a deterministic pattern).
    func images(_ count: Int, size: Int) -> [Float] {
        (0..<(count * size * size)).map { Float(($0 * 37) % 201) / 100 - 1 }
    }

    @discardableResult
    func write(_ data: Data, _ name: String) throws -> String {
        try data.write(to: dir.appendingPathComponent(name))
        return path(name)
    }

    func randomBytes(_ count: Int) -> Data {
        var g = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    /// A real checkpoint of a tiny 16×16 model, width 2 (one epoch on 4 images).
    func trainTinyCheckpoint() throws -> String {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "train.npy")
        let result = try run(["train", "--data", data, "--out", path("run"), "--epochs", "1", "--width", "2", "--batch-size", "2"])
        XCTAssertEqual(result.status, 0, "training the tiny model failed:\n\(result.stderr)")
        let checkpoint = path("run/checkpoint.safetensors")
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw XCTSkip("no checkpoint to score with") }
        return checkpoint
    }

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
        try assertFails(["bench", "--threads", "0"], status: 64, mentions: ["--threads", "0"])
        try assertFails(["bench", "--image-size", "17"], status: 64, mentions: ["17"])
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

        _ = try ok(["train", "--data", path("normal"), "--out", path("train"), "--epochs", "1", "--width", "2", "--batch-size", "4"])
        XCTAssertTrue(fm.fileExists(atPath: path("train/checkpoint.safetensors")))
        let losses = try String(contentsOfFile: path("train/losses.csv"), encoding: .utf8)
        XCTAssertEqual(losses.split(separator: "\n").count, 1 + 2, "header + 8 images / batch 4 iterations")

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
        try assertFails(["benchmark", "mnist", "--data", missing, "--normal-class", "1", "--out", path("b")],
                        mentions: [missing, "train-images-idx3-ubyte"])
        try assertFails(["benchmark", "svhn", "--normal-class", "1", "--out", path("b")], status: 64, mentions: ["svhn"])
        let idx = dir.appendingPathComponent("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            try randomBytes(100).write(to: idx.appendingPathComponent(name))
        }
        let images = idx.appendingPathComponent("train-images-idx3-ubyte").path
        try assertFails(["benchmark", "mnist", "--data", idx.path, "--normal-class", "1", "--out", path("b"),
                         "--train-limit", "64", "--test-limit", "10", "--width", "2", "--steps", "1", "--epochs", "1"],
                        mentions: [images, "IDX"])
        try assertFails(["prepare", "--idx", idx.path, "--normal-class", "1", "--out", path("p")], mentions: [images, "IDX"])
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
