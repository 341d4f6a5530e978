// A score run directory (contract §7) loaded for evaluation and reporting:
// scores.csv, summary.json, reconstructions/residuals/features .npy, and the
// patch set the run scored (images, labels, masks) when it can be found.

import Foundation
import Records
import Imaging
import Evaluation

/// Which optional files of a run directory to read.
public struct ScoreRunParts: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let reconstructions = ScoreRunParts(rawValue: 1)
    public static let residuals = ScoreRunParts(rawValue: 2)
    public static let features = ScoreRunParts(rawValue: 4)
    public static let patches = ScoreRunParts(rawValue: 8)
    /// Everything (the report).
    public static let all: ScoreRunParts = [.reconstructions, .residuals, .features, .patches]
    /// What the metrics need: residuals and masks for the pixel AUROC.
    public static let evaluation: ScoreRunParts = [.residuals, .patches]
}

public struct ScoreRun {
    /// Run name ("anogan" for the AnoGAN run, "acae" for the aCAE run, …).
    public var name: String
    public var directory: URL
    public var scores: ScoreTable
    /// summary.json as pretty-printed text (settings, seed, checkpoint), when present.
    public var summary: String?
    /// N×1×S×S G(z_Γ) in [-1, 1], rows in scores.csv order.
    public var reconstructions: Tensor?
    /// N×1×S×S |x − G(z_Γ)|.
    public var residuals: Tensor?
    /// N×F D's f(x), flattened.
    public var features: Tensor?
    /// The scored patch set (query images, masks), rows in scores.csv order.
    public var patches: PatchSet?
    public var patchesDirectory: URL?
    /// What was missing or skipped while loading (shown in the report).
    public var notes: [String]

    /// An in-memory run (library callers that score without writing a directory).
    /// `directory` is only shown in the report. Tensors as documented on the properties.
    public init(name: String, directory: URL, scores: ScoreTable, summary: String? = nil, reconstructions: Tensor? = nil,
                residuals: Tensor? = nil, features: Tensor? = nil, patches: PatchSet? = nil, patchesDirectory: URL? = nil,
                notes: [String] = []) {
        let n = scores.count
        for t in [reconstructions, residuals].compactMap({ $0 }) {
            precondition(t.rank == 4 && t.shape[0] == n && t.shape[1] == 1 && t.shape[2] == t.shape[3], "images must be \(n)×1×S×S, got \(t.shape)")
        }
        precondition(features.map { $0.rank == 2 && $0.shape[0] == n } ?? true, "features must be \(n)×F")
        precondition(patches.map { $0.count == n } ?? true, "the patch set must have \(n) images")
        self.name = name; self.directory = directory; self.scores = scores; self.summary = summary
        self.reconstructions = reconstructions; self.residuals = residuals; self.features = features
        self.patches = patches; self.patchesDirectory = patchesDirectory; self.notes = notes
    }

    /// Keys of summary.json that may name the scored patch set, in order of preference.
    public static let patchSetKeys = ["patches", "patch_set", "patchSet", "patchset", "data", "input"]

    /// Loads a run directory. Only scores.csv is required; every other file is
    /// optional but, when present, must agree with it (row count, shape, labels).
    /// - Parameter patches: the patch set directory; nil = the path summary.json names.
    /// - Parameter parts: the optional files to read (skipped ones stay nil, without a note).
    public static func load(name: String, directory: URL, patches: URL? = nil, parts: ScoreRunParts = .all) throws -> ScoreRun {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such score run directory")
        }
        let scores = try ScoreTable.read(directory.appendingPathComponent("scores.csv"))
        var run = ScoreRun(name: name, directory: directory, scores: scores, summary: nil, reconstructions: nil,
                           residuals: nil, features: nil, patches: nil, patchesDirectory: nil, notes: [])
        let n = scores.count

        var summaryObject: Any?
        let summaryURL = directory.appendingPathComponent("summary.json")
        if FileManager.default.fileExists(atPath: summaryURL.path) {
            let data = try readFile(summaryURL)
            do { summaryObject = try JSONSerialization.jsonObject(with: data) } catch {
                throw FileError(summaryURL, "not valid JSON")
            }
            let pretty = try? JSONSerialization.data(withJSONObject: summaryObject!, options: [.prettyPrinted, .sortedKeys])
            run.summary = pretty.map { String(decoding: $0, as: UTF8.self) }
        } else {
            run.notes.append("run \(name): no summary.json")
        }

        func images(_ file: String) throws -> Tensor? {
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { run.notes.append("run \(name): no \(file)"); return nil }
            let t = try NPY.readTensor(url)
            guard t.rank == 4, t.shape[0] == n, t.shape[1] == 1, t.shape[2] == t.shape[3] else {
                throw FileError(url, "shape \(t.shape), expected \(n)×1×S×S to match \(n) rows of scores.csv")
            }
            guard t.isFinite else { throw FileError(url, "contains NaN or infinity") }
            return t
        }
        if parts.contains(.reconstructions) { run.reconstructions = try images("reconstructions.npy") }
        if parts.contains(.residuals) { run.residuals = try images("residuals.npy") }
        if let r = run.reconstructions, let q = run.residuals, r.shape != q.shape {
            throw FileError(directory.appendingPathComponent("residuals.npy"), "shape \(q.shape) differs from reconstructions.npy \(r.shape)")
        }
        let featuresURL = directory.appendingPathComponent("features.npy")
        if !parts.contains(.features) {
        } else if FileManager.default.fileExists(atPath: featuresURL.path) {
            let t = try NPY.readTensor(featuresURL)
            guard t.rank >= 2, t.shape[0] == n, t.count > 0 else {
                throw FileError(featuresURL, "shape \(t.shape), expected \(n)×F to match \(n) rows of scores.csv")
            }
            guard t.isFinite else { throw FileError(featuresURL, "contains NaN or infinity") }
            run.features = t.reshaped([n, t.count / n])
        } else {
            run.notes.append("run \(name): no features.npy")
        }

        // The patch set: an explicit path must exist; one named by summary.json is used when found.
        var patchURL = patches
        if !parts.contains(.patches) {
            patchURL = nil
        } else if patchURL == nil, let path = findPatchSetPath(in: summaryObject) {
            let candidates = path.hasPrefix("/") ? [URL(fileURLWithPath: path)]
                : [URL(fileURLWithPath: path), directory.appendingPathComponent(path)]
            patchURL = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("manifest.json").path) }
            if patchURL == nil { run.notes.append("run \(name): patch set \(path) named in summary.json not found; figures without input images and masks") }
        } else if patchURL == nil {
            run.notes.append("run \(name): summary.json names no patch set; figures without input images and masks")
        }
        if let url = patchURL {
            let set = try PatchSet.load(from: url)
            guard set.count == n else {
                throw FileError(url, "patch set has \(set.count) images but \(directory.appendingPathComponent("scores.csv").path) has \(n) rows")
            }
            if let r = run.residuals, set.size != r.shape[3] {
                throw FileError(url, "patch size \(set.size) differs from residuals.npy size \(r.shape[3])")
            }
            if let labels = set.labels {
                for (k, (a, b)) in zip(labels, scores.labels).enumerated() where (a < 0 ? nil : a) != b {
                    throw FileError(url, "label of image \(k) is \(a), scores.csv row \(k + 1) (\(scores.ids[k])) says \(b.map(String.init) ?? "unknown")")
                }
            }
            run.patches = set
            run.patchesDirectory = url
        }
        return run
    }

    /// Image `index` of an N×1×S×S tensor as a flat S×S array.
    static func item(_ t: Tensor?, _ index: Int) -> [Float]? { t.map { $0.items(index..<(index + 1)).array } }

    /// Depth-first search of summary.json for a string under one of `patchSetKeys`.
    static func findPatchSetPath(in object: Any?) -> String? {
        guard let dict = object as? [String: Any] else { return nil }
        for key in patchSetKeys { if let s = dict[key] as? String { return s } }
        for key in dict.keys.sorted() { if let s = findPatchSetPath(in: dict[key]) { return s } }
        return nil
    }
}
