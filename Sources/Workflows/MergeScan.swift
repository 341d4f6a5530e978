// Merge of scan shards (`scan --shard i/n`, e.g. the tasks of a Slurm job
// array) into the scan of all volumes. A shard's volumes are scanned exactly as
// one scan of all of them scans them (the threshold is the same in every shard:
// per volume, or fixed and recorded bit for bit), so each volume's files are
// copied as they are (anomaly map, en face, overlays, patches/, runs/), and the
// run's tables and page are written by the same code as one scan's
// (writeScanTables) from the shards' records: scores.csv and evaluation.json's
// per-volume rows concatenated in volume order, the markers ranked again over
// all volumes (exact masses; features from the shards' marker_features.npy),
// the pooled pixel AUROC from every masked volume's recorded band pixels, the
// pooled Dice from per-volume counts, the t-SNE over all markers. So every
// file equals one scan's byte for byte, but runs/*/summary.json and files.json
// (each score run's own id and seconds).
//
// Refused, in one line naming the run: a directory that is not a scan shard
// run, shards of different volume lists or splits, a shard twice, a missing
// shard, shards scanned with different settings or checkpoints (named), or at
// different thresholds.

import Foundation
import Records

/// Reads the scan shard runs in `directories` (any order), checks that they are all the shards
/// of one split of one volume list scanned alike, and writes the scan of all volumes into
/// `output` (replaced as a whole, RunDirectory). `log` gets a line or two.
public func mergeScanShards(_ directories: [URL], to output: URL, log: (String) -> Void = { _ in }) throws {
    guard !directories.isEmpty else { throw SettingsError("merge needs the shard runs to merge; none were given") }
    try RunDirectory.checkReplaceable(output, isReplaceable: isScanRun)
    let shards = try directories.map(ScanShardRun.init)
    if let clash = shards.first(where: { $0.directory.standardizedFileURL.path == output.standardizedFileURL.path }) {
        throw FileError(clash.directory, "is one of the shard runs being merged; choose another output directory")
    }
    let sorted = try orderedShards(shards.map { ShardPlace(directory: $0.directory, index: $0.record.index, count: $0.record.count,
                                                           total: $0.record.volumes.count, dataset: $0.record.fingerprint) },
                                   unit: "volume").map { shards[$0] }
    let first = sorted[0]
    for shard in sorted.dropFirst() {
        let (mine, theirs) = (shard.record.settings, first.record.settings)
        for key in Set(theirs.keys).union(mine.keys).sorted() where theirs[key] != mine[key] {
            throw FileError(shard.url(ScanFiles.shardRecord),
                            "\(key) is \(mine[key] ?? "absent") here but \(theirs[key] ?? "absent") in shard 1 (\(first.directory.path)): shards must be scanned alike")
        }
        guard shard.record.page == first.record.page, shard.record.patchRuns == first.record.patchRuns else {
            throw FileError(shard.url(ScanFiles.shardRecord), "was scanned with other settings than shard 1 (\(first.directory.path)): shards must be scanned alike")
        }
    }

    // The tables' inputs, volume after volume.
    let scanned = sorted.flatMap(\.record.scanned)
    var pixels = ScanPixels(keepVolumes: false)
    var markers: [ScanMarker] = []
    for shard in sorted {
        markers += try shard.markersWithFeatures()
        for v in shard.record.scanned {
            guard let e = v.evaluation else { continue }
            let url = shard.url(ScanFiles.shardPixels(v.stem))
            let values = try NPY.readTensor(url)
            guard values.shape == [e.bandPixels], e.annotatedPixels <= e.bandPixels else {
                throw FileError(url, "holds \(values.shape) values, but \(v.name) has \(e.bandPixels) band pixels (\(ScanFiles.shardRecord))")
            }
            try pixels.add(stem: v.stem, values: values.array, annotated: e.annotatedPixels)
        }
    }
    // Each volume's markers in its own ranking, volume after volume, as one scan hands them on.
    let position = Dictionary(uniqueKeysWithValues: first.record.volumes.enumerated().map { ($1, $0) })
    markers = markers.enumerated().sorted { (position[$0.element.volume] ?? 0, $0.offset) < (position[$1.element.volume] ?? 0, $1.offset) }.map(\.element)

    var count = 0
    try RunDirectory.replace(output, isReplaceable: isScanRun) { temp in
        try RunDirectory.create(temp.appendingPathComponent(ScanFiles.overlays))
        for shard in sorted {
            for v in shard.record.scanned {
                var names = [ScanFiles.anomalyMap(v.stem), ScanFiles.enFace(v.stem)]
                names += (0..<v.report.bscans).map { ScanFiles.overlays + "/" + ScanFiles.overlay(v.stem, bscan: $0) }
                if shard.record.patchRuns { names += [ScanFiles.patches + "/" + v.stem, ScanFiles.runs + "/" + v.stem] }
                for name in names { try copy(shard.url(name), to: temp.appendingPathComponent(name)) }
            }
        }
        count = try writeScanTables(scanned, markers: markers, pixels: &pixels, page: first.record.page, output: temp, log: log).markers.count
    }
    log("merged \(sorted.count) scan shards of \(scanned.count) volumes, \(count) marker candidate(s) (\(directories.map(\.path).joined(separator: ", "))) into \(output.path)")
}

/// One scan shard run as read for the merge.
private struct ScanShardRun {
    var directory: URL
    var record: ScanShardRecord

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    init(_ directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such scan run directory")
        }
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(ScanFiles.shardRecord).path) else {
            let isScan = FileManager.default.fileExists(atPath: directory.appendingPathComponent(ScanFiles.report).path)
            throw FileError(directory, isScan ? "records no shard (no \(ScanFiles.shardRecord)): a scan of all volumes, or a shard that did not finish"
                                              : "is not a scan shard run (no \(ScanFiles.shardRecord))")
        }
        record = try ScanShardRecord.read(from: directory)
        let recordURL = directory.appendingPathComponent(ScanFiles.shardRecord)
        let shard: Shard, positions: Range<Int>
        do { shard = try record.shard; positions = try shard.positions(of: record.volumes.count, unit: "volume") } catch {
            throw FileError(recordURL, "records an invalid shard: \(error)")
        }
        guard record.fingerprint == Shard.fingerprint(ids: record.volumes) else {
            throw FileError(recordURL, "records a volume list whose fingerprint is not \(record.fingerprint); edited since?")
        }
        let expected = Array(record.volumes[positions])
        guard positions.lowerBound == record.first, record.scanned.map(\.name) == expected else {
            throw FileError(recordURL, "records volumes \(record.scanned.map(\.name).joined(separator: ", ")), but shard \(shard) of the \(record.volumes.count) volumes holds \(expected.joined(separator: ", "))")
        }
    }

    /// The shard's markers (its ranking) with their features, rows of its marker_features.npy.
    func markersWithFeatures() throws -> [ScanMarker] {
        let url = url(ScanFiles.markerFeatures)
        let features = try NPY.readTensor(url)
        let f = record.scanned.last?.featureCount ?? 0
        guard features.shape == [record.markers.count, f] else {
            throw FileError(url, "has shape \(features.shape), but the shard records \(record.markers.count) markers of \(f) features")
        }
        return record.markers.enumerated().map { k, m in
            var m = m
            m.features = Array(UnsafeBufferPointer(start: features.data + k * f, count: f))
            return m
        }
    }
}

private func copy(_ source: URL, to destination: URL) throws {
    guard FileManager.default.fileExists(atPath: source.path) else { throw FileError(source, "is missing: the shard's record lists its volume") }
    do {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: destination)
    } catch {
        throw FileError(destination, "cannot copy \(source.path) here: \(error.localizedDescription)")
    }
}

/// Whether `directory` holds nothing but a scan's files (so replacing it loses nothing else).
func isScanRun(_ directory: URL) -> Bool {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return false }
    let visible = names.filter { !$0.hasPrefix(".") }
    let fixed: Set = [ScanFiles.scores, ScanFiles.markers, ScanFiles.markerFeatures, ScanFiles.evaluation, ScanFiles.report,
                      ScanFiles.overlays, ScanFiles.patches, ScanFiles.runs, ScanFiles.shard]
    return visible.contains(ScanFiles.report) && visible.allSatisfy {
        fixed.contains($0) || ($0.hasPrefix("anomaly_map_") && $0.hasSuffix(".mha")) || ($0.hasPrefix("enface_") && $0.hasSuffix(".png"))
    }
}

/// The kind of shard run in a directory: a scan's (its record, or a scan's page) or a score
/// run's (scores.csv without those); nil for neither.
enum ShardRunKind: String {
    case score, scan

    init?(of directory: URL) {
        let has = { (name: String) in FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) }
        if has(ScanFiles.shardRecord) || has(ScanFiles.report) { self = .scan } else if has(ScoreRun.Files.scores) { self = .score } else { return nil }
    }
}

/// `anogan merge`: the shard runs in `directories`, all of `score --shard` or all of `scan --shard`,
/// merged into the run of the whole data set (`mergeShardRuns`, `mergeScanShards`).
public func mergeRuns(_ directories: [URL], to output: URL, log: (String) -> Void = { _ in }) throws {
    guard !directories.isEmpty else { throw SettingsError("merge needs the shard runs to merge; none were given") }
    let kinds = directories.map { ShardRunKind(of: $0) }
    // Folders of neither kind are refused by the reader of the others' kind, naming them.
    let kind = kinds.compactMap { $0 }.first ?? .score
    if let k = kinds.firstIndex(where: { $0 != nil && $0 != kind }), let first = kinds.firstIndex(of: kind) {
        throw FileError(directories[k], "is a \(kinds[k]!.rawValue) run, but \(directories[first].path) is a \(kind.rawValue) run: score and scan shards do not merge")
    }
    switch kind {
    case .score: try mergeShardRuns(directories, to: output, log: log)
    case .scan: try mergeScanShards(directories, to: output, log: log)
    }
}
