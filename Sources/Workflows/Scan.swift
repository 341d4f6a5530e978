// Scan (`anogan scan`): whole OCT volumes → anomaly maps in the scan's own
// geometry, marker candidates, and evaluation against masks (issue #12).
//
// Per volume: each B-scan is prepared as `prepare` does (normalise, resample,
// segment, flatten); its retina band is tiled with overlapping model-sized
// patches (OCTTiling, a last tile flush with the band's end); all tiles of the
// volume are saved as a patch set (stable ids volume/bscan/x/y, B-scan
// geometry) and scored in one score run (scoreAndWrite, so `merge`/`--shard`
// see the same ids); per-pixel |x − x̂| of the tiles is averaged where tiles
// overlap, smoothed like evaluate's anomaly maps, kept inside the band and
// carried back into the original B-scan (BScanStitching, undoing flattening
// and resampling). Volumes are done one at a time, so memory holds one volume.

import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records

/// Where the marker threshold comes from.
public enum ScanThreshold: Equatable, Sendable {
    /// A fixed map value.
    case value(Float)
    /// This percentile (0…100) of each scanned volume's own band pixels: relative, it always
    /// marks the top (100 − P) % of a volume. The default (P = `defaultPercentile`).
    case percentileOfVolume(Double)
    /// This percentile of the band pixels of normal volumes scanned first with the same model.
    case percentileOfNormal([OCTSource], Double)
    /// Youden's cut-off of the smoothed residual pixels of a labelled score run (residuals.npy,
    /// masks in its patch set) against its masks.
    case youdenOfRun(URL)

    public static let defaultPercentile = 99.0

    var description: String {
        switch self {
        case .value(let v): return "fixed \(v)"
        case .percentileOfVolume(let p): return "\(String(format: "%g", p))th percentile of each volume's band"
        case .percentileOfNormal(let s, let p): return "\(String(format: "%g", p))th percentile of the band of \(s.map(\.name).joined(separator: ", "))"
        case .youdenOfRun(let url): return "Youden cut-off of the pixels of \(url.path)"
        }
    }
}

/// How to scan.
public struct ScanSettings: Equatable, Sendable {
    /// Preprocessing as `prepare`'s (the patch size is the model's image size; patchesPerBScan is unused).
    public var preparation = OCTPreparationSettings()
    /// Pixels between neighbouring tiles (the last tile of a row or column is flush with the band);
    /// at most the tile size. nil: half the tile (32 for the paper's 64² patches).
    public var stride: Int? = nil
    /// How tiles are scored: the encoder start, Γ = the encoder start's default, by default.
    public var scoring = ScoringSettings(start: .encoder)
    /// σ (prepared pixels) of the Gaussian applied to the stitched residual: evaluate's anomaly-map σ.
    public var mapSigma = EvaluationSettings().anomalyMapSigma
    public var threshold = ScanThreshold.percentileOfVolume(ScanThreshold.defaultPercentile)
    /// Regions smaller than this many original pixels are dropped.
    public var minimumRegionArea = 30
    /// Write the tiles' patch set and score run (patches/<volume>, runs/<volume>).
    public var writePatchRun = true
    /// t-SNE of region features in scan.html (skipped below 5 regions).
    public var tsne: TSNESettings = {
        var s = TSNESettings()
        s.iterations = 500
        return s
    }()

    public init() {}

    public func validate() throws {
        try preparation.validate()
        if let stride, !(1...Limits.imageSize).contains(stride) { throw SettingsError("stride must be in 1…\(Limits.imageSize), got \(stride)") }
        guard mapSigma >= 0 && mapSigma <= 64 else { throw SettingsError("mapSigma must be in 0…64, got \(mapSigma)") }
        guard minimumRegionArea >= 1 else { throw SettingsError("minimumRegionArea must be ≥ 1, got \(minimumRegionArea)") }
        switch threshold {
        case .value(let v): guard v.isFinite && v >= 0 else { throw SettingsError("threshold must be finite and ≥ 0, got \(v)") }
        case .percentileOfVolume(let p), .percentileOfNormal(_, let p):
            guard (0...100).contains(p) else { throw SettingsError("threshold percentile must be in 0…100, got \(p)") }
        case .youdenOfRun: break
        }
    }
}

/// The file names of a scan's output directory.
public enum ScanFiles {
    public static let scores = "scores.csv", markers = "markers.csv", markerFeatures = "marker_features.npy",
        evaluation = "evaluation.json", report = "scan.html", page = "scan.json", overlays = "overlays", patches = "patches", runs = "runs",
        /// A shard run's record (ScanShardRecord) and its masked volumes' band pixels; not in a scan of all volumes.
        shard = "shard", shardRecord = "shard/shard.json"
    /// The band pixels of a masked volume in a shard run (ScanPixels: annotated first).
    public static func shardPixels(_ stem: String) -> String { "shard/pixels_\(stem).npy" }
    public static func anomalyMap(_ volume: String) -> String { "anomaly_map_\(volume).mha" }
    public static func enFace(_ volume: String) -> String { "enface_\(volume).png" }
    public static func overlay(_ volume: String, bscan: Int) -> String { String(format: "%@_bscan%03d.png", volume, bscan) }
    /// A volume's name without its extension (.mha/.mhd), as used in file names.
    public static func stem(_ name: String) -> String {
        let ext = (name as NSString).pathExtension.lowercased()
        return ["mha", "mhd"].contains(ext) ? (name as NSString).deletingPathExtension : name
    }
}

/// One volume's maps: the anomaly map and retina band in the original geometry, with its tiles.
public struct VolumeMap {
    public var name: String
    public var volume: Volume
    /// The mask volume, reduced to the annotated classes (nonzero = annotated); nil without one.
    public var mask: Volume?
    /// depth × height × width, the input's layout; 0 outside the band.
    public var map: [Float]
    /// Original pixels inside the retina band (ILM…Bruch), same layout.
    public var band: [Bool]
    /// The tiles as a patch set (ids volume/bscan/x/y, B-scan geometry).
    public var tiles: PatchSet
    /// What the scorer returned for the tiles (rows in `tiles` order).
    public var detection: DetectionResult
    /// Wall-clock seconds of preparing (read, segment, flatten, tile), scoring and stitching.
    public var seconds: (prepare: Double, score: Double, stitch: Double)

    /// Pixels of B-scan b inside the band (map values).
    func bandValues(bscan b: Int) -> [Float] {
        let n = volume.sliceCount
        return (b * n..<(b + 1) * n).filter { band[$0] }.map { map[$0] }
    }
    var allBandValues: [Float] { map.indices.filter { band[$0] }.map { map[$0] } }
}

/// One marker candidate: a region of one B-scan's thresholded map.
public struct MarkerCandidate: Sendable {
    public var volume: String
    public var bscan: Int
    public var region: MapRegion
    /// Ids of the tiles that overlap the region; `features` is the mean of their D features f(x).
    public var tiles: [String]
    public var features: [Float]
    public var threshold: Float
}

/// Per-B-scan (bscan nil: the whole volume) summary for scores.csv.
public struct ScanScore: Codable, Sendable {
    public var volume: String
    public var bscan: Int?
    public var patches: Int
    public var bandPixels: Int
    public var mapMean: Double
    public var mapMax: Double
    /// Mean anomaly score A of the tiles (the detector's primary column).
    public var patchScoreMean: Double
}

/// Pixel-level quality against masks, written to evaluation.json.
public struct ScanEvaluation: Codable, Sendable {
    public struct PerVolume: Codable, Sendable {
        public var volume: String
        public var threshold: Float
        public var pixelAUROC: Double?
        public var dice: Double?
        public var annotatedPixels: Int
        public var bandPixels: Int
    }
    /// Pooled over every band pixel of every masked volume.
    public var pixelAUROC: Double?
    /// Pooled Dice, 2ΣTP / (ΣP + ΣT), each volume at its threshold.
    public var dice: Double?
    public var volumes: [PerVolume]
    public var note = "pixels inside the retina band (ILM…Bruch) of whole B-scans, in the original geometry"
}

/// What a scan produced.
public struct ScanResult {
    public var scores: [ScanScore]
    public var markers: [MarkerCandidate]
    public var evaluation: ScanEvaluation?
    public var seconds: Double
}

// MARK: - Maps

/// Prepares, tiles, scores and stitches one volume. `runDirectory` nil: the tiles are scored
/// without writing a run (normal volumes for a threshold).
public func mapVolume(_ source: OCTSource, scorer: Scorer, settings: ScanSettings, checkpoint: URL, encoderCheckpoint: URL?,
                      patchDirectory: URL?, runDirectory: URL?) throws -> VolumeMap {
    var prep = settings.preparation
    let size = scorer.config.imageSize
    prep.preprocessing.patchSize = size
    let stride = settings.stride ?? max(1, size / 2)
    guard stride <= size else {
        throw SettingsError("stride \(stride) exceeds the model's \(size)-pixel tiles: the band would have gaps")
    }
    var clock = Date()
    func lap() -> Double { defer { clock = Date() }; return Date().timeIntervalSince(clock) }
    let (volume, rawMask, fixedRange) = try readOCTSource(source, settings: prep)
    let name = source.name
    if let m = rawMask, m.width != volume.width || m.height != volume.height || m.depth != volume.depth {
        throw FileError(source.mask!, "mask is \(m.width)×\(m.height)×\(m.depth), the volume \(source.name) \(volume.width)×\(volume.height)×\(volume.depth)")
    }
    if let bad = volume.voxels.firstIndex(where: { !$0.isFinite }) { throw FileError(source.scan, "voxel \(bad) is \(volume.voxels[bad]) (not finite)") }
    try OCTPreprocessing.check(volume, name: source.scan.path, settings: prep.preprocessing)
    var mask = rawMask
    if var m = mask {
        let classes = prep.preprocessing.annotatedClasses
        for i in m.voxels.indices { m.voxels[i] = m.voxels[i] != 0 && (classes?.contains(UInt8(max(0, min(255, m.voxels[i].rounded())))) ?? true) ? 1 : 0 }
        mask = m
    }
    let range = fixedRange ?? OCTPreprocessing.grayRange(of: volume)

    // Prepare and tile every B-scan.
    var collector = OCTPatchCollector(size: size)
    var prepared: [PreparedBScan] = []
    for b in 0..<volume.depth {
        let p = OCTPreprocessing.prepare(volume.bscan(b), mask: mask?.mask(b), grayRange: range, settings: prep.preprocessing)
        guard p.flat.image.width >= size else {
            throw FileError(source.scan, "B-scan \(b) is \(p.flat.image.width) columns wide after resampling, narrower than the model's \(size)-pixel patches")
        }
        let tiles = OCTTiling.tiles(of: p.flat, size: size, stride: stride)
        collector.add(OCTTiling.patches(of: p.flat, at: tiles, size: size), volume: name, bscan: b,
                      unmaskedLabel: -1, geometry: p.geometry(volume: name, bscan: b))
        prepared.append(p)
    }
    var manifest = prep.preprocessing.manifest
    manifest["protocol"] = "oct-scan"
    manifest["patch_position"] = "tiles every \(stride) px over the retina band, the last flush with its end; sources x,y = top-left in the flattened, resampled B-scan"
    manifest["inputs"] = name
    let tiles = collector.patchSet(settings: manifest, seed: 0)
    let labels: [Int?] = rawMask == nil ? Array(repeating: nil, count: tiles.count) : (tiles.labels ?? []).map { $0 < 0 ? nil : $0 }
    if let patchDirectory { try tiles.save(to: patchDirectory) }
    let input = ImageInput(images: tiles.images, labels: labels, ids: tiles.ids, source: patchDirectory ?? source.scan)
    try input.check(fits: scorer.config, of: checkpoint)
    let prepareSeconds = lap()

    let detection: DetectionResult
    if let runDirectory {
        detection = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint,
                                      to: runDirectory, options: ScoreRunOptions(triplets: 0), label: "scan \(name)")
    } else {
        let progress = Records.Progress("scan \(name)", total: scorer.work(imageCount: input.count), unit: scorer.workUnit)
        detection = try scorer.score(input) { progress.update($0.done, detail: $0.detail) }
    }
    let scoreSeconds = lap()
    let residuals = detection.residuals(of: input.images)

    // Stitch each B-scan's tiles in the prepared geometry, smooth, keep the band, carry back.
    let sources = tiles.sources ?? []
    var map = [Float](repeating: 0, count: volume.voxels.count)
    var band = [Bool](repeating: false, count: volume.voxels.count)
    var first = 0
    for (b, p) in prepared.enumerated() {
        let w = p.flat.image.width, h = p.flat.image.height
        var accumulator = TileAccumulator(width: w, height: h)
        var i = first
        while i < sources.count && sources[i].bscan == b {
            accumulator.add(UnsafeBufferPointer(start: residuals.data + i * size * size, count: size * size),
                            x: sources[i].x, y: sources[i].y, size: size)
            i += 1
        }
        first = i
        let covered = accumulator.coverage.map { $0 > 0 }
        // Normalised smoothing: each pixel averages covered pixels only, so the map does not fade
        // towards the edge of the tiled region (uncovered pixels are 0 in `mean`).
        var smoothed = AnomalyMap.smoothed(Tensor(shape: [1, 1, h, w], values: accumulator.mean), sigma: settings.mapSigma).array
        let weight = AnomalyMap.smoothed(Tensor(shape: [1, 1, h, w], values: covered.map { $0 ? 1 : 0 }), sigma: settings.mapSigma).array
        for k in smoothed.indices { smoothed[k] = covered[k] && weight[k] > 0 ? smoothed[k] / weight[k] : 0 }
        let geometry = p.geometry(volume: name, bscan: b)
        let original = BScanStitching.toOriginal(smoothed, height: h, geometry: geometry, valid: covered)
        let originalBand = BScanStitching.toOriginal(OCTTiling.bandMask(of: p.flat), height: h, geometry: geometry)
        let base = b * volume.sliceCount
        for k in 0..<volume.sliceCount where originalBand[k] >= 0.5 {
            band[base + k] = true
            map[base + k] = original[k]
        }
    }
    return VolumeMap(name: name, volume: volume, mask: mask, map: map, band: band, tiles: tiles, detection: detection,
                     seconds: (prepareSeconds, scoreSeconds, lap()))
}

// MARK: - Markers

/// The regions of every B-scan of `m` at `threshold`, with the tiles that overlap each and
/// the mean of their D features.
public func markerCandidates(in m: VolumeMap, threshold: Float, minimumArea: Int) -> [MarkerCandidate] {
    let w = m.volume.width, h = m.volume.height, size = m.tiles.size
    let features = m.detection.queryFeatures, f = features.itemCount
    var out: [MarkerCandidate] = []
    for b in 0..<m.volume.depth {
        let base = b * m.volume.sliceCount
        let slice = Array(m.map[base..<(base + m.volume.sliceCount)]), inside = Array(m.band[base..<(base + m.volume.sliceCount)])
        let regions = MarkerCandidates.regions(of: slice, width: w, height: h, threshold: threshold, minimumArea: minimumArea, allowed: inside)
        guard !regions.isEmpty else { continue }
        let tileIndices = (0..<m.tiles.count).filter { m.tiles.sources![$0].bscan == b }
        guard let geometry = m.tiles.bscans?.first(where: { $0.bscan == b }) else { continue }
        for region in regions {
            // A tile overlaps the region when a region pixel's nearest prepared sample lies in it.
            var hit = Set<Int>()
            for pixel in region.pixels {
                guard let s = geometry.preparedSamples(row: pixel / w, column: pixel % w).max(by: { $0.weight < $1.weight }) else { continue }
                for t in tileIndices where !hit.contains(t) {
                    let src = m.tiles.sources![t]
                    if s.column >= src.x && s.column < src.x + size && s.row >= src.y && s.row < src.y + size { hit.insert(t) }
                }
            }
            let used = hit.sorted()
            var mean = [Float](repeating: 0, count: f)
            for t in used { for k in 0..<f { mean[k] += features.data[t * f + k] } }
            if !used.isEmpty { for k in 0..<f { mean[k] /= Float(used.count) } }
            out.append(MarkerCandidate(volume: m.name, bscan: b, region: region, tiles: used.map { m.tiles.ids[$0] },
                                       features: mean, threshold: threshold))
        }
    }
    return out
}

/// Youden's cut-off of a labelled score run's smoothed residual pixels against its patch set's masks.
public func youdenThreshold(ofRun directory: URL, sigma: Double) throws -> Float {
    let run = try NamedScoreRun.load(name: directory.lastPathComponent, directory: directory)
    guard let residuals = run.residuals else { throw FileError(directory, "has no \(ScoreRun.Files.residuals); a labelled threshold needs the run's residuals") }
    guard let masks = run.patches?.masks else { throw FileError(directory, "its patch set has no masks; a labelled threshold needs annotated patches") }
    let maps = AnomalyMap.smoothed(residuals, sigma: sigma)
    var annotated: [Float] = [], clean: [Float] = []
    for i in 0..<maps.count { if masks.data[i] != 0 { annotated.append(maps.data[i]) } else { clean.append(maps.data[i]) } }
    do { return try MarkerCandidates.youdenThreshold(annotated: annotated, clean: clean) } catch let error as EvaluationError {
        throw FileError(directory, error.message)
    }
}

// MARK: - The whole scan

/// Scans `sources` with `scorer` and writes everything into `output` (ScanFiles). `checkpoint`
/// (and `encoderCheckpoint`) are recorded in the score runs. With `shard`, only that shard of
/// `sources` (Shard's contiguous blocks of volumes, in the order given) is scanned; `output` then
/// holds what a scan of those volumes alone writes plus the shard's record (ScanFiles.shard),
/// from which `mergeScanShards` writes the scan of all volumes.
@discardableResult
public func scanVolumes(_ sources: [OCTSource], scorer: Scorer, settings: ScanSettings, checkpoint: URL, encoderCheckpoint: URL? = nil,
                        shard: Shard? = nil, output: URL, log: (String) -> Void) throws -> ScanResult {
    try settings.validate()
    let start = Date()
    guard !sources.isEmpty else { throw SettingsError("scan needs at least one volume") }
    let stems = sources.map { ScanFiles.stem($0.name) }
    if let dup = stems.first(where: { s in stems.filter { $0 == s }.count > 1 }) {
        throw FileError(output, "two input volumes are both named \(dup); their outputs would overwrite each other")
    }
    // The shard's volumes, chosen before any work (a bad split fails at once).
    let positions = try shard.map { try $0.positions(of: sources.count, unit: "volume") } ?? 0..<sources.count
    let shared = try shard.map { _ in try ScanShardRecord.shared(settings, checkpoint: checkpoint, encoder: encoderCheckpoint) }
    let outputExisted = FileManager.default.fileExists(atPath: output.path)
    var finished = false
    // A scan refused before it wrote a file (a volume failing its checks) leaves no empty folders behind.
    defer { if !finished && !outputExisted { removeIfNoFiles(output) } }
    try createDirectory(output)
    try createDirectory(output.appendingPathComponent(ScanFiles.overlays))
    // A record left by an earlier shard run here would make this scan look like a shard.
    try? FileManager.default.removeItem(at: output.appendingPathComponent(ScanFiles.shard))

    var fixed: Float?
    switch settings.threshold {
    case .value(let v): fixed = v
    case .youdenOfRun(let url):
        fixed = try youdenThreshold(ofRun: url, sigma: settings.mapSigma)
        log("threshold: Youden cut-off \(fixed!) of the smoothed residual pixels of \(url.path)")
    case .percentileOfNormal(let normals, let p):
        // Every shard scans the same normal volumes with the same model: the same threshold
        // (the shard records it, and merge checks it).
        var values: [Float] = []
        for normal in normals {
            log("threshold: scanning the normal volume \(normal.name)")
            values += try mapVolume(normal, scorer: scorer, settings: settings, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint,
                                    patchDirectory: nil, runDirectory: nil).allBandValues
        }
        fixed = try MarkerCandidates.percentile(values, p)
        log("threshold: \(fixed!) = \(p)th percentile of \(values.count) band pixels of \(normals.map(\.name).joined(separator: ", "))")
    case .percentileOfVolume: break
    }

    var scanned: [ScannedVolume] = [], candidates: [MarkerCandidate] = []
    var pixels = ScanPixels(keepVolumes: shard != nil)
    for index in positions {
        let source = sources[index], stem = stems[index]
        let volumeStart = Date()
        log("[\(index + 1)/\(sources.count)] \(source.name)")
        let m = try mapVolume(source, scorer: scorer, settings: settings, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint,
                              patchDirectory: settings.writePatchRun ? output.appendingPathComponent(ScanFiles.patches).appendingPathComponent(stem) : nil,
                              runDirectory: settings.writePatchRun ? output.appendingPathComponent(ScanFiles.runs).appendingPathComponent(stem) : nil)
        let bandValues = m.allBandValues
        let threshold: Float
        if let fixed { threshold = fixed } else if case .percentileOfVolume(let p) = settings.threshold {
            threshold = bandValues.isEmpty ? .infinity : try MarkerCandidates.percentile(bandValues, p)
        } else { threshold = .infinity }

        // Files of the volume.
        var mapFile = m.volume
        mapFile.voxels = m.map
        try MetaImage.write(mapFile, to: output.appendingPathComponent(ScanFiles.anomalyMap(stem)), elementType: .float,
                            extraFields: source.kind == .metaImage ? spatialHeaderFields(source.scan) : [])
        let display = ScanPictures.DisplayRange(threshold: threshold, values: bandValues)
        let gray = OCTPreprocessing.grayRange(of: m.volume)
        for b in 0..<m.volume.depth {
            let picture = ScanPictures.overlay(m, bscan: b, grayRange: gray, display: display)
            try PNG.write(width: picture.width, height: picture.height, channels: 3, pixels8: picture.pixels,
                          to: output.appendingPathComponent(ScanFiles.overlays).appendingPathComponent(ScanFiles.overlay(stem, bscan: b)))
        }
        let enFace = ScanPictures.enFace(m)
        try PNG.write(width: enFace.width, height: enFace.height, channels: 3, pixels8: enFace.pixels,
                      to: output.appendingPathComponent(ScanFiles.enFace(stem)))

        // Scores per B-scan and for the volume.
        let a = m.detection.rows.map { $0.anomaly ?? $0.referenceAnomaly ?? .nan }
        let tileBScans = (m.tiles.sources ?? []).map(\.bscan)
        func score(_ b: Int?, _ values: [Float]) -> ScanScore {
            let tiles = a.indices.filter { b == nil || tileBScans[$0] == b }
            return ScanScore(volume: m.name, bscan: b, patches: tiles.count, bandPixels: values.count,
                             mapMean: values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count),
                             mapMax: Double(values.max() ?? 0),
                             patchScoreMean: tiles.isEmpty ? .nan : tiles.map { a[$0] }.reduce(0, +) / Double(tiles.count))
        }
        var scores = (0..<m.volume.depth).map { score($0, m.bandValues(bscan: $0)) }
        scores.append(score(nil, bandValues))

        let found = byMass(markerCandidates(in: m, threshold: threshold, minimumArea: settings.minimumRegionArea))
        candidates += found

        // Evaluation inside the band.
        var evaluation: ScanEvaluation.PerVolume?, dice = ScannedVolume.DiceCounts()
        if let mask = m.mask {
            var r: [Float] = [], t: [Float] = []
            for i in m.map.indices where m.band[i] { r.append(m.map[i]); t.append(mask.voxels[i]) }
            var auroc = PixelAUROC()
            try r.withUnsafeBufferPointer { rp in try t.withUnsafeBufferPointer { tp in try auroc.add(residual: rp, mask: tp) } }
            try pixels.add(stem: stem, values: r, mask: t)
            let predicted = r.map { $0 >= threshold }, truth = t.map { $0 != 0 }
            dice = .init(both: zip(predicted, truth).filter { $0 && $1 }.count, predicted: predicted.filter { $0 }.count,
                         annotated: truth.filter { $0 }.count)
            evaluation = .init(volume: m.name, threshold: threshold, pixelAUROC: try? auroc.auroc(),
                               dice: Dice.coefficient(predicted: predicted, truth: truth), annotatedPixels: dice.annotated, bandPixels: r.count)
        }
        let report = ScanReport.Volume(name: m.name, stem: stem, bscans: m.volume.depth, tiles: m.tiles.count, threshold: threshold,
                                       score: scores.last!, topBScans: found.map(\.bscan).reduce(into: [Int]()) { if !$0.contains($1) && $0.count < ScanReport.topBScansShown { $0.append($1) } })
        scanned.append(ScannedVolume(name: m.name, stem: stem, scores: scores, report: report, evaluation: evaluation, dice: dice,
                                     featureCount: m.detection.queryFeatures.itemCount))
        log(String(format: "  %d B-scans, %d tiles, map mean %.4g max %.4g over the band, threshold %.4g → %d region(s), "
                   + "%.1f s (prepare %.1f, score %.1f, stitch %.1f, files and regions %.1f)",
                   m.volume.depth, m.tiles.count, scores.last!.mapMean, scores.last!.mapMax, threshold, found.count,
                   Date().timeIntervalSince(volumeStart), m.seconds.prepare, m.seconds.score, m.seconds.stitch,
                   Date().timeIntervalSince(volumeStart) - m.seconds.prepare - m.seconds.score - m.seconds.stitch))
    }

    let page = ScanReport.Settings(settings)
    let tables = try writeScanTables(scanned, markers: candidates.map(ScanMarker.init), pixels: &pixels, page: page, output: output, log: log)
    if let shard, let shared {
        // Written last: a shard that stopped early has no record, and merge refuses it.
        let record = try ScanShardRecord(shard: shard, volumes: sources.map(\.name), shared: shared, threshold: fixed,
                                         patchRuns: settings.writePatchRun, page: page, scanned: scanned, markers: tables.markers)
        try record.write(pixels: pixels, to: output)
    }
    finished = true
    let seconds = Date().timeIntervalSince(start)
    log(String(format: "scan: %d volume(s)%@, %d marker candidate(s) in %.1f s; wrote %@", positions.count,
               shard.map { " (shard \($0) of \(sources.count) volumes)" } ?? "", tables.markers.count, seconds, output.path))
    return ScanResult(scores: scanned.flatMap(\.scores), markers: tables.order.map { candidates[$0] }, evaluation: tables.evaluation, seconds: seconds)
}

/// What a scan keeps of one volume once its files are written: its rows of scores.csv, its part
/// of the evaluation and of scan.html. The run's tables are made from these (`writeScanTables`),
/// in one scan as in a merge of shards, which read them from the shards' records.
public struct ScannedVolume: Codable, Sendable {
    /// Pixel counts inside the band at the volume's threshold, for the pooled Dice.
    public struct DiceCounts: Codable, Sendable {
        public var both = 0, predicted = 0, annotated = 0
    }
    public var name: String
    public var stem: String
    /// Per B-scan, then the volume's row (bscan nil).
    public var scores: [ScanScore]
    public var report: ScanReport.Volume
    /// nil without a mask.
    public var evaluation: ScanEvaluation.PerVolume?
    public var dice: DiceCounts
    /// Length of the D features of the tiles (marker_features.npy's columns).
    public var featureCount: Int
}

/// A marker candidate as scores.csv, marker_features.npy and scan.html show it (no pixel list),
/// so that a shard can record its markers and `merge` rank the markers of all volumes.
public struct ScanMarker: Codable, Sendable {
    public var volume: String
    public var bscan: Int
    public var minRow: Int, maxRow: Int, minColumn: Int, maxColumn: Int
    public var centroidRow: Double, centroidColumn: Double
    public var meanValue: Double, maxValue: Double
    public var area: Int
    /// Number of tiles the region overlaps (0: no features, left out of the t-SNE).
    public var tiles: Int
    public var threshold: Float
    /// The mean D features of its tiles; not in the record (rows of marker_features.npy).
    public var features: [Float] = []

    /// The ranking of markers, as MapRegion.mass.
    public var mass: Double { meanValue * Double(area) }

    init(_ m: MarkerCandidate) {
        let r = m.region
        (volume, bscan, minRow, maxRow, minColumn, maxColumn) = (m.volume, m.bscan, r.minRow, r.maxRow, r.minColumn, r.maxColumn)
        (centroidRow, centroidColumn, meanValue, maxValue, area) = (r.centroidRow, r.centroidColumn, r.meanValue, r.maxValue, r.area)
        (tiles, threshold, features) = (m.tiles.count, m.threshold, m.features)
    }

    enum CodingKeys: String, CodingKey {
        case volume, bscan, minRow, maxRow, minColumn, maxColumn, centroidRow, centroidColumn, meanValue, maxValue, area, tiles, threshold
    }
}

/// The masked volumes' band pixels, pooled for the pixel AUROC; with `keepVolumes` (a shard, which
/// records them for the merge) also per volume (by stem): its map values, the annotated ones first,
/// and how many those are.
struct ScanPixels {
    private var pooled = PixelAUROC()
    let keepVolumes: Bool
    private(set) var volumes: [(stem: String, values: [Float], annotated: Int)] = []

    init(keepVolumes: Bool) { self.keepVolumes = keepVolumes }

    /// Adds a volume's band pixels: map values and mask values (nonzero = annotated).
    mutating func add(stem: String, values: [Float], mask: [Float]) throws {
        try values.withUnsafeBufferPointer { r in try mask.withUnsafeBufferPointer { try pooled.add(residual: r, mask: $0) } }
        guard keepVolumes else { return }
        var annotated: [Float] = [], clean: [Float] = []
        for (v, t) in zip(values, mask) { if t != 0 { annotated.append(v) } else { clean.append(v) } }
        volumes.append((stem, annotated + clean, annotated.count))
    }

    /// Adds a volume as a shard recorded it: `annotated` values, then clean ones.
    mutating func add(stem: String, values: [Float], annotated: Int) throws {
        try add(stem: stem, values: values, mask: [Float](repeating: 1, count: annotated) + [Float](repeating: 0, count: values.count - annotated))
    }

    /// Pixel AUROC over every pixel added (nil when undefined: no annotated or no clean pixels).
    /// The order of the pixels does not matter.
    mutating func auroc() -> Double? { try? pooled.auroc() }
}

/// Writes a scan's tables and page from its volumes (in the order of the inputs) into `output`:
/// scores.csv, markers.csv with marker_features.npy (`markers`: each volume's, largest mass first,
/// volume after volume; ranked over all volumes here), evaluation.json when some volume has a mask
/// (pooled pixel AUROC from `pixels`, pooled Dice), scan.json and scan.html. Returns the ranked markers, their
/// positions in `markers`, and the evaluation.
func writeScanTables(_ volumes: [ScannedVolume], markers: [ScanMarker], pixels: inout ScanPixels, page: ScanReport.Settings,
                     output: URL, log: (String) -> Void) throws -> (markers: [ScanMarker], order: [Int], evaluation: ScanEvaluation?) {
    let order = massOrder(markers.map(\.mass))
    let ranked = order.map { markers[$0] }
    try Data(ScanCSV.scores(volumes.flatMap(\.scores)).utf8).writeAtomically(to: output.appendingPathComponent(ScanFiles.scores))
    try Data(ScanCSV.markers(ranked).utf8).writeAtomically(to: output.appendingPathComponent(ScanFiles.markers))
    try NPY.write(Tensor(shape: [ranked.count, volumes.last?.featureCount ?? 0], values: ranked.flatMap(\.features)),
                  to: output.appendingPathComponent(ScanFiles.markerFeatures))

    var evaluation: ScanEvaluation?
    let masked = volumes.compactMap(\.evaluation)
    if !masked.isEmpty {
        let both = volumes.reduce(0) { $0 + $1.dice.both }, sum = volumes.reduce(0) { $0 + $1.dice.predicted + $1.dice.annotated }
        evaluation = ScanEvaluation(pixelAUROC: pixels.auroc(), dice: sum == 0 ? nil : 2 * Double(both) / Double(sum), volumes: masked)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(evaluation).writeAtomically(to: output.appendingPathComponent(ScanFiles.evaluation))
        log("evaluation (inside the retina band): pixel AUROC " + (evaluation!.pixelAUROC.map { String(format: "%.4f", $0) } ?? "undefined")
            + ", Dice " + (evaluation!.dice.map { String(format: "%.4f", $0) } ?? "undefined") + " → \(ScanFiles.evaluation)")
    }
    try ScanReport.write(ScanReport.Page(settings: page, volumes: volumes.map(\.report), markers: ranked, evaluation: evaluation), to: output)
    return (ranked, order, evaluation)
}

/// `anogan scan`: the checkpoint's AnoGAN (with its encoder for the encoder start) scans the volumes
/// (with `shard`, that shard of them: scanVolumes).
@discardableResult
public func scanWithCheckpoint(_ checkpoint: URL, encoder: URL?, inputs: [OCTInput], settings: ScanSettings, shard: Shard? = nil,
                               output: URL, log: (String) -> Void) throws -> ScanResult {
    try settings.validate()
    let sources = try discoverOCTSources(inputs)
    _ = try shard?.positions(of: sources.count, unit: "volume")  // a bad split fails before the model is read
    for s in sources {
        guard FileManager.default.fileExists(atPath: s.scan.path) else { throw FileError(s.scan, "no such volume") }
        if let mask = s.mask, !FileManager.default.fileExists(atPath: mask.path) { throw FileError(mask, "no such mask") }
    }
    if case .percentileOfNormal(let normals, _) = settings.threshold {
        for s in normals where !FileManager.default.fileExists(atPath: s.scan.path) { throw FileError(s.scan, "no such normal volume") }
    }
    let (scorer, saved) = try latentMappingScorer(checkpoint: checkpoint, settings: settings.scoring, encoder: encoder)
    let from = settings.scoring.start == .encoder ? "from E(x) of \((encoder ?? checkpoint).path)" : "from the prior, seed \(settings.scoring.seed)"
    log("scan: \(sources.count) volume(s)\(shard.map { ", shard \($0)" } ?? "") with \(checkpoint.path) (epoch \(saved.position.epoch)), \(saved.config.imageSize)² tiles every "
        + "\(settings.stride ?? saved.config.imageSize / 2) px, Γ = \(settings.scoring.mapping.steps) \(from), map σ = \(settings.mapSigma), threads \(Threads.count); "
        + "threshold: \(settings.threshold.description)")
    return try scanVolumes(sources, scorer: scorer, settings: settings, checkpoint: checkpoint,
                           encoderCheckpoint: settings.scoring.start == .encoder ? encoder : nil, shard: shard, output: output, log: log)
}

/// The header fields of a MetaImage file that place it in space beyond its spacing (Volume keeps
/// only the spacing), so the map overlays the scan in ITK-SNAP or 3D Slicer; [] when unreadable.
func spatialHeaderFields(_ url: URL) -> [(key: String, value: String)] {
    let keys = ["Offset", "Origin", "Position", "TransformMatrix", "Rotation", "Orientation", "CenterOfRotation", "AnatomicalOrientation"]
    guard let handle = try? FileHandle(forReadingFrom: url), let head = try? handle.read(upToCount: 65536) else { return [] }
    try? handle.close()
    var fields: [(key: String, value: String)] = []
    for line in head.split(separator: 0x0A) {
        guard let text = String(data: Data(line), encoding: .utf8), let eq = text.firstIndex(of: "=") else { break }
        let key = text[..<eq].trimmingCharacters(in: .whitespaces), value = text[text.index(after: eq)...].trimmingCharacters(in: .whitespacesAndNewlines)
        if key == "ElementDataFile" { break }
        if keys.contains(key) && !value.isEmpty && !value.contains(where: \.isNewline) { fields.append((key, value)) }
    }
    return fields
}

/// Largest mass (mean × area) first; equal masses keep their order (volume, B-scan, scan order).
private func byMass(_ markers: [MarkerCandidate]) -> [MarkerCandidate] {
    massOrder(markers.map(\.region.mass)).map { markers[$0] }
}

/// The positions of `masses`, largest first; equal masses keep their order. The one ranking of
/// markers: within a volume, and over the volumes of a scan or of merged shards.
func massOrder(_ masses: [Double]) -> [Int] {
    masses.indices.sorted { a, b in masses[a] != masses[b] ? masses[a] > masses[b] : a < b }
}

/// Removes `url` when no file lies anywhere below it, only folders.
private func removeIfNoFiles(_ url: URL) {
    let fm = FileManager.default
    guard let entries = fm.enumerator(at: url, includingPropertiesForKeys: [.isDirectoryKey]) else { return }
    for case let entry as URL in entries where (try? entry.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory != true { return }
    try? fm.removeItem(at: url)
}

private func createDirectory(_ url: URL) throws {
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
        throw FileError(url, "cannot create the output directory: \(error.localizedDescription)")
    }
}

/// The CSV files of a scan.
enum ScanCSV {
    static func number(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "" }

    /// volume, bscan ("all" for the volume's row), patches, band pixels, mean and max of the map over the band, mean A of the tiles.
    static func scores(_ rows: [ScanScore]) -> String {
        var lines = ["volume,bscan,patches,band_pixels,map_mean,map_max,patch_score_mean"]
        for r in rows {
            lines.append([csvField(r.volume), r.bscan.map(String.init) ?? "all", "\(r.patches)", "\(r.bandPixels)",
                          number(r.mapMean), number(r.mapMax), number(r.patchScoreMean)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One row per region, largest mass (mean × area) first; x = column, y = row in original pixels.
    static func markers(_ markers: [ScanMarker]) -> String {
        var lines = ["rank,volume,bscan,x_min,y_min,x_max,y_max,centroid_x,centroid_y,area_pixels,mean_residual,max_residual,tiles,threshold"]
        for (k, r) in markers.enumerated() {
            lines.append([String(k), csvField(r.volume), "\(r.bscan)", "\(r.minColumn)", "\(r.minRow)", "\(r.maxColumn)", "\(r.maxRow)",
                          String(format: "%.2f", r.centroidColumn), String(format: "%.2f", r.centroidRow), "\(r.area)",
                          number(r.meanValue), number(r.maxValue), "\(r.tiles)", number(Double(r.threshold))].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
