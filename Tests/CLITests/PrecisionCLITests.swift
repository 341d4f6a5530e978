// `--precision` from the command line: on a CPU without AVX512-BF16 (posed with
// oneDNN's ONEDNN_MAX_CPU_ISA, which caps what its ISA query reports) bf16 is a
// usage error naming the flag, from the flag and from a settings file; on this
// machine `speed --precision bf16 --json` prints the same keys as f32.

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

    private func keys(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    }
}
