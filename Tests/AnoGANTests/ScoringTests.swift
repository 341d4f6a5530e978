// Scoring.swift (AnomalyScorer): z₁ comes from (seed, id), so scoring shards of a
// set equals scoring the whole set bit for bit.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class ScoringTests: XCTestCase {
    override func setUp() { Threads.set(1) }  // tiny shapes: one thread avoids OpenMP spinning

    /// z₁ of an image comes from (seed, id) alone: scoring [0, k) and [k, N) separately
    /// and concatenating gives the whole set's results bit for bit, whatever the batch.
    func testScoringShardsEqualsScoringTheWholeSetBitForBit() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 12)
        let images = Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(3, using: &rng))
        let input = ImageInput(images: images, labels: [0, 0, 0, 0, 1, 1, 1], ids: (0..<7).map { "vol/\($0 * 3)/5/9" },
                               source: URL(fileURLWithPath: "/data/q.npy"))
        let settings = ScoringSettings(mapping: MappingSettings(steps: 6, batchSize: 7), variant: .both, seed: 77)
        let scorer = try AnomalyScorer(generator: g, discriminator: d, settings: settings)
        let whole = try scorer.score(input)
        for k in [1, 3, 6] {
            let head = try scorer.score(input.subset(Array(0..<k))), tail = try scorer.score(input.subset(Array(k..<7)))
            let rows = head.rows + tail.rows
            // Same batching as the whole set's (one batch of all images) cannot be the reason: a shard is its own batch.
            for i in 0..<7 {
                XCTAssertEqual(rows[i].id, whole.rows[i].id)
                for (a, b) in zip(rows[i].values, whole.rows[i].values) {
                    XCTAssertEqual(a.bitPattern, b.bitPattern, "k \(k), image \(i): \(rows[i].values) vs \(whole.rows[i].values)")
                }
            }
            for (part, offset) in [(head, 0), (tail, k)] {
                let n = part.rows.count, latent = 100
                for (mine, all) in [(part.featureMatching!.initialZ, whole.featureMatching!.initialZ), (part.featureMatching!.z, whole.featureMatching!.z),
                                    (part.reference!.z, whole.reference!.z)] {
                    XCTAssertEqual(mine.array, Array(all.array[(offset * latent)..<((offset + n) * latent)]), "k \(k)")
                }
            }
        }
        // z₁ is uniform on [-1, 1], differs between ids and between seeds, and is the stream (seed, id).
        let z = scorer.mapper.initialLatents(ids: ["a", "b"], seed: 77)
        XCTAssertTrue(z.array.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertNotEqual(Array(z.array[0..<100]), Array(z.array[100..<200]))
        XCTAssertNotEqual(z.array, scorer.mapper.initialLatents(ids: ["a", "b"], seed: 78).array)
        var stream = SeededGenerator(seed: 77, stream: "b")
        XCTAssertEqual(Array(z.array[100..<200]), (0..<100).map { _ in stream.uniform(-1, 1) })
    }
}
