// `anogan scan` end to end on a tiny phantom with a tiny trained model and encoder:
// every output file, the map's geometry, the evaluation against the phantom's
// masks; and bad flags or files fail with one clear line. Sharded: two shard
// scans merge into the unsharded scan byte for byte; a bad --shard is a usage
// error naming the flag.

import Foundation
import Records
import TestSupport
import XCTest

final class ScanCLITests: CLITestCase {
    @discardableResult
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let result = try run(args, file: file, line: line)
        XCTAssertEqual(result.status, 0, "anogan \(args.joined(separator: " ")) failed:\n\(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.crashed, file: file, line: line)
        return result
    }

    /// A tiny phantom (1 healthy, 1 diseased, 2 B-scans of 128²), a 16² model of width 2 and its encoder.
    func tinyModel() throws -> String {
        try ok(["phantom", "--out", path("ph"), "--healthy", "1", "--diseased", "1", "--bscans", "2", "--width", "128", "--height", "128", "--no-png"])
        try ok(["prepare", "--volume", path("ph/healthy_000.mha"), "--out", path("normal"), "--patch-size", "16", "--patches-per-bscan", "8"])
        try ok(["train", "--data", path("normal"), "--out", path("train"), "--epochs", "1", "--width", "2", "--batch-size", "4"])
        try ok(["train-encoder", "--checkpoint", path("train/checkpoint.safetensors"), "--data", path("normal"), "--iterations", "2", "--batch-size", "4"])
        return path("train/checkpoint.safetensors")
    }

    func testScanWritesMapsOverlaysScoresMarkersAndEvaluation() throws {
        let checkpoint = try tinyModel()
        let result = try ok(["scan", "--checkpoint", checkpoint, "--volume", path("ph/diseased_000.mha"), "--volume", path("ph/healthy_000.mha"),
                             "--out", path("scan"), "--stride", "8", "--mask-classes", "1", "2", "--min-region", "5"])
        XCTAssertTrue(result.stdout.contains("from E(x)"), "the encoder start by default:\n\(result.stdout)")
        XCTAssertTrue(result.stdout.contains("pixel AUROC"), result.stdout)
        let fm = FileManager.default
        for name in ["anomaly_map_diseased_000.mha", "anomaly_map_healthy_000.mha", "enface_diseased_000.png", "enface_healthy_000.png",
                     "overlays/diseased_000_bscan000.png", "overlays/diseased_000_bscan001.png", "overlays/healthy_000_bscan001.png",
                     "scores.csv", "markers.csv", "marker_features.npy", "evaluation.json", "scan.html",
                     "patches/diseased_000/manifest.json", "runs/diseased_000/scores.csv", "runs/healthy_000/summary.json"] {
            XCTAssertTrue(fm.fileExists(atPath: path("scan/" + name)), name)
        }
        // The map: float32 with the scan's size and spacing, read back by the header alone.
        let header = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path("scan/anomaly_map_diseased_000.mha"))).prefix(400), as: UTF8.self)
        let scanHeader = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path("ph/diseased_000.mha"))).prefix(400), as: UTF8.self)
        func field(_ h: String, _ key: String) -> String? { h.split(separator: "\n").first { $0.hasPrefix(key + " =") }.map(String.init) }
        XCTAssertEqual(field(header, "DimSize"), "DimSize = 128 128 2")
        XCTAssertEqual(field(header, "ElementSpacing"), field(scanHeader, "ElementSpacing"))
        XCTAssertEqual(field(header, "ElementType"), "ElementType = MET_FLOAT")
        // scores.csv: a header, 2 B-scans + the volume, for each volume.
        let scores = try String(contentsOfFile: path("scan/scores.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(scores.first, "volume,bscan,patches,band_pixels,map_mean,map_max,patch_score_mean")
        XCTAssertEqual(scores.count, 1 + 2 * 3)
        XCTAssertEqual(scores.filter { $0.contains(",all,") }.count, 2)
        // Patch ids are the stable volume/bscan/x/y.
        let runScores = try String(contentsOfFile: path("scan/runs/diseased_000/scores.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(runScores[1].hasPrefix("diseased_000.mha/0/"), String(runScores[1]))
        let evaluation = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("scan/evaluation.json")))) as? [String: Any]
        let auroc = try XCTUnwrap(evaluation?["pixelAUROC"] as? Double)
        XCTAssertTrue(auroc > 0 && auroc <= 1)
        let html = try String(contentsOfFile: path("scan/scan.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("</html>") && html.contains("enface_diseased_000.png") && html.contains("Marker candidates"))

        // The evaluation report of the tiles' score run, with the scan as a section, pictures embedded.
        _ = try ok(["report", "--run", path("scan/runs/diseased_000"), "--scan", path("scan"), "--out", path("rep/report.html"),
                    "--bootstrap", "10", "--tsne-iterations", "50"])
        let report = try String(contentsOfFile: path("rep/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Whole B-scans: the scan in \(path("scan"))"), "the scan's section")
        XCTAssertTrue(report.contains("diseased_000.mha: en face") && report.contains("src=\"data:image/png;base64,"))
        _ = try assertFails(["report", "--run", path("scan/runs/diseased_000"), "--scan", path("ph"), "--out", path("rep2/report.html")],
                        mentions: [path("ph/scan.json"), "not the output of `anogan scan`"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("rep2/report.html")))
        _ = try assertFails(["report", "--scan", path("scan"), "--out", path("rep3/report.html")], status: 64,
                            mentions: ["--run", "SCAN/runs/<volume>"])
    }

    func testBadFlagsAndFilesFailWithOneLine() throws {
        let checkpoint = try tinyModel()
        let base = ["scan", "--checkpoint", checkpoint, "--out", path("o")]
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--stride", "0"], status: 64, mentions: ["--stride"])
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--stride", "-3"], status: 64, mentions: ["--stride"])
        try assertFails(base, status: 64, mentions: ["--volume"])
        try assertFails(base + ["--volume", path("ph/missing.mha")], mentions: [path("ph/missing.mha"), "no such volume"])
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--stride", "17"], status: 64, mentions: ["stride 17", "16-pixel"])
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--threshold", "0.5", "--threshold-from-run", path("x")],
                        status: 64, mentions: ["one threshold"])
        // A mask of another size than its volume.
        try ok(["phantom", "--out", path("small"), "--healthy", "1", "--diseased", "0", "--bscans", "1", "--width", "64", "--height", "64", "--no-png"])
        try assertFails(base + ["--volume", path("ph/diseased_000.mha"), "--mask", path("small/healthy_000_mask.mha")],
                        mentions: ["healthy_000_mask.mha", "64×64×1", "128×128×2"])
        // Refused after the output folders were made: they go again, and a folder that was there stays.
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o")), "a refused scan left an empty --out")
        try FileManager.default.createDirectory(atPath: path("mine"), withIntermediateDirectories: true)
        try assertFails(["scan", "--checkpoint", checkpoint, "--out", path("mine"), "--volume", path("ph/diseased_000.mha"),
                         "--mask", path("small/healthy_000_mask.mha")], mentions: ["healthy_000_mask.mha"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("mine")))
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--encoder", path("nope.safetensors")], mentions: ["nope.safetensors"])
        // --prior-candidates: only with the prior start (the encoder start is the default), and K ≥ 1.
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--prior-candidates", "4"], status: 64,
                        mentions: ["--prior-candidates", "--start prior"])
        try assertFails(base + ["--volume", path("ph/healthy_000.mha"), "--start", "prior", "--prior-candidates", "0"], status: 64,
                        mentions: ["--prior-candidates"])
        try ok(["scan", "--checkpoint", checkpoint, "--out", path("k"), "--volume", path("ph/healthy_000.mha"), "--stride", "16",
                "--start", "prior", "--steps", "2", "--prior-candidates", "3"])
        let summary = try XCTUnwrap(try ScoreRun.read(from: URL(fileURLWithPath: path("k/runs/healthy_000")), parts: []).summary)
        XCTAssertEqual(summary.settings.start, .prior)
        XCTAssertEqual(summary.settings.mapping.priorCandidates, 3)
    }

    func testShardedScanMergesIntoTheScanOfAllVolumesAndBadShardsNameTheFlag() throws {
        let checkpoint = try tinyModel()
        let common = ["scan", "--checkpoint", checkpoint, "--volume", path("ph/diseased_000.mha"), "--volume", path("ph/healthy_000.mha"),
                      "--stride", "8", "--mask-classes", "1", "2", "--min-region", "5", "--threads", "1"]
        for spec in ["3", "0/2", "3/2", "a/b", "1/2/3", "-1/2", ""] {
            try assertFails(common + ["--out", path("x"), "--shard", spec], status: 64, mentions: ["--shard"])
        }
        // More shards than the 2 volumes: found once the inputs are listed, still naming the flag.
        try assertFails(common + ["--out", path("x"), "--shard", "3/3"], mentions: ["--shard 3/3", "2 volumes"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x")))

        try ok(common + ["--out", path("whole")])
        for i in 1...2 { try ok(common + ["--out", path("shard-\(i)"), "--shard", "\(i)/2"]) }
        let merged = try ok(["merge", "--out", path("merged"), path("shard-2"), path("shard-1")])
        XCTAssertTrue(merged.stdout.contains("merged 2 scan shards of 2 volumes"), merged.stdout)
        for name in ["scores.csv", "markers.csv", "marker_features.npy", "evaluation.json", "scan.html", "scan.json", "anomaly_map_healthy_000.mha",
                     "enface_diseased_000.png", "overlays/healthy_000_bscan001.png", "patches/healthy_000/images.npy", "runs/diseased_000/scores.csv"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("merged/" + name)), try Data(contentsOf: dir.appendingPathComponent("whole/" + name)), name)
        }
        try assertFails(["merge", "--out", path("m"), path("shard-1")], status: 1, mentions: ["shard 2/2 is missing"])
        try assertFails(["merge", "--out", path("m"), path("shard-1"), path("whole")], status: 1, mentions: [path("whole"), "records no shard"])
    }
}
