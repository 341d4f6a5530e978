// Merge: the shard runs of one data set (score with a Shard, e.g. the tasks of a
// Slurm job array) joined into the run of the whole set. Shards are contiguous
// blocks in data-set order (Shard's rule) and every image is scored as the whole
// set scores it, so the merge is a concatenation in shard order: scores.csv,
// reconstructions, residuals, features, z₁ and z_Γ come out exactly as one
// unsharded run writes them, and so do the triplet pictures (copied and
// renumbered). Two things are recomputed: trace.csv, the mean loss per step,
// as the image-weighted mean of the shards' means (equal to one run's up to
// rounding in the last bits), and summary.json (counts and means of the merged
// table; seconds summed over the shards; the shards' run ids in `mergedFrom`).
//
// Refused, in one line naming the run or file: a directory that is not a score
// run or not a shard; shards of different data sets or splits; the same shard
// twice; a missing shard; shards scored with different settings (named).

import AnoGAN
import Foundation
import Records

/// Reads the shard runs in `directories` (any order), checks that they are all the shards of
/// one split of one data set scored alike, and writes their merge into `output` (replaced as
/// a whole, RunDirectory). Returns the merged run. `log` gets one line.
@discardableResult
public func mergeShardRuns(_ directories: [URL], to output: URL, log: (String) -> Void = { _ in }) throws -> ScoreRun {
    guard !directories.isEmpty else { throw SettingsError("merge needs the shard runs to merge; none were given") }
    try ScoreRun.checkOutput(output)
    let shards = try directories.map(ShardRun.init)
    if let clash = shards.first(where: { $0.directory.standardizedFileURL.path == output.standardizedFileURL.path }) {
        throw FileError(clash.directory, "is one of the shard runs being merged; choose another output directory")
    }
    let sorted = try checkSplit(shards)
    try checkAlike(sorted)

    // Concatenate in shard order (data-set order).
    let runs = sorted.map(\.run)
    let first = sorted[0]
    let table = ScoreTable(columns: first.run.scores.columns, ids: runs.flatMap(\.scores.ids),
                           labels: runs.flatMap(\.scores.labels), values: runs.flatMap(\.scores.values))
    guard Shard.fingerprint(ids: table.ids) == first.record.dataset else {
        throw FileError(first.url(ScoreRun.Files.scores), "the ids of the \(sorted.count) shards together are not the data set they record (fingerprint \(first.record.dataset)); rows changed since scoring?")
    }
    func joined(_ part: KeyPath<ScoreRun, Tensor?>, _ name: String) throws -> Tensor? {
        let parts = runs.compactMap { $0[keyPath: part] }
        guard parts.count == runs.count else { return nil }
        if let k = parts.firstIndex(where: { $0.shape.dropFirst() != parts[0].shape.dropFirst() }) {
            throw FileError(sorted[k].url(name), "holds items of shape \(Array(parts[k].shape.dropFirst())), shard 1 of \(Array(parts[0].shape.dropFirst()))")
        }
        return Tensor.concatenated(parts)
    }
    var trace: ScoreRun.Trace?
    if runs.allSatisfy({ $0.trace != nil }) {
        func mean(_ column: KeyPath<ScoreRun.Trace, [Double]?>) -> [Double]? {
            let columns = runs.compactMap { $0.trace?[keyPath: column] }
            guard columns.count == runs.count, let steps = columns.first?.count else { return nil }
            return (0..<steps).map { s in zip(columns, runs).reduce(0.0) { $0 + $1.0[s] * Double($1.1.scores.count) } / Double(table.count) }
        }
        trace = ScoreRun.Trace(featureMatching: mean(\.featureMatching), reference: mean(\.reference))
    }

    let s = first.summary
    var summary = ScoreRun.Summary(checkpoint: s.checkpoint, patches: first.patches, architecture: s.architecture,
                                   settings: s.settings, scores: table, seconds: sorted.reduce(0) { $0 + $1.summary.seconds },
                                   mappings: s.settings.variant.losses.count, threads: s.threads,
                                   reconstructionsFrom: s.reconstructionsFrom, encoderCheckpoint: s.encoderCheckpoint)
    summary.mergedFrom = sorted.map { $0.summary.runID ?? $0.directory.path }
    typealias F = ScoreRun.Files
    let merged = ScoreRun(scores: table, summary: summary, reconstructions: try joined(\.reconstructions, F.reconstructions),
                          residuals: try joined(\.residuals, F.residuals), features: try joined(\.features, F.features),
                          initialLatents: try joined(\.initialLatents, F.initialLatents), latents: try joined(\.latents, F.latents), trace: trace)
    // The first `triplets` images of the data set, as one run draws them: picture j of the shard
    // holding position g = first + j becomes picture g.
    let pictures = min(first.record.triplets, table.count)
    try merged.write(to: output) { temp in
        guard pictures > 0 else { return }
        let folder = temp.appendingPathComponent(ScoreRun.Files.triplets)
        try RunDirectory.create(folder)
        for shard in sorted {
            let range = try shard.record.positions
            for g in range where g < pictures {
                let name = ScoreRun.Files.triplets + "/" + String(format: "%04d.png", g - range.lowerBound)
                let data = try readFile(shard.url(name))
                try data.writeAtomically(to: folder.appendingPathComponent(String(format: "%04d.png", g)))
            }
        }
    }
    log("merged \(sorted.count) shards of \(table.count) images (\(directories.map(\.path).joined(separator: ", "))) into \(output.path)")
    return merged
}

/// One shard run as read for the merge.
private struct ShardRun {
    var directory: URL
    var run: ScoreRun
    var summary: ScoreRun.Summary
    var record: Shard.Record
    /// The patch set, as a path that works from anywhere when the summary's relative path is found next to the run.
    var patches: String

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    init(_ directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw FileError(directory, "no such score run directory")
        }
        guard isDirectory.boolValue, FileManager.default.fileExists(atPath: directory.appendingPathComponent(ScoreRun.Files.scores).path) else {
            throw FileError(directory, "is not a score run (no \(ScoreRun.Files.scores))")
        }
        run = try ScoreRun.read(from: directory, parts: ScoreRun.Parts.all.subtracting(.patches))
        let summaryURL = directory.appendingPathComponent(ScoreRun.Files.summary)
        guard let summary = run.summary else {
            throw FileError(summaryURL, "is missing: a shard run records its shard in it")
        }
        guard let record = summary.shard else {
            throw FileError(summaryURL, "records no shard: a run of the whole data set, not one of its shards")
        }
        self.summary = summary
        self.record = record
        let shard: Shard
        do { shard = try record.shard } catch { throw FileError(summaryURL, "records an invalid shard: \(error)") }
        guard let positions = try? shard.positions(of: record.total) else {
            throw FileError(summaryURL, "records shard \(shard) of a data set of \(record.total) images, fewer than the shards")
        }
        guard positions.lowerBound == record.first, positions.count == run.scores.count else {
            throw FileError(directory.appendingPathComponent(ScoreRun.Files.scores),
                            "has \(run.scores.count) rows, but shard \(shard) of \(record.total) images holds \(positions.count) from position \(positions.lowerBound)")
        }
        patches = run.patchSetCandidates(runDirectory: directory).first { FileManager.default.fileExists(atPath: $0.path) }?.path
            ?? summary.patches
    }
}

/// The shards sorted by index, after checking they are one split of one data set, each once, none missing.
private func checkSplit(_ shards: [ShardRun]) throws -> [ShardRun] {
    try orderedShards(shards.map { ShardPlace(directory: $0.directory, index: $0.record.index, count: $0.record.count,
                                              total: $0.record.total, dataset: $0.record.dataset) }, unit: "image").map { shards[$0] }
}

/// Where a shard run says it belongs: shard index/count of a data set of `total` items with ids fingerprint `dataset`.
struct ShardPlace {
    var directory: URL
    var index: Int, count: Int, total: Int
    var dataset: String
}

/// The positions of `shards` in shard order, after checking they are one split of one data set
/// (of `total` `unit`s), each once, none missing; a FileError naming the run otherwise.
func orderedShards(_ shards: [ShardPlace], unit: String) throws -> [Int] {
    let first = shards[0]
    for b in shards.dropFirst() {
        guard b.dataset == first.dataset, b.total == first.total else {
            throw FileError(b.directory, "is a shard of another data set (\(b.total) \(unit)s, ids fingerprint \(b.dataset)) than \(first.directory.path) (\(first.total) \(unit)s, \(first.dataset))")
        }
        guard b.count == first.count else {
            throw FileError(b.directory, "is shard \(b.index)/\(b.count), but \(first.directory.path) is shard \(first.index)/\(first.count): shards of different splits (n \(b.count) vs \(first.count))")
        }
    }
    var byIndex: [Int: Int] = [:]
    for (k, shard) in shards.enumerated() {
        if let earlier = byIndex.updateValue(k, forKey: shard.index) {
            throw FileError(shard.directory, "is shard \(shard.index)/\(shard.count), and so is \(shards[earlier].directory.path): overlapping shards")
        }
    }
    let n = first.count
    let missing = (1...n).filter { byIndex[$0] == nil }
    if !missing.isEmpty {
        throw SettingsError("shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing: "
                            + "the runs given are shard\(byIndex.count == 1 ? "" : "s") \(byIndex.keys.sorted().map { "\($0)/\(n)" }.joined(separator: ", "))")
    }
    return (1...n).map { byIndex[$0]! }
}

/// Throws a FileError naming the first setting in which a shard differs from the first shard:
/// model (architecture, checkpoint and encoder fingerprints), scoring settings (but the batch
/// size, which does not change the results), score columns, and which files were written.
private func checkAlike(_ shards: [ShardRun]) throws {
    let reference = try shardSettings(shards[0])
    for shard in shards.dropFirst() {
        let mine = try shardSettings(shard)
        for key in Set(reference.keys).union(mine.keys).sorted() where reference[key] != mine[key] {
            throw FileError(shard.url(ScoreRun.Files.summary),
                            "\(key) is \(mine[key] ?? "absent") here but \(reference[key] ?? "absent") in shard 1 (\(shards[0].directory.path)): shards must be scored alike")
        }
    }
    let optional = [ScoreRun.Files.reconstructions, ScoreRun.Files.residuals, ScoreRun.Files.features,
                    ScoreRun.Files.initialLatents, ScoreRun.Files.latents, ScoreRun.Files.trace]
    for name in optional {
        let has = shards.map { !$0.run.missing.contains(name) }
        if let k = has.firstIndex(of: !has[0]) {
            let (with, without) = has[0] ? (shards[0], shards[k]) : (shards[k], shards[0])
            throw FileError(without.url(name), "is missing, but \(with.directory.path) has it: shards written with different outputs")
        }
    }
}

/// The settings two shards must share, as dotted name → value text.
private func shardSettings(_ shard: ShardRun) throws -> [String: String] {
    let s = shard.summary, r = shard.record
    var out: [String: String] = [
        "checkpoint (FNV-1a of the file)": r.checkpoint,
        "encoder checkpoint (FNV-1a of the file)": r.encoder ?? "none",
        "output.triplets": "\(r.triplets)",
        "columns": s.columns.joined(separator: ","),
        "reconstructionsFrom": s.reconstructionsFrom,
        "format": "\(s.format) \(s.version)",
    ]
    var settings = s.settings
    settings.mapping.batchSize = 1  // mapped in any batches, the results are the same
    try flatten(settings, prefix: "settings", into: &out)
    try flatten(s.architecture, prefix: "architecture", into: &out)
    return out
}

func flatten<T: Encodable>(_ value: T, prefix: String, into out: inout [String: String]) throws {
    let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
    func walk(_ value: Any, _ path: String) {
        if let dictionary = value as? [String: Any] {
            for (key, child) in dictionary { walk(child, path + "." + key) }
        } else if let array = value as? [Any] {
            for (k, child) in array.enumerated() { walk(child, path + "[\(k)]") }
        } else {
            out[path] = "\(value)"
        }
    }
    walk(object, prefix)
}

extension Tensor {
    /// The tensors' items one after the other (same item shape): [Σ batch] + item shape.
    static func concatenated(_ parts: [Tensor]) -> Tensor {
        let itemShape = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == itemShape }, "concatenating tensors of different item shapes")
        let out = Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + itemShape)
        var offset = 0
        for part in parts {
            (out.data + offset).update(from: part.data, count: part.count)
            offset += part.count
        }
        return out
    }
}
