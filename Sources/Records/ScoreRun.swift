// A score run: what scoring N images produced, as one directory that the score
// stage writes and the evaluate and report stages read back — one type for
// both sides, file names in `ScoreRun.Files`:
//
//   scores.csv           ScoreTable: id, label, R, D, A, R_hat, D_hat, A_hat, P_D (required)
//   summary.json         ScoreRun.Summary: checkpoint, patch set, architecture, settings, timing
//   reconstructions.npy  float32 N×1×S×S, G(z_Γ) in [-1, 1]
//   residuals.npy        float32 N×1×S×S, |x − G(z_Γ)|
//   features.npy         float32 N×F, D's f(x)
//   z1.npy, z_gamma.npy  float32 N×latent, the mapping's start z₁ and result z_Γ
//   trace.csv            step, mean mapping loss per variant
//   files.json           ScoreRun.Manifest: the run id and every file's size and FNV-1a
//
// A shard run (Shard) is a run like any other whose summary also records the
// shard; merging the shards (Workflows' mergeShardRuns) gives the run of the
// whole data set, file for file.
//
// Rows of every array are in scores.csv order. The directory is written whole
// into a temporary sibling and renamed into place (RunDirectory.replace), so it
// is never a mix of two runs; summary.json's `runID` and files.json tie every
// file to the run, and reading checks them (a file of another run, or one
// changed since, is a FileError naming it). On reading every file but
// scores.csv is optional, and a present one must agree with scores.csv. Triplet
// pictures (triplets/*.png) are written beside these by AnoGAN, which draws them.

import Foundation

public struct ScoreRun {
    public static let format = "anogan-scores"
    public static let version = 1

    /// The files of a score run directory.
    public enum Files {
        public static let scores = "scores.csv", summary = "summary.json",
            reconstructions = "reconstructions.npy", residuals = "residuals.npy", features = "features.npy",
            initialLatents = "z1.npy", latents = "z_gamma.npy", trace = "trace.csv", manifest = "files.json",
            /// Folder of query | G(z_Γ) | residual PNGs, `0000.png`, … (written by AnoGAN's scoring).
            triplets = "triplets"

        /// Every name a score run directory may hold (the triplets folder's PNGs aside).
        public static let all: Set<String> = [scores, summary, reconstructions, residuals, features, initialLatents, latents,
                                              trace, manifest, triplets]
    }

    /// files.json: the run id and, for every file of the run (triplet PNGs included), its
    /// size and FNV-1a, so that a file of another run or a changed one is caught on reading.
    public struct Manifest: Codable, Equatable, Sendable {
        public struct Entry: Codable, Equatable, Sendable {
            public var bytes: Int
            public var fnv1a: String
        }
        public var format = "anogan-score-files"
        public var runID: String
        /// Relative path → size and fingerprint.
        public var files: [String: Entry]

        /// The manifest of every file now in `directory` (but itself).
        static func of(_ directory: URL, runID: String) throws -> Manifest {
            var files: [String: Entry] = [:]
            let fm = FileManager.default
            func add(_ relative: String) throws {
                let url = directory.appendingPathComponent(relative)
                let data = try readFile(url)
                files[relative] = Entry(bytes: data.count, fnv1a: FNV1a.hex(data))
            }
            for name in try fm.contentsOfDirectory(atPath: directory.path).sorted() where name != Files.manifest && !name.hasPrefix(".") {
                if name == Files.triplets {
                    for png in try fm.contentsOfDirectory(atPath: directory.appendingPathComponent(name).path).sorted() where !png.hasPrefix(".") {
                        try add(name + "/" + png)
                    }
                } else {
                    try add(name)
                }
            }
            return Manifest(runID: runID, files: files)
        }

        /// Throws unless `relative` in `directory` is the file listed (size, then fingerprint).
        func check(_ relative: String, in directory: URL) throws {
            let url = directory.appendingPathComponent(relative)
            guard let entry = files[relative] else {
                throw FileError(url, "is not part of run \(runID) (not listed in \(Files.manifest)); a file of another run?")
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue
            guard size == entry.bytes, try FNV1a.hex(ofFile: url) == entry.fnv1a else {
                throw FileError(url, "differs from the file run \(runID) wrote (\(Files.manifest)); a file of another run, or changed since")
            }
        }
    }

    /// summary.json: how the run was made and how long it took.
    public struct Summary: Codable, Equatable, Sendable {
        public var format = ScoreRun.format
        public var version = ScoreRun.version
        /// The checkpoint scored with, as given.
        public var checkpoint: String
        /// The scored patch set directory or .npy file, as given (relative paths are
        /// tried against the working directory, then the run directory).
        public var patches: String
        public var architecture: DCGANConfig
        public var settings: ScoringSettings
        public var seed: UInt64
        public var count: Int
        public var normal: Int
        public var anomalous: Int
        public var unlabeled: Int
        public var columns: [String]
        /// Mean of each score column over all images.
        public var means: [String: Double]
        public var seconds: Double
        /// Query images per second of wall-clock time (all variants together).
        public var imagesPerSecond: Double
        /// Image mappings (images × variants run) per second.
        public var mappingsPerSecond: Double
        public var threads: Int
        /// Which mapping ("feature-matching" or "reference") the reconstructions, residuals and z_Γ come from,
        /// or `encoderPass` for an autoencoder's (the aCAE's) one pass.
        public var reconstructionsFrom: String
        /// `reconstructionsFrom` of an aCAE run: its reconstructions come from one encoder–decoder pass.
        public static let encoderPass = "encoder"
        /// The encoder checkpoint behind z₁ = E(x), as given, when `settings.start` is `.encoder`
        /// (nil otherwise, and in summaries written before the encoder start existed).
        public var encoderCheckpoint: String?
        /// The run's id, also in files.json (set when the run is written; nil in runs
        /// written before run ids existed).
        public var runID: String?
        /// Which shard of which data set this run scored (nil for a run of the whole set).
        public var shard: Shard.Record?
        /// The run ids of the shard runs, in shard order, when this run is their merge (nil otherwise).
        public var mergedFrom: [String]?

        public init(checkpoint: String, patches: String, architecture: DCGANConfig, settings: ScoringSettings,
                    scores: ScoreTable, seconds: Double, mappings: Int, threads: Int, reconstructionsFrom: String,
                    encoderCheckpoint: String? = nil) {
            self.checkpoint = checkpoint
            self.patches = patches
            self.architecture = architecture
            self.settings = settings
            seed = settings.seed
            count = scores.count
            normal = scores.labels.filter { $0 == 0 }.count
            anomalous = scores.labels.filter { $0 == 1 }.count
            unlabeled = scores.labels.filter { $0 == nil }.count
            columns = scores.columns
            var means: [String: Double] = [:]
            for name in scores.columns {
                if let column = scores.column(name) { means[name] = column.reduce(0, +) / Double(max(column.count, 1)) }
            }
            self.means = means
            self.seconds = seconds
            imagesPerSecond = Double(scores.count) / max(seconds, 1e-9)
            mappingsPerSecond = Double(scores.count * mappings) / max(seconds, 1e-9)
            self.threads = threads
            self.reconstructionsFrom = reconstructionsFrom
            self.encoderCheckpoint = encoderCheckpoint
        }

        /// Pretty-printed JSON with sorted keys, as written.
        public func json() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(self)
        }
    }

    /// Mean total mapping loss over the images at each step γ = 1…Γ, per variant run.
    public struct Trace: Equatable, Sendable {
        public var featureMatching: [Double]?
        public var reference: [Double]?
        public init(featureMatching: [Double]?, reference: [Double]?) {
            precondition(featureMatching == nil || reference == nil || featureMatching!.count == reference!.count, "traces of different lengths")
            self.featureMatching = featureMatching
            self.reference = reference
        }
    }

    /// Which optional parts to read.
    public struct Parts: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let reconstructions = Parts(rawValue: 1)
        public static let residuals = Parts(rawValue: 2)
        public static let features = Parts(rawValue: 4)
        /// The patch set named in the summary (read by Evaluation's run loader, not by `read`).
        public static let patches = Parts(rawValue: 8)
        /// z1.npy and z_gamma.npy.
        public static let latents = Parts(rawValue: 16)
        public static let trace = Parts(rawValue: 32)
        /// Everything (the report).
        public static let all: Parts = [.reconstructions, .residuals, .features, .patches, .latents, .trace]
        /// What the metrics need: residuals and masks for the pixel AUROC.
        public static let evaluation: Parts = [.residuals, .patches]
    }

    public var scores: ScoreTable
    public var summary: Summary?
    /// N×1×S×S G(z_Γ) in [-1, 1].
    public var reconstructions: Tensor?
    /// N×1×S×S |x − G(z_Γ)|.
    public var residuals: Tensor?
    /// N×F D's f(x), flattened.
    public var features: Tensor?
    /// N×latent z₁ and z_Γ.
    public var initialLatents: Tensor?
    public var latents: Tensor?
    public var trace: Trace?
    /// Optional files that `read` looked for and did not find (file names).
    public var missing: [String] = []

    /// Tensors as documented on the properties, all with scores.count rows.
    public init(scores: ScoreTable, summary: Summary? = nil, reconstructions: Tensor? = nil, residuals: Tensor? = nil,
                features: Tensor? = nil, initialLatents: Tensor? = nil, latents: Tensor? = nil, trace: Trace? = nil) {
        let n = scores.count
        for t in [reconstructions, residuals].compactMap({ $0 }) {
            precondition(t.rank == 4 && t.shape[0] == n && t.shape[1] == 1 && t.shape[2] == t.shape[3], "images must be \(n)×1×S×S, got \(t.shape)")
        }
        for t in [features, initialLatents, latents].compactMap({ $0 }) {
            precondition(t.rank == 2 && t.shape[0] == n, "features and latents must be \(n)×F, got \(t.shape)")
        }
        precondition(summary.map { $0.count == n } ?? true, "the summary counts \(summary?.count ?? 0) images, the scores \(n)")
        self.scores = scores; self.summary = summary
        self.reconstructions = reconstructions; self.residuals = residuals; self.features = features
        self.initialLatents = initialLatents; self.latents = latents; self.trace = trace
    }

    // MARK: Writing

    /// Writes the run as a new directory `directory`: every part it holds, what `extras`
    /// adds (the triplet pictures), summary.json with a fresh run id and files.json, all into a
    /// temporary sibling that then replaces `directory` (RunDirectory.replace). A `directory`
    /// already there must be empty or a score run; anything else is refused. Returns the run id.
    @discardableResult
    public func write(to directory: URL, extras: (URL) throws -> Void = { _ in }) throws -> String {
        let runID = UUID().uuidString.lowercased()
        try RunDirectory.replace(directory, isReplaceable: Self.isScoreRun) { temp in
            func url(_ name: String) -> URL { temp.appendingPathComponent(name) }
            try extras(temp)
            try scores.write(to: url(Files.scores))
            for (name, tensor) in [(Files.reconstructions, reconstructions), (Files.residuals, residuals), (Files.features, features),
                                   (Files.initialLatents, initialLatents), (Files.latents, latents)] {
                if let tensor { try NPY.write(tensor, to: url(name)) }
            }
            if let trace { try Data(Self.csv(trace).utf8).writeAtomically(to: url(Files.trace)) }
            if var summary {
                summary.runID = runID
                try summary.json().writeAtomically(to: url(Files.summary))
            }
            let manifest = try Manifest.of(temp, runID: runID)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).writeAtomically(to: url(Files.manifest))
        }
        return runID
    }

    /// Throws unless a run can be written at `directory` (RunDirectory.checkReplaceable).
    public static func checkOutput(_ directory: URL) throws {
        try RunDirectory.checkReplaceable(directory, isReplaceable: isScoreRun)
    }

    /// Whether `directory` holds nothing but score run files (so replacing it loses nothing else).
    public static func isScoreRun(_ directory: URL) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return false }
        let visible = names.filter { !$0.hasPrefix(".") }
        return visible.contains(Files.scores) && visible.allSatisfy(Files.all.contains)
    }

    static func csv(_ trace: Trace) -> String {
        let steps = trace.featureMatching?.count ?? trace.reference?.count ?? 0
        var lines = ["step" + (trace.featureMatching != nil ? ",feature-matching" : "") + (trace.reference != nil ? ",reference" : "")]
        for s in 0..<steps {
            var row = "\(s + 1)"
            if let f = trace.featureMatching { row += ",\(f[s])" }
            if let r = trace.reference { row += ",\(r[s])" }
            lines.append(row)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Reading

    /// Reads a run directory. Only scores.csv is required; every other file in
    /// `parts` is optional (listed in `missing` when absent) but, when present, must
    /// agree with scores.csv (row count, shape, finite values).
    public static func read(from directory: URL, parts: Parts = .all) throws -> ScoreRun {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such score run directory")
        }
        func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
        // files.json first: every file read below must be the one the run wrote.
        var manifest: Manifest?
        if FileManager.default.fileExists(atPath: url(Files.manifest).path) {
            do { manifest = try JSONDecoder().decode(Manifest.self, from: readFile(url(Files.manifest))) } catch let error as FileError {
                throw error
            } catch {
                throw FileError(url(Files.manifest), "not a valid score run file list: \(error)")
            }
        }
        func checked(_ name: String) throws -> URL {
            try manifest?.check(name, in: directory)
            return url(name)
        }
        if let manifest {
            // A listed file that is gone, or an unlisted run file, means the directory was tampered with or mixed.
            for name in manifest.files.keys where !FileManager.default.fileExists(atPath: url(name).path) {
                throw FileError(url(name), "is missing: \(Files.manifest) of run \(manifest.runID) lists it")
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names where Files.all.contains(name) && name != Files.manifest && name != Files.triplets && manifest.files[name] == nil {
                throw FileError(url(name), "is not part of run \(manifest.runID) (not listed in \(Files.manifest)); a file of another run?")
            }
        }
        var run = ScoreRun(scores: try ScoreTable.read(checked(Files.scores)))
        let n = run.scores.count
        func present(_ name: String) -> Bool {
            if FileManager.default.fileExists(atPath: url(name).path) { return true }
            run.missing.append(name)
            return false
        }
        if manifest == nil { run.missing.append(Files.manifest) }

        if present(Files.summary) {
            let summary: Summary
            do { summary = try JSONDecoder().decode(Summary.self, from: readFile(checked(Files.summary))) } catch let error as FileError {
                throw error
            } catch {
                throw FileError(url(Files.summary), "not a valid score run summary: \(error)")
            }
            guard summary.format == format else { throw FileError(url(Files.summary), "format is \"\(summary.format)\", expected \"\(format)\"") }
            guard summary.version <= version else { throw FileError(url(Files.summary), "score run version \(summary.version) is not supported (this build reads ≤ \(version))") }
            guard summary.count == n else { throw FileError(url(Files.summary), "counts \(summary.count) images, \(Files.scores) has \(n) rows") }
            switch (summary.runID, manifest?.runID) {
            case let (a?, b?) where a != b:
                throw FileError(url(Files.summary), "is of run \(a), \(Files.manifest) of run \(b): files of two runs")
            case (_?, nil):
                throw FileError(url(Files.manifest), "is missing: summary.json names run \(summary.runID!), whose files cannot be checked")
            default: break
            }
            run.summary = summary
        }

        func images(_ name: String) throws -> Tensor? {
            guard present(name) else { return nil }
            let t = try NPY.readTensor(checked(name))
            guard t.rank == 4, t.shape[0] == n, t.shape[1] == 1, t.shape[2] == t.shape[3] else {
                throw FileError(url(name), "shape \(t.shape), expected \(n)×1×S×S to match \(n) rows of \(Files.scores)")
            }
            guard t.isFinite else { throw FileError(url(name), "contains NaN or infinity") }
            return t
        }
        func rows(_ name: String) throws -> Tensor? {
            guard present(name) else { return nil }
            let t = try NPY.readTensor(checked(name))
            guard t.rank >= 2, t.shape[0] == n, t.count > 0 else {
                throw FileError(url(name), "shape \(t.shape), expected \(n)×F to match \(n) rows of \(Files.scores)")
            }
            guard t.isFinite else { throw FileError(url(name), "contains NaN or infinity") }
            return t.reshaped([n, t.count / n])
        }
        if parts.contains(.reconstructions) { run.reconstructions = try images(Files.reconstructions) }
        if parts.contains(.residuals) { run.residuals = try images(Files.residuals) }
        if let r = run.reconstructions, let q = run.residuals, r.shape != q.shape {
            throw FileError(url(Files.residuals), "shape \(q.shape) differs from \(Files.reconstructions) \(r.shape)")
        }
        if parts.contains(.features) { run.features = try rows(Files.features) }
        if parts.contains(.latents) {
            run.initialLatents = try rows(Files.initialLatents)
            run.latents = try rows(Files.latents)
            if let a = run.initialLatents, let b = run.latents, a.shape != b.shape {
                throw FileError(url(Files.latents), "shape \(b.shape) differs from \(Files.initialLatents) \(a.shape)")
            }
        }
        if parts.contains(.trace), present(Files.trace) { run.trace = try readTrace(checked(Files.trace)) }
        return run
    }

    static func readTrace(_ url: URL) throws -> Trace {
        guard let text = String(data: try readFile(url), encoding: .utf8) else { throw FileError(url, "not UTF-8 text") }
        let lines = text.split(whereSeparator: \.isNewline)
        guard let header = lines.first?.split(separator: ",").map(String.init), header.first == "step",
              Set(header.dropFirst()).isSubset(of: ["feature-matching", "feature", "reference"]) else {
            throw FileError(url, "line 1: header must be step[,feature-matching][,reference]")
        }
        var columns = [[Double]](repeating: [], count: header.count - 1)
        for (k, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count, Int(fields[0]) == k else {
                throw FileError(url, "line \(k + 1): expected step \(k) and \(header.count - 1) value(s)")
            }
            for c in 1..<header.count {
                guard let v = Double(fields[c]) else { throw FileError(url, "line \(k + 1): \(fields[c]) is not a number") }
                columns[c - 1].append(v)
            }
        }
        func column(_ name: String) -> [Double]? { header.firstIndex(of: name).map { columns[$0 - 1] } }
        return Trace(featureMatching: column("feature-matching") ?? column("feature"), reference: column("reference"))  // "feature": runs written before the rename
    }

    /// Where the scored patch set may be, in order of preference: `summary.patches` as
    /// given, then relative to the run directory. Empty without a summary.
    public func patchSetCandidates(runDirectory: URL) -> [URL] {
        guard let path = summary?.patches, !path.isEmpty else { return [] }
        return path.hasPrefix("/") ? [URL(fileURLWithPath: path)]
            : [URL(fileURLWithPath: path), runDirectory.appendingPathComponent(path)]
    }
}
