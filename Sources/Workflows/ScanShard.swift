// A scan shard's record (`scan --shard i/n`): which shard of which volume list
// it is, what every shard must share (checkpoint files, settings, the threshold
// it computed), and what the merge needs to write the tables and page of all
// volumes exactly as one scan writes them: per volume its scores, evaluation
// counts and page summary (ScannedVolume), the shard's markers with their exact
// masses for the ranking (their features are marker_features.npy's rows), and,
// per masked volume, its band pixels for the pooled pixel AUROC (a Dice needs
// only counts, an AUROC every value). Kept in the folder `shard/` beside what a
// scan of the shard's volumes alone writes; the merged run has no such folder.

import Evaluation
import Foundation
import Records

public struct ScanShardRecord: Codable, Sendable {
    public static let formatName = "anogan scan shard"
    public var format = Self.formatName
    public var version = 1
    /// The shard i (1-based) of n.
    public var index: Int
    public var count: Int
    /// Names of all volumes of the split, in the order given, and `Shard.fingerprint(ids:)` of them.
    public var volumes: [String]
    public var fingerprint: String
    /// Position of this shard's first volume in `volumes`.
    public var first: Int
    /// What the shards must share, as dotted name → value: checkpoint fingerprints, settings
    /// (batch size aside), the threshold computed and a fingerprint of what it was computed from.
    public var settings: [String: String]
    /// Whether each volume's patch set and score run were written (patches/, runs/).
    public var patchRuns: Bool
    public var page: ScanReport.Settings
    /// The shard's volumes, in order.
    public var scanned: [ScannedVolume]
    /// The shard's markers as its markers.csv ranks them (rows of its marker_features.npy).
    public var markers: [ScanMarker]

    public var shard: Shard { get throws { try Shard(index: index, count: count) } }

    /// `shared`: `ScanShardRecord.shared`, to which the threshold computed is added.
    init(shard: Shard, volumes: [String], shared: [String: String], threshold: Float?, patchRuns: Bool,
         page: ScanReport.Settings, scanned: [ScannedVolume], markers: [ScanMarker]) throws {
        (index, count, self.volumes, fingerprint) = (shard.index, shard.count, volumes, Shard.fingerprint(ids: volumes))
        first = try shard.positions(of: volumes.count, unit: "volume").lowerBound
        settings = shared
        // Bit for bit: every shard must mark its volumes at the single scan's threshold.
        settings["threshold value"] = threshold.map { "\($0) (bits \(String($0.bitPattern, radix: 16)))" } ?? "each volume's own"
        (self.patchRuns, self.page, self.scanned, self.markers) = (patchRuns, page, scanned, markers)
    }

    /// The settings shards must share, named as ScanSettings names them, with fingerprints of the
    /// checkpoint files and of the files a fixed threshold comes from (taken before the scan, so a
    /// missing file fails at once).
    static func shared(_ s: ScanSettings, checkpoint: URL, encoder: URL?) throws -> [String: String] {
        struct Shared: Encodable {
            var preparation: OCTPreparationSettings
            var stride: Int?
            var scoring: ScoringSettings
            var mapSigma: Double
            var minimumRegionArea: Int
            var writePatchRun: Bool
            var tsne: TSNESettings
        }
        var scoring = s.scoring
        scoring.mapping.batchSize = 1  // mapped in any batches, the results are the same
        var out: [String: String] = [
            "checkpoint (FNV-1a of the file)": try FNV1a.hex(ofFile: checkpoint),
            "encoder checkpoint (FNV-1a of the file)": try encoder.map { try FNV1a.hex(ofFile: $0) } ?? "none",
            "threshold": s.threshold.description,
            "threshold inputs (FNV-1a)": try thresholdInputs(s.threshold),
        ]
        try flatten(Shared(preparation: s.preparation, stride: s.stride, scoring: scoring, mapSigma: s.mapSigma,
                           minimumRegionArea: s.minimumRegionArea, writePatchRun: s.writePatchRun,
                           tsne: s.tsne), prefix: "settings", into: &out)
        return out
    }

    /// A fingerprint of the files a fixed threshold is computed from (normal volumes, a labelled run).
    static func thresholdInputs(_ threshold: ScanThreshold) throws -> String {
        switch threshold {
        case .value, .percentileOfVolume: return "none"
        case .percentileOfNormal(let sources, _): return try sources.map { try fingerprint(of: $0.scan) }.joined(separator: " ")
        case .youdenOfRun(let run):
            return try [ScoreRun.Files.scores, ScoreRun.Files.residuals].map { try fingerprint(of: run.appendingPathComponent($0)) }.joined(separator: " ")
        }
    }

    /// FNV-1a of a file, or of a folder's files (names and contents, one level: a B-scan folder).
    static func fingerprint(of url: URL) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return try FNV1a.hex(ofFile: url)
        }
        var f = FNV1a()
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() where !name.hasPrefix(".") {
            let file = url.appendingPathComponent(name)
            var sub: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &sub), !sub.boolValue else { continue }
            f.add(Data((name + "\n").utf8))
            f.add(Data(try FNV1a.hex(ofFile: file).utf8))
        }
        return f.hex
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// Writes the masked volumes' pixels, then the record (last: a shard that stopped early has none).
    func write(pixels: ScanPixels, to output: URL) throws {
        let folder = output.appendingPathComponent(ScanFiles.shard)
        try RunDirectory.create(folder)
        for v in pixels.volumes {
            try NPY.write(Tensor(shape: [v.values.count], values: v.values), to: output.appendingPathComponent(ScanFiles.shardPixels(v.stem)))
        }
        try Self.encoder().encode(self).writeAtomically(to: output.appendingPathComponent(ScanFiles.shardRecord))
    }

    /// Reads the record of the shard run in `directory` (FileError naming the file).
    static func read(from directory: URL) throws -> ScanShardRecord {
        let url = directory.appendingPathComponent(ScanFiles.shardRecord)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let record: ScanShardRecord
        do { record = try decoder.decode(ScanShardRecord.self, from: try readFile(url)) } catch let error as FileError { throw error } catch {
            throw FileError(url, "is not a scan shard record: \(error)")
        }
        guard record.format == formatName, record.version == 1 else {
            throw FileError(url, "is a \"\(record.format)\" record of version \(record.version), not a \(formatName) of version 1")
        }
        return record
    }
}
