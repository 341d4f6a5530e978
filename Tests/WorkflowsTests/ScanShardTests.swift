// Sharded scans and their merge (scanVolumes' shard, mergeScanShards/mergeRuns):
// three phantom volumes (two with fluid masks) scanned whole, and in 2 and in 3
// shards merged in any order, give the same output file for file, byte for
// byte — the markers ranked over all volumes, the pooled pixel AUROC and Dice,
// scan.html with its t-SNE — but the per-volume score runs' own ids and seconds;
// a fixed threshold from a normal volume is recorded bit for bit; shards that do
// not belong together are refused in one line naming the run and the reason.

import Foundation
import Imaging
import Records
import TestSupport
@testable import Workflows
import XCTest

final class ScanShardTests: TemporaryDirectoryTestCase {
    var checkpoint: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        // The stand-in scorer reads no model, but a shard records the checkpoint file's fingerprint.
        checkpoint = dir.appendingPathComponent("checkpoint.safetensors")
        try Data("stand-in".utf8).write(to: checkpoint)
    }

    /// A phantom volume of 2 B-scans (with its fluid mask when diseased).
    func phantom(_ name: String, diseased: Bool, seed: UInt64, bscans: Int = 2) throws -> OCTSource {
        let p = OCTPhantom.generate(OCTPhantomSettings(width: 192, height: 160, bscans: bscans, spacingZ: 3.87 * 496 / 160, diseased: diseased), seed: seed)
        let url = dir.appendingPathComponent(name + ".mha")
        try MetaImage.write(p.volume, to: url, elementType: .uchar)
        var mask: URL?
        if diseased {
            mask = dir.appendingPathComponent(name + "_mask.mha")
            try MetaImage.write(p.maskVolume, to: mask!, elementType: .uchar)
        }
        return OCTSource(name: name + ".mha", kind: .metaImage, scan: url, mask: mask)
    }

    func settings() -> ScanSettings {
        var s = ScanSettings()
        s.stride = 16
        s.minimumRegionArea = 5
        s.preparation.preprocessing.annotatedClasses = [1, 2]
        s.tsne.iterations = 100
        return s
    }

    @discardableResult
    func scan(_ sources: [OCTSource], _ out: String, shard: Shard? = nil, settings: ScanSettings? = nil) throws -> ScanResult {
        try scanVolumes(sources, scorer: StandInScorer.rowMedian(imageSize: 32), settings: settings ?? self.settings(), checkpoint: checkpoint,
                        shard: shard, output: dir.appendingPathComponent(out), log: { _ in })
    }

    /// Every file under `directory`, relative paths, sorted.
    func files(_ directory: URL) throws -> [String] {
        let root = directory.standardizedFileURL.path
        return try XCTUnwrap(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    func failure(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testMergedShardsAreTheScanOfAllVolumesFileForFile() throws {
        let sources = [try phantom("a", diseased: true, seed: 4), try phantom("b", diseased: false, seed: 5), try phantom("c", diseased: true, seed: 6)]
        let whole = try scan(sources, "whole")
        // The test can fail: markers of several volumes interleave in the ranking, and the pooled
        // numbers differ from each volume's.
        XCTAssertGreaterThan(whole.markers.count, 5, "enough regions for the t-SNE")
        let ranked = whole.markers.map(\.volume)
        XCTAssertGreaterThan(zip(ranked, ranked.dropFirst()).filter { $0 != $1 }.count, 2, "volumes interleave: \(ranked)")
        let e = try XCTUnwrap(whole.evaluation)
        XCTAssertEqual(e.volumes.map(\.volume), ["a.mha", "c.mha"])
        XCTAssertNotEqual(try XCTUnwrap(e.pixelAUROC), try XCTUnwrap(e.volumes[0].pixelAUROC))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("whole/" + ScanFiles.shard).path), "no shard record in a whole scan")
        let expected = try files(dir.appendingPathComponent("whole"))
        XCTAssertTrue(expected.contains("runs/c/residuals.npy") && expected.contains("overlays/b_bscan001.png"), "\(expected)")

        for n in [2, 3] {
            let shards = try (1...n).map { i -> URL in
                try scan(sources, "s\(n)-\(i)", shard: Shard(index: i, count: n))
                return dir.appendingPathComponent("s\(n)-\(i)")
            }
            // A shard holds its volumes' files alone, plus its record.
            let one = try files(shards[0])
            XCTAssertTrue(one.contains(ScanFiles.anomalyMap("a")) && !one.contains(ScanFiles.anomalyMap("c")), "\(one)")
            XCTAssertTrue(one.contains(ScanFiles.shardRecord) && one.contains(ScanFiles.shardPixels("a")), "\(one)")
            let out = dir.appendingPathComponent("merged-\(n)")
            try mergeRuns(shards.reversed(), to: out)
            XCTAssertEqual(try files(out), expected, "\(n) shards: the same files")
            for name in expected {
                let own = name.hasPrefix("runs/") && (name.hasSuffix("/summary.json") || name.hasSuffix("/files.json"))
                if own { continue }  // the score run's own id and seconds
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(name)), try Data(contentsOf: dir.appendingPathComponent("whole/" + name)),
                               "\(n) shards: \(name)")
            }
        }
        // The records keep the markers' masses exactly (the ranking over all volumes depends on them).
        let recorded = try (1...3).flatMap { try ScanShardRecord.read(from: dir.appendingPathComponent("s3-\($0)")).markers.map(\.mass) }
        XCTAssertEqual(recorded.sorted(), whole.markers.map(\.region.mass).sorted())
        // The t-SNE was drawn (it is byte-identical above, so over all markers).
        let html = try String(contentsOf: dir.appendingPathComponent("merged-3/" + ScanFiles.report), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && !html.contains("Fewer than 5 regions"))
    }

    func testAFixedThresholdIsTheSameInEveryShardAndChecked() throws {
        let sources = [try phantom("a", diseased: true, seed: 4), try phantom("b", diseased: false, seed: 5)]
        let normal = try phantom("n", diseased: false, seed: 8)
        var s = settings()
        s.threshold = .percentileOfNormal([normal], 95)
        let whole = try scan(sources, "whole", settings: s)
        let shards = try (1...2).map { i -> URL in
            try scan(sources, "s-\(i)", shard: Shard(index: i, count: 2), settings: s)
            return dir.appendingPathComponent("s-\(i)")
        }
        let record = try ScanShardRecord.read(from: shards[1])
        let t = try XCTUnwrap(whole.markers.first?.threshold)
        XCTAssertEqual(record.settings["threshold value"], "\(t) (bits \(String(t.bitPattern, radix: 16)))")
        try mergeRuns(shards, to: dir.appendingPathComponent("merged"))
        for name in [ScanFiles.markers, ScanFiles.evaluation, ScanFiles.report] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("merged/" + name)), try Data(contentsOf: dir.appendingPathComponent("whole/" + name)), name)
        }
        // Shard 2 again with another normal volume: the same flags, not the same input.
        let other = try phantom("n", diseased: false, seed: 9)
        s.threshold = .percentileOfNormal([other], 95)
        try scan(sources, "s-2", shard: Shard(index: 2, count: 2), settings: s)
        let message = failure { try mergeRuns(shards, to: self.dir.appendingPathComponent("m")) }
        XCTAssertTrue(message.contains(shards[1].appendingPathComponent(ScanFiles.shardRecord).path) && message.contains("threshold")
                      && message.contains("scanned alike"), message)
        XCTAssertFalse(message.contains("\n"), message)
    }

    func testShardsThatDoNotBelongTogetherAreRefusedNamingTheRun() throws {
        let sources = [try phantom("a", diseased: true, seed: 4, bscans: 1), try phantom("b", diseased: false, seed: 5, bscans: 1), try phantom("c", diseased: false, seed: 6, bscans: 1)]
        var s = settings()
        s.writePatchRun = false
        func shard(_ i: Int, _ n: Int, _ out: String, _ sources: [OCTSource], _ s: ScanSettings) throws -> URL {
            try scan(sources, out, shard: Shard(index: i, count: n), settings: s)
            return dir.appendingPathComponent(out)
        }
        let s1 = try shard(1, 3, "s1", sources, s), s2 = try shard(2, 3, "s2", sources, s), s3 = try shard(3, 3, "s3", sources, s)
        let out = dir.appendingPathComponent("m")
        func refuses(_ runs: [URL], _ mentions: [String], line: UInt = #line) {
            let message = failure { try mergeRuns(runs, to: out) }
            for m in mentions { XCTAssertTrue(message.contains(m), "\(message) should mention \(m)", line: line) }
            XCTAssertFalse(message.contains("\n"), message, line: line)
        }
        refuses([s1, s3], ["shard 2/3 is missing"])
        refuses([s1, s2, s3, s2], [s2.path, "overlapping"])
        // Another split, another volume list, other settings.
        refuses([s1, s2, try shard(2, 2, "half", sources, s)], [dir.appendingPathComponent("half").path, "different splits"])
        let d = try phantom("d", diseased: false, seed: 7, bscans: 1)
        refuses([s1, s2, try shard(3, 3, "other", [sources[0], sources[1], d], s)], [dir.appendingPathComponent("other").path, "another data set", "3 volumes"])
        var wider = s
        wider.minimumRegionArea = 9
        refuses([s1, s2, try shard(3, 3, "wider", sources, wider)], [dir.appendingPathComponent("wider").path, "settings.minimumRegionArea is 9", "5 in shard 1"])
        // A whole scan, a score run among scan shards, a folder that is no run.
        try scan(sources, "whole", settings: s)
        refuses([s1, s2, dir.appendingPathComponent("whole")], [dir.appendingPathComponent("whole").path, "records no shard"])
        let scoreRun = try SyntheticRun.make(in: dir, name: "scored", count: 4, size: 16, seed: 1).directory
        refuses([s1, scoreRun], [scoreRun.path, "is a score run", "do not merge"])
        refuses([scoreRun, s1], [s1.path, "is a scan run", "do not merge"])
        refuses([s1, dir], [dir.path, "is not a scan shard run"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written")
        // More shards than volumes: an error naming the shard, before any file is written.
        let message = failure { try self.scan(sources, "too-many", shard: Shard(index: 4, count: 4), settings: s) }
        XCTAssertTrue(message.contains("shard 4/4") && message.contains("3 volumes"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("too-many").path))
        // And the three shards do merge.
        try mergeRuns([s3, s1, s2], to: out)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(ScanFiles.markers)),
                       try Data(contentsOf: dir.appendingPathComponent("whole/" + ScanFiles.markers)))
    }
}
