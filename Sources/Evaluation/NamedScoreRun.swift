// A score run (Records' ScoreRun) loaded under a name for the evaluate and
// report stages, with the patch set it scored (query images, masks) when that
// can be found, and notes on whatever was missing. The evaluate stage's one
// call is `NamedScoreRun.load(name:directory:patches:parts:)`.

import Foundation
import Records

public struct NamedScoreRun {
    /// Run name ("anogan" for the AnoGAN run, "acae" for the aCAE run, …).
    public var name: String
    public var directory: URL
    /// The run's files.
    public var run: ScoreRun
    /// The scored patch set (query images, masks), rows in scores.csv order.
    public var patches: PatchSet?
    public var patchesDirectory: URL?
    /// What was missing or skipped while loading (shown in the report).
    public var notes: [String]

    /// A run held in memory (library callers that score without writing a directory).
    /// `directory` is only shown in the report.
    public init(name: String, directory: URL, run: ScoreRun, patches: PatchSet? = nil, patchesDirectory: URL? = nil,
                notes: [String] = []) {
        precondition(patches.map { $0.count == run.scores.count } ?? true, "the patch set must have \(run.scores.count) images")
        self.name = name; self.directory = directory; self.run = run
        self.patches = patches; self.patchesDirectory = patchesDirectory; self.notes = notes
    }

    public var scores: ScoreTable { run.scores }
    /// N×1×S×S G(z_Γ) in [-1, 1].
    public var reconstructions: Tensor? { run.reconstructions }
    /// N×1×S×S |x − G(z_Γ)|.
    public var residuals: Tensor? { run.residuals }
    /// N×F D's f(x), flattened.
    public var features: Tensor? { run.features }

    /// summary.json as pretty-printed text, for showing.
    public var summaryText: String? { (try? run.summary?.json()).map { String(decoding: $0, as: UTF8.self) } }

    /// Files whose absence is worth a note (the report draws from them).
    static let notedFiles: Set<String> = [ScoreRun.Files.summary, ScoreRun.Files.reconstructions,
                                          ScoreRun.Files.residuals, ScoreRun.Files.features]

    /// Loads a run directory (`ScoreRun.read`) and, when `parts` has `.patches`, its
    /// patch set, which must agree with scores.csv (count, size, labels, ids).
    /// - Parameter patches: the patch set directory; nil = the one the summary names.
    /// - Parameter name: the run's name; nil names it by what its summary says it scored (`ScoreReference.runName`).
    /// - Parameter parts: the optional files to read (skipped ones stay nil, without a note).
    public static func load(name given: String?, directory: URL, patches: URL? = nil, parts: ScoreRun.Parts = .all) throws -> NamedScoreRun {
        let run = try ScoreRun.read(from: directory, parts: parts)
        let name = given ?? ScoreReference.runName(of: run.summary)
        var loaded = NamedScoreRun(name: name, directory: directory, run: run,
                                   notes: run.missing.filter(notedFiles.contains).map { "run \(name): no \($0)" })
        let n = run.scores.count
        let scoresPath = directory.appendingPathComponent(ScoreRun.Files.scores).path

        // The patch set: an explicit path must exist; the one the summary names is used when found.
        var patchURL = patches
        if !parts.contains(.patches) {
            patchURL = nil
        } else if patchURL == nil, let path = run.summary?.patches {
            patchURL = run.patchSetCandidates(runDirectory: directory).first {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent(PatchSet.Files.manifest).path)
            }
            if patchURL == nil { loaded.notes.append("run \(name): patch set \(path) named in summary.json not found; figures without input images and masks") }
        } else if patchURL == nil {
            loaded.notes.append("run \(name): no summary.json names the patch set; figures without input images and masks")
        }
        if let url = patchURL {
            var set = try PatchSet.load(from: url)
            // A shard run scored its shard of the set (Shard's rule); the ids below check it is that set.
            if let shard = run.summary?.shard, set.count == shard.total, let mine = try? shard.shard { set = try set.shard(mine) }
            guard set.count == n else {
                throw FileError(url, "patch set has \(set.count) images but \(scoresPath) has \(n) rows")
            }
            if let r = run.residuals, set.size != r.shape[3] {
                throw FileError(url, "patch size \(set.size) differs from \(ScoreRun.Files.residuals) size \(r.shape[3])")
            }
            if let labels = set.labels {
                for (k, (a, b)) in zip(labels, run.scores.labels).enumerated() where (a < 0 ? nil : a) != b {
                    throw FileError(url, "label of image \(k) is \(a), scores.csv row \(k + 1) (\(run.scores.ids[k])) says \(b.map(String.init) ?? "unknown")")
                }
            }
            if let k = set.ids.indices.first(where: { set.ids[$0] != run.scores.ids[$0] }) {
                throw FileError(url, "id of image \(k) is \(set.ids[k]), scores.csv row \(k + 1) is \(run.scores.ids[k]); not the patch set this run scored")
            }
            loaded.patches = set
            loaded.patchesDirectory = url
        }
        return loaded
    }

    /// Image `index` of an N×1×S×S tensor as a flat S×S array.
    public static func item(_ t: Tensor?, _ index: Int) -> [Float]? { t.map { $0.items(index..<(index + 1)).array } }
}
