// Shards: one of n parts of a data set, scored on its own (a Slurm array task)
// and merged back into the run of the whole set. The one place that parses
// "i/n" and decides which images a shard holds.
//
// The rule: shard i of n (1-based, 1 ≤ i ≤ n ≤ N) holds the images at positions
// ⌊(i−1)·N/n⌋ ..< ⌊i·N/n⌋ of the data set: contiguous blocks in data-set order,
// sizes ⌊N/n⌋ or ⌈N/n⌉, none empty. Contiguous, so that the merge is a
// concatenation in shard order and a rerun of one array task redoes one block.
// An image's z₁ depends only on (seed, id) (LatentMapper.initialLatents) and
// scoring is batch-independent, so the union of the shards equals one run bit
// for bit.

import Foundation

/// Shard `index` of `count` (1-based), e.g. "3/8".
public struct Shard: Codable, Hashable, Sendable, CustomStringConvertible {
    /// 1…count.
    public let index: Int
    /// Number of shards n ≥ 1.
    public let count: Int

    /// Throws a SettingsError naming `shard` unless 1 ≤ index ≤ count.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw SettingsError("shard \(index)/\(count): the number of shards n must be at least 1") }
        guard index >= 1, index <= count else {
            throw SettingsError("shard \(index)/\(count): i must lie in 1…\(max(count, 1)) (shards count from 1)")
        }
        self.index = index
        self.count = count
    }

    /// Parses "i/n" (decimal integers, e.g. "3/8"; as Slurm's
    /// "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" for an array 1-n).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw SettingsError("shard \"\(text)\" is not of the form i/n (e.g. 3/8: the third of eight shards)")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Positions ⌊(i−1)·total/n⌋ ..< ⌊i·total/n⌋ of a data set of `total` items (`unit`: "image",
    /// "volume"…, for the message); throws a SettingsError naming `shard` when there are fewer
    /// items than shards.
    public func positions(of total: Int, unit: String = "image") throws -> Range<Int> {
        guard total >= count else {
            throw SettingsError("shard \(self): \(count) shards of \(total) \(unit)\(total == 1 ? "" : "s") would leave some empty; use at most \(total) shards")
        }
        return bounds(total)
    }

    /// The rule itself, for total ≥ count (every range non-empty).
    func bounds(_ total: Int) -> Range<Int> {
        // Int multiplication cannot overflow here: total ≤ Limits-sized data sets, count ≤ total.
        ((index - 1) * total / count)..<(index * total / count)
    }

    /// The items of this shard of `items` (ids, sources, volumes…), in order.
    public func select<C: RandomAccessCollection>(_ items: C, unit: String = "image") throws -> [C.Element] where C.Index == Int {
        let range = try positions(of: items.count, unit: unit)
        return Array(items[(items.startIndex + range.lowerBound)..<(items.startIndex + range.upperBound)])
    }

    /// FNV-1a of a data set's ids in order, each followed by a line break: the same
    /// list of ids (hence the same data set, as ids are stable) gives the same fingerprint.
    public static func fingerprint(ids: [String]) -> String {
        var f = FNV1a()
        for id in ids { f.add(Data((id + "\n").utf8)) }
        return f.hex
    }

    /// What summary.json records of a shard run, so that `merge` can check the shards
    /// belong together and put them in order.
    public struct Record: Codable, Equatable, Sendable {
        /// The shard i (1-based) and the number of shards n.
        public var index: Int
        public var count: Int
        /// Images in the whole data set N, and the position of this shard's first image in it.
        public var total: Int
        public var first: Int
        /// `Shard.fingerprint(ids:)` of the whole data set.
        public var dataset: String
        /// FNV-1a of the model checkpoint file, and of the encoder's with an encoder start.
        public var checkpoint: String
        public var encoder: String?
        /// Triplet pictures asked for (of the first images of the whole data set, in a
        /// merged run; of the shard's own first images in the shard run).
        public var triplets: Int

        public init(shard: Shard, total: Int, datasetFingerprint: String, checkpointFingerprint: String,
                    encoderFingerprint: String? = nil, triplets: Int) throws {
            index = shard.index
            count = shard.count
            self.total = total
            first = try shard.positions(of: total).lowerBound
            dataset = datasetFingerprint
            checkpoint = checkpointFingerprint
            encoder = encoderFingerprint
            self.triplets = triplets
        }

        public var shard: Shard { get throws { try Shard(index: index, count: count) } }
        /// This shard's positions in the data set.
        public var positions: Range<Int> { get throws { try shard.positions(of: total) } }
    }
}

extension PatchSet {
    /// The images (labels, masks, sources, ids) of `shard`, in data-set order.
    public func shard(_ shard: Shard) throws -> PatchSet { subset(Array(try shard.positions(of: count))) }
}
