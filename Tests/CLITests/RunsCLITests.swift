// Runs from the command line (issue 10): a score directory is never a mix of two
// runs, a failed re-score keeps the previous run, files of another run are caught
// by evaluate, resume on other data of the same size is refused, undefined pixel
// metrics leave the image-level ones, huge flags and bad output paths are one-line
// errors, leftovers of killed runs are cleaned up, and `kill -9` at random
// moments of `score` and `train` leaves the previous run or nothing, never a mix.

import Foundation
import Records
import XCTest

final class RunsCLITests: CLITestCase {
    private func runID(_ dir: String) -> String? {
        (try? ScoreRun.read(from: URL(fileURLWithPath: dir), parts: .all))?.summary?.runID
    }

    func testScoreRunsAreWholeAndEvaluateChecksTheirRunIDs() throws {
        let checkpoint = try trainTinyCheckpoint()
        let small = try write(npy(images(3, size: 16), shape: [3, 1, 16, 16]), "small.npy")
        let out = path("scores")
        let common = ["score", "--checkpoint", checkpoint, "--out", out, "--steps", "2"]
        XCTAssertEqual(try run(common + ["--data", path("train.npy"), "--trace", "--triplets", "4"]).status, 0)
        let first = try XCTUnwrap(runID(out))
        // A second run into the same --out replaces the first whole: no trace.csv, triplets of its own.
        XCTAssertEqual(try run(common + ["--data", small, "--no-trace", "--triplets", "1"]).status, 0)
        let second = try XCTUnwrap(runID(out))
        XCTAssertNotEqual(first, second)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/trace.csv"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/triplets").sorted(), ["0000.png"])
        XCTAssertEqual(try ScoreRun.read(from: URL(fileURLWithPath: out)).scores.count, 3)
        // A re-score that fails (bad data) leaves the second run as it was.
        let bad = try write(Data("not npy".utf8), "bad.npy")
        try assertFails(common + ["--data", bad], mentions: [bad])
        XCTAssertEqual(runID(out), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial-") }, [])
        // scores.csv of another run (same rows, other values): evaluate and report name the file.
        let other = path("other")
        XCTAssertEqual(try run(["score", "--checkpoint", checkpoint, "--out", other, "--steps", "3", "--seed", "9", "--data", small]).status, 0)
        try FileManager.default.removeItem(atPath: out + "/scores.csv")
        try FileManager.default.copyItem(atPath: other + "/scores.csv", toPath: out + "/scores.csv")
        try assertFails(["evaluate", "--run", out, "--out", path("eval")], status: 1, mentions: [out + "/scores.csv", "run"])
        try assertFails(["report", "--run", out, "--out", path("r.html")], status: 1, mentions: [out + "/scores.csv", "run"])
        // An --out holding other files is refused, and they are kept.
        let mine = path("mine")
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: mine + "/notes.txt"))
        try assertFails(["score", "--checkpoint", checkpoint, "--out", mine, "--steps", "2", "--data", small], status: 1,
                        mentions: [mine, "not a score run"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: mine + "/notes.txt"))
    }

    func testResumeOnOtherDataOfTheSameSizeIsRefused() throws {
        let checkpoint = try trainTinyCheckpoint()
        var values = images(4, size: 16)
        values[17] = -values[17]  // one pixel differs
        let other = try write(npy(values, shape: [4, 1, 16, 16]), "other.npy")
        try assertFails(["train", "--data", other, "--out", path("run"), "--resume", checkpoint, "--epochs", "2"], status: 1,
                        mentions: [checkpoint, "other images", "same data"])
        // The same images under another name resume.
        let copy = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "copy.npy")
        XCTAssertEqual(try run(["train", "--data", copy, "--out", path("run"), "--resume", checkpoint, "--epochs", "2"]).status, 0)
    }

    func testAllZeroMasksGiveTheImageLevelMetricsWithANote() throws {
        let checkpoint = try trainTinyCheckpoint()
        let n = 6
        let set = PatchSet(images: Tensor(shape: [n, 1, 16, 16], values: images(n, size: 16)), labels: [0, 1, 0, 1, 0, 1],
                           masks: Tensor(shape: [n, 1, 16, 16]), ids: (0..<n).map { "v/\($0)/0/0" }, settings: [:], seed: 1)
        try set.save(to: dir.appendingPathComponent("patches"))
        XCTAssertEqual(try run(["score", "--checkpoint", checkpoint, "--data", path("patches"), "--out", path("s"), "--steps", "2"]).status, 0)
        for args in [["evaluate", "--run", path("s"), "--out", path("e"), "--bootstrap", "10"],
                     ["report", "--run", path("s"), "--out", path("r.html"), "--bootstrap", "10", "--tsne-points", "3", "--tsne-iterations", "5"]] {
            let result = try run(args)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stderr.contains("pixel AUROC undefined"), result.stderr)
            XCTAssertFalse(result.stdout.contains("pixel AUROC:"))
        }
        XCTAssertTrue(try String(contentsOfFile: path("e/metrics.json"), encoding: .utf8).contains("\"auc\""))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("r.html")))
    }

    func testHugeFlagsAndBadOutputsAreOneLineErrors() throws {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "train.npy")
        let train = ["train", "--data", data, "--out", path("t"), "--epochs", "1", "--width", "2", "--batch-size", "2"]
        for (args, flag) in [(train + ["--threads", "100000"], "--threads"), (train + ["--image-size", "1600000"], "--image-size"),
                             (train + ["--width", "20000000"], "--width"), (train + ["--epochs", "100000000000"], "--epochs"),
                             (train + ["--batch-size", "2000000000"], "--batch-size"),
                             (["evaluate", "--run", "x", "--out", "e", "--bootstrap", "100000000"], "--bootstrap"),
                             (["prepare", "--volume", "a.mha", "--out", "p", "--patch-size", "100000"], "--patch-size"),
                             (["score", "--checkpoint", "c", "--data", data, "--out", "s", "--steps", "100000000"], "--steps"),
                             (["score", "--checkpoint", "c", "--data", data, "--out", "s", "--triplets", "100000000"], "--triplets"),
                             (["speed", "--threads", "100000"], "--threads")] {
            try assertFails(args, status: 64, mentions: [flag])
        }
        // A settings file with a huge value names the flag too, before any data is read.
        let config = try write(Data("training:\n  epochs: 100000000000\n".utf8), "c.yaml")
        try assertFails(["train", "--data", path("missing.npy"), "--out", path("t"), "--config", config], mentions: ["--epochs"])
        // Output paths: under a file, in /proc; a FIFO as data.
        let file = try write(Data("x".utf8), "file")
        try assertFails(train.map { $0 == path("t") ? file + "/t" : $0 }, status: 1, mentions: [file, "not a directory"])
        try assertFails(train.map { $0 == path("t") ? "/proc/anogan-x/t" : $0 }, status: 1, mentions: ["/proc/anogan-x"])
        XCTAssertEqual(mkfifo(path("fifo"), 0o644), 0)
        try assertFails(["train", "--data", path("fifo"), "--out", path("t2"), "--width", "2", "--batch-size", "2"], status: 1,
                        mentions: [path("fifo"), "FIFO"])
    }

    func testLeftoversOfKilledRunsAreRemovedAndABusyDirectoryRefused() throws {
        let checkpoint = try trainTinyCheckpoint()
        let dead = "99999999"  // above any pid_max
        let tmp = path("run/.checkpoint.safetensors.tmp-\(dead)-1"), sibling = path(".s.partial-\(dead)-2")
        try Data("x".utf8).write(to: URL(fileURLWithPath: tmp))
        try FileManager.default.createDirectory(atPath: sibling, withIntermediateDirectories: true)
        XCTAssertEqual(try run(["score", "--checkpoint", checkpoint, "--data", path("train.npy"), "--out", path("s"), "--steps", "2"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sibling))
        XCTAssertEqual(try run(["train", "--data", path("train.npy"), "--out", path("run"), "--resume", checkpoint, "--epochs", "2"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp))
        // A training directory held by a live process (this one) is refused.
        let lock = open(path("run/.anogan.lock"), O_RDWR | O_CREAT, 0o644)
        defer { close(lock) }
        XCTAssertEqual(flock(lock, LOCK_EX | LOCK_NB), 0)
        try assertFails(["train", "--data", path("train.npy"), "--out", path("run"), "--resume", checkpoint, "--epochs", "3"], status: 1,
                        mentions: [path("run"), "in use"])
    }

    // MARK: - kill -9

    /// Starts `anogan args…` and SIGKILLs it after `delay` seconds (if still running).
    private func killed(_ args: [String], after delay: Double) throws {
        let process = Process()
        process.executableURL = Self.binary!
        process.arguments = args
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: delay)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func testKillNineDuringScoreLeavesThePreviousRunOrTheNextNeverAMix() throws {
        let checkpoint = try trainTinyCheckpoint()
        let out = path("s")
        let base = ["score", "--checkpoint", checkpoint, "--data", path("train.npy"), "--out", out, "--steps", "40", "--trace"]
        XCTAssertEqual(try run(base).status, 0)
        var ids: Set<String> = [try XCTUnwrap(runID(out))]
        var g = SystemRandomNumberGenerator()
        for k in 0..<5 {
            try killed(base + ["--seed", "\(k + 1)"], after: Double.random(in: 0.05...1.5, using: &g))
            // Whatever is there reads whole: the previous run or the one just finished.
            let id = try XCTUnwrap(runID(out), "after kill \(k): \(out) is not a whole run")
            XCTAssertTrue(try ScoreRun.read(from: URL(fileURLWithPath: out)).trace != nil)
            ids.insert(id)
        }
        XCTAssertEqual(try run(base + ["--seed", "99"]).status, 0)
        XCTAssertFalse(ids.contains(try XCTUnwrap(runID(out))))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".s.") }, [],
                       "temporary siblings of killed runs are removed by the next run")
    }

    func testKillNineDuringTrainLeavesAReadableCheckpointOrNone() throws {
        let data = try write(npy(images(8, size: 16), shape: [8, 1, 16, 16]), "train.npy")
        let out = path("run"), checkpoint = out + "/checkpoint.safetensors"
        var g = SystemRandomNumberGenerator()
        for k in 0..<4 {
            let resume = FileManager.default.fileExists(atPath: checkpoint) ? ["--resume", checkpoint] : ["--width", "2", "--batch-size", "2"]
            try killed(["train", "--data", data, "--out", out, "--epochs", "400"] + resume, after: Double.random(in: 0.1...1.5, using: &g))
            if FileManager.default.fileExists(atPath: checkpoint) {
                let file = try Safetensors.read(URL(fileURLWithPath: checkpoint))
                XCTAssertNoThrow(try CheckpointMetadata(safetensorsMetadata: file.metadata, of: URL(fileURLWithPath: checkpoint)), "after kill \(k)")
            }
        }
        // The next run continues (or starts), finishes, and leaves no temporary file or lock behind.
        let resume = FileManager.default.fileExists(atPath: checkpoint) ? ["--resume", checkpoint] : ["--width", "2", "--batch-size", "2"]
        let epochs = FileManager.default.fileExists(atPath: checkpoint)
            ? (try CheckpointMetadata(safetensorsMetadata: Safetensors.read(URL(fileURLWithPath: checkpoint)).metadata,
                                      of: URL(fileURLWithPath: checkpoint)).position.epoch) + 1 : 1
        let result = try run(["train", "--data", data, "--out", out, "--epochs", "\(epochs)"] + resume)
        XCTAssertEqual(result.status, 0, result.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "temporary files or the lock left behind")
    }
}
