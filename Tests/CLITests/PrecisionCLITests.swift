// `--precision` from the command line: on a CPU without AVX512-BF16 (posed with
// oneDNN's ONEDNN_MAX_CPU_ISA, which caps what its ISA query reports) bf16 is a
// usage error naming the flag, from the flag and from a settings file; on this
// machine `speed --precision bf16 --json` prints the same keys as f32, and `demo`
// and `one-class` record the precision they were given in their settings files.

import Foundation
import XCTest

final class PrecisionCLITests: CLITestCase {
    /// Runs `body` with ONEDNN_MAX_CPU_ISA set for the child processes (the harness passes this process's environment on).
    private func posingAs(_ isa: String, _ body: () throws -> Void) rethrows {
        setenv("ONEDNN_MAX_CPU_ISA", isa, 1)
        defer { unsetenv("ONEDNN_MAX_CPU_ISA") }
        try body()
    }

    func testBF16OnACPUWithoutItIsAUsageErrorNamingTheFlag() throws {
        try posingAs("AVX512_CORE") {
            let tiny = ["--width", "2", "--image-size", "16", "--batch", "2", "--iterations", "1", "--warmup", "0"]
            try assertFails(["speed", "--precision", "bf16"] + tiny, status: 64, mentions: ["--precision bf16", "AVX512-BF16", "avx512_core"])
            try assertFails(["train", "--data", path("x.npy"), "--out", path("run"), "--precision", "bf16"], status: 64,
                            mentions: ["--precision bf16", "AVX512-BF16"])
            try assertFails(["score", "--checkpoint", path("c"), "--data", path("x.npy"), "--out", path("s"), "--precision", "bf16"],
                            status: 64, mentions: ["--precision bf16"])
            try assertFails(["train-encoder", "--checkpoint", path("c"), "--data", path("x.npy"), "--precision", "bf16"],
                            status: 64, mentions: ["--precision bf16"])
            // From a settings file: the same message (the library names the setting, the CLI its flag).
            try "speed:\n  precision: bf16\n".write(toFile: path("speed.yaml"), atomically: true, encoding: .utf8)
            try assertFails(["speed", "--config", path("speed.yaml")] + tiny, status: 64, mentions: ["--precision bf16", "AVX512-BF16"])
            try assertFails(["demo", "--quick", "--out", path("d"), "--precision", "bf16"], status: 64, mentions: ["--precision bf16"])
            try assertFails(["one-class", "mnist", "--data", path("idx"), "--normal-class", "1", "--precision", "bf16"], status: 64,
                            mentions: ["--precision bf16"])
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("d")), "refused before any work")
            // f32 still runs there.
            XCTAssertEqual(try run(["speed", "--precision", "f32", "--json"] + tiny).status, 0)
        }
    }

    func testSpeedReportsTheSameKeysInBothPrecisions() throws {
        let tiny = ["--width", "2", "--image-size", "16", "--batch", "2", "--iterations", "1", "--warmup", "0", "--json"]
        let f32 = try run(["speed"] + tiny)
        XCTAssertEqual(f32.status, 0, f32.stderr)
        let f32Keys = try keys(f32.stdout)
        XCTAssertEqual(f32Keys["precision"] as? String, "f32")
        let probe = try run(["speed", "--precision", "bf16"] + tiny)
        guard probe.status == 0 else {
            // This CPU has no bf16: the refusal is the other test's subject.
            XCTAssertTrue(probe.stderr.contains("AVX512-BF16"), probe.stderr)
            throw XCTSkip("no AVX512-BF16 here")
        }
        let bf16Keys = try keys(probe.stdout)
        XCTAssertEqual(bf16Keys["precision"] as? String, "bf16")
        XCTAssertEqual(Set(bf16Keys.keys), Set(f32Keys.keys))
        XCTAssertEqual(bf16Keys["ref_kernels"] as? [String], [], "bf16 fell back to oneDNN's reference kernels")
    }

    func testDemoAndOneClassRecordThePrecisionOfTheFlag() throws {
        try XCTSkipUnless(try run(["speed", "--precision", "bf16", "--width", "2", "--image-size", "16", "--batch", "2",
                                   "--iterations", "1", "--warmup", "0"]).status == 0, "no AVX512-BF16 here")
        // The demo at its quick size, shortened further.
        try ["demo:", "  ganIterations: 1", "  encoderIterations: 1", "  mappingSteps: 1", "  refinementSteps: 1", "  trainingScoreCount: 2",
             "  bscans: 2", "  trainingPatchesPerBScan: 8", "  testNormalLimit: 8", ""].joined(separator: "\n")
            .write(toFile: path("demo.yaml"), atomically: true, encoding: .utf8)
        let demo = try run(["demo", "--quick", "--config", path("demo.yaml"), "--out", path("d"), "--precision", "bf16", "--threads", "2"])
        XCTAssertEqual(demo.status, 0, demo.stderr)
        XCTAssertTrue(demo.stdout.hasPrefix("note: --quick runs every stage at toy sizes"), "--quick says what it is:\n\(demo.stdout)")
        let demoSettings = try keys(String(contentsOfFile: path("d/demo.json"), encoding: .utf8))
        XCTAssertEqual(demoSettings["precision"] as? String, "bf16")
        XCTAssertEqual(demoSettings["ganIterations"] as? Int, 1, "the settings file was read too")
        let marker = try keys(String(contentsOfFile: path("d/.stages/acae-training.json"), encoding: .utf8))
        XCTAssertEqual(marker["precision"] as? String, "bf16")

        // One-class on hand-made IDX files: 40 training and 24 test images of 28×28, classes 0–2.
        let idx = dir.appendingPathComponent("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        func writeIDX(_ name: String, shape: [Int], bytes: [UInt8]) throws {
            var data = Data([0, 0, 0x08, UInt8(shape.count)])
            for d in shape { data.append(contentsOf: withUnsafeBytes(of: UInt32(d).bigEndian, Array.init)) }
            try (data + bytes).write(to: idx.appendingPathComponent(name))
        }
        for (prefix, count) in [("train", 60), ("t10k", 24)] {
            let labels = (0..<count).map { UInt8($0 % 3) }
            let pixels: [UInt8] = labels.flatMap { (c: UInt8) -> [UInt8] in
                let bar = 4 + 2 * Int(c)
                return (0..<784).map { (p: Int) -> UInt8 in p / 28 == bar ? 250 : UInt8(p % 7) }
            }
            try writeIDX("\(prefix)-images-idx3-ubyte", shape: [count, 28, 28], bytes: pixels)
            try writeIDX("\(prefix)-labels-idx1-ubyte", shape: [count], bytes: labels)
        }
        let tiny = ["--iterations", "1", "--encoder-iterations", "1", "--steps", "1", "--refinement-steps", "1", "--test-limit", "8",
                    "--width", "2", "--batch-size", "8", "--threads", "2"]
        let oneClass = try run(["one-class", "mnist", "--data", idx.path, "--normal-class", "1", "--out", path("oc"), "--precision", "bf16"] + tiny)
        XCTAssertEqual(oneClass.status, 0, oneClass.stderr)
        let results = try keys(String(contentsOfFile: path("oc/results.json"), encoding: .utf8))
        XCTAssertEqual((results["settings"] as? [String: Any])?["precision"] as? String, "bf16")
    }

    private func keys(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    }
}
