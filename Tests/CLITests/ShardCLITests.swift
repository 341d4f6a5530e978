// `anogan score --shard i/n` and `anogan merge` from the command line: bad shard
// specs are one-line usage errors naming --shard; three shard runs of a phantom
// patch set merge into exactly the unsharded run (scores.csv, z1.npy,
// z_gamma.npy byte for byte), which evaluate and report take; merges of shards
// that do not belong together fail in one line naming the run.

import Foundation
import Records
import XCTest

final class ShardCLITests: CLITestCase {
    func testBadShardSpecsAreUsageErrorsNamingTheFlag() throws {
        let checkpoint = try trainTinyCheckpoint()
        let base = ["score", "--checkpoint", checkpoint, "--data", path("train.npy"), "--out", path("s"), "--steps", "1"]
        for spec in ["3", "0/3", "4/3", "1/0", "a/b", "1/2/3", "-1/2", ""] {
            let result = try assertFails(base + ["--shard", spec], mentions: ["--shard"])
            XCTAssertNotEqual(result.status, 1, "a usage error, before any work: \(spec)")
        }
        // More shards than the 4 images: found once the data is read, still naming the flag.
        try assertFails(base + ["--shard", "5/5"], mentions: ["--shard 5/5", "4 images"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s")))
    }

    func testShardRunsMergeIntoTheUnshardedRunThatEvaluateAndReportTake() throws {
        XCTAssertEqual(try run(["phantom", "--out", path("phantom"), "--healthy", "1", "--diseased", "1", "--bscans", "2", "--width", "128",
                                "--height", "128", "--no-png"]).status, 0)
        XCTAssertEqual(try run(["prepare", "--volumes", path("phantom"), "--out", path("patches"), "--patch-size", "16",
                                "--patches-per-bscan", "4", "--spacing-x", "50"]).status, 0)
        // Width 4: a narrower model trained this briefly makes G(z) constant in z.
        XCTAssertEqual(try run(["train", "--data", path("patches"), "--out", path("model"), "--epochs", "1", "--width", "4",
                                "--batch-size", "4"]).status, 0)
        let common = ["score", "--checkpoint", path("model/checkpoint.safetensors"), "--data", path("patches"), "--steps", "2",
                      "--variant", "both", "--triplets", "7"]
        XCTAssertEqual(try run(common + ["--out", path("whole")]).status, 0)
        for i in 1...3 { XCTAssertEqual(try run(common + ["--out", path("shard-\(i)"), "--shard", "\(i)/3"]).status, 0) }
        let merged = try run(["merge", "--out", path("merged"), path("shard-2"), path("shard-3"), path("shard-1")])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertTrue(merged.stdout.contains("merged 3 shards of 16 images"), merged.stdout)
        // Picture 6 comes from shard 2 (images 5..<10), which drew it as its picture 1.
        for name in ["scores.csv", "z1.npy", "z_gamma.npy", "residuals.npy", "triplets/0006.png"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("merged/" + name)),
                           try Data(contentsOf: dir.appendingPathComponent("whole/" + name)), name)
        }
        XCTAssertEqual(try run(["evaluate", "--run", path("merged"), "--out", path("eval")]).status, 0)
        XCTAssertEqual(try run(["report", "--run", path("merged"), "--out", path("report.html")]).status, 0)
        // Shards that do not belong together: one line, naming the run.
        try assertFails(["merge", "--out", path("m"), path("shard-1"), path("shard-3")], status: 1, mentions: ["shard 2/3 is missing"])
        try assertFails(["merge", "--out", path("m"), path("shard-1"), path("shard-2"), path("shard-3"), path("shard-2")], status: 1,
                        mentions: [path("shard-2"), "overlapping"])
        try assertFails(["merge", "--out", path("m"), path("shard-1"), path("whole")], status: 1, mentions: [path("whole"), "records no shard"])
        try assertFails(["merge", "--out", path("m"), path("phantom")], status: 1, mentions: [path("phantom"), "not a score run"])
        try assertFails(["merge", "--out", path("m")], mentions: ["run"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
    }
}
