// Shard: "i/n" parsed and validated in one place; the rule (contiguous blocks
// ⌊(i−1)·N/n⌋ ..< ⌊i·N/n⌋) checked against hand-computed splits and, for many
// (N, n), against what any split must be (every image in exactly one shard,
// in data-set order, sizes within one); the record round-trips through summary.json.

import Foundation
@testable import Records
import TestSupport
import XCTest

final class ShardTests: TemporaryDirectoryTestCase {
    func testSpecsParseOneBasedAndBadOnesNameTheShard() throws {
        let s = try Shard(parsing: "3/8")
        XCTAssertEqual(s.index, 3)
        XCTAssertEqual(s.count, 8)
        XCTAssertEqual(s.description, "3/8")
        XCTAssertEqual(try Shard(parsing: "1/1"), try Shard(index: 1, count: 1))
        for (text, fragment) in [("0/3", "i must lie in 1…3"), ("4/3", "i must lie in 1…3"), ("-1/3", "i must lie in 1…3"),
                                 ("1/0", "n must be at least 1"), ("0/0", "n must be at least 1"), ("3", "not of the form i/n"),
                                 ("", "not of the form i/n"), ("1/2/3", "not of the form i/n"), ("a/b", "not of the form i/n"),
                                 ("1 /2", "not of the form i/n"), ("/2", "not of the form i/n"), ("2/", "not of the form i/n"),
                                 ("99999999999999999999/3", "not of the form i/n")] {
            XCTAssertThrowsError(try Shard(parsing: text), text) { error in
                XCTAssertTrue(error is SettingsError, "\(text): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("shard "), "names the setting: \(error)")
                XCTAssertTrue("\(error)".contains(fragment), "\(text): \(error)")
            }
        }
    }

    func testShardsAreContiguousBlocksInDataSetOrder() throws {
        // Hand-computed: 10 images in 3 shards, 7 in 7, 5 in 2.
        XCTAssertEqual(try (1...3).map { try Shard(index: $0, count: 3).positions(of: 10) }, [0..<3, 3..<6, 6..<10])
        XCTAssertEqual(try (1...7).map { try Shard(index: $0, count: 7).positions(of: 7) }, (0..<7).map { $0..<($0 + 1) })
        XCTAssertEqual(try (1...2).map { try Shard(index: $0, count: 2).positions(of: 5) }, [0..<2, 2..<5])
        // Any N, n ≤ N: the shards tile 0..<N in order, none empty, sizes within one of N/n.
        for total in 1...40 {
            for n in 1...total {
                var next = 0
                var sizes: [Int] = []
                for i in 1...n {
                    let r = try Shard(index: i, count: n).positions(of: total)
                    XCTAssertEqual(r.lowerBound, next, "N \(total), shard \(i)/\(n)")
                    XCTAssertFalse(r.isEmpty, "N \(total), shard \(i)/\(n)")
                    sizes.append(r.count)
                    next = r.upperBound
                }
                XCTAssertEqual(next, total, "N \(total), n \(n): every image once")
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "N \(total), n \(n): \(sizes)")
            }
        }
        // More shards than images is refused, naming the shard and the count.
        XCTAssertThrowsError(try Shard(index: 1, count: 6).positions(of: 5)) { error in
            XCTAssertTrue(error is SettingsError)
            XCTAssertTrue("\(error)".contains("shard 1/6") && "\(error)".contains("5 images"), "\(error)")
        }
        XCTAssertEqual(try Shard(index: 2, count: 3).select(Array("abcdefg")), Array("cd"))
        XCTAssertEqual(try Shard(index: 2, count: 3).select(Array("abcdefg").dropFirst(0)), Array("cd"))
    }

    func testPatchSetShardsKeepIdsLabelsAndImagesAndTheirUnionIsTheSet() throws {
        let n = 7
        let images = Tensor(shape: [n, 1, 2, 2], values: (0..<(n * 4)).map { Float($0) / 100 })
        let set = PatchSet(images: images, labels: (0..<n).map { $0 % 2 }, sources: (0..<n).map { PatchSource(volume: "v", bscan: $0, x: 1, y: 2) })
        let shards = try (1...3).map { try set.shard(Shard(index: $0, count: 3)) }
        XCTAssertEqual(shards.map(\.count), [2, 2, 3])
        XCTAssertEqual(shards.flatMap(\.ids), set.ids)
        XCTAssertEqual(shards.flatMap { $0.labels! }, set.labels!)
        XCTAssertEqual(shards.flatMap(\.images.array), set.images.array)
        XCTAssertEqual(shards[1].ids, ["v/2/1/2", "v/3/1/2"])
    }

    func testTheDataSetFingerprintIsOfTheIdsInOrder() {
        let ids = ["a/1", "a/2", "b/1"]
        XCTAssertEqual(Shard.fingerprint(ids: ids), Shard.fingerprint(ids: ids))
        XCTAssertNotEqual(Shard.fingerprint(ids: ids), Shard.fingerprint(ids: ids.reversed()))
        XCTAssertNotEqual(Shard.fingerprint(ids: ids), Shard.fingerprint(ids: Array(ids.dropLast())))
        // Ids are separated: ["ab", "c"] is not ["a", "bc"].
        XCTAssertNotEqual(Shard.fingerprint(ids: ["ab", "c"]), Shard.fingerprint(ids: ["a", "bc"]))
        // FNV-1a of the bytes "a/1\na/2\nb/1\n" (the published algorithm, offset basis and prime).
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "a/1\na/2\nb/1\n".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        XCTAssertEqual(Shard.fingerprint(ids: ids), String(format: "%016llx", h))
    }

    func testTheShardRecordRoundTripsThroughTheSummaryAndOldSummariesHaveNone() throws {
        let table = ScoreTable(columns: ["R"], ids: ["x", "y"], labels: [nil, nil], values: [[1], [2]])
        var summary = ScoreRun.Summary(checkpoint: "c", patches: "p", architecture: DCGANConfig(latentDimension: 2, imageSize: 16, width: 2),
                                       settings: ScoringSettings(), scores: table, seconds: 1, mappings: 1, threads: 1,
                                       reconstructionsFrom: "feature-matching")
        XCTAssertNil(try JSONDecoder().decode(ScoreRun.Summary.self, from: summary.json()).shard, "a run of the whole set")
        let record = try Shard.Record(shard: Shard(index: 2, count: 3), total: 7, datasetFingerprint: "d", checkpointFingerprint: "c",
                                      triplets: 4)
        XCTAssertEqual(record.first, 2)
        XCTAssertEqual(try record.positions, 2..<4)
        summary.shard = record
        summary.mergedFrom = ["r1", "r2"]
        let back = try JSONDecoder().decode(ScoreRun.Summary.self, from: summary.json())
        XCTAssertEqual(back, summary)
        XCTAssertThrowsError(try Shard.Record(shard: Shard(index: 3, count: 3), total: 2, datasetFingerprint: "d", checkpointFingerprint: "c",
                                              triplets: 0))
    }
}
