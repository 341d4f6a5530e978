// `anogan scan`: whole OCT volumes → anomaly maps in the scan's geometry,
// overlays, en-face projections, per-B-scan scores, marker candidates and,
// with masks, pixel AUROC and Dice. Parses flags into ScanSettings and calls
// Workflows.scanWithCheckpoint.

import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Score whole B-scans/volumes: anomaly maps in the original geometry, marker candidates, evaluation with masks.",
        discussion: """
        Each B-scan is prepared as `prepare` does; its retina band (ILM…Bruch) is tiled with overlapping patches of the \
        model's size every --stride px (the last tile flush with the band); tiles are scored (by default from E(x) of the \
        encoder beside the checkpoint, Γ = \(LatentStart.encoder.defaultSteps) unless --steps); |x − x̂| is averaged over \
        overlapping tiles, smoothed (σ = --map-sigma) and carried back into the original B-scan (undoing flattening and \
        resampling; 0 outside the band).

        Writes into --out: anomaly_map_<volume>.mha (float32, the input's size and spacing), overlays/<volume>_bscanNNN.png, \
        enface_<volume>.png, scores.csv (per B-scan and per volume), markers.csv and marker_features.npy (regions of the \
        thresholded map, 8-connected per B-scan, with the mean D features of the tiles they overlap), scan.html and scan.json \
        (what the page draws; `anogan report --scan DIR` adds it to the evaluation report), \
        evaluation.json when masks exist, and the tiles as a patch set (patches/<volume>) with their score run (runs/<volume>).

        Threshold: --threshold VALUE, or --threshold-percentile P of the band of --normal-volume scans, or the Youden \
        cut-off of a labelled score run's pixels (--threshold-from-run DIR). Default: the \(String(format: "%g", ScanThreshold.defaultPercentile))th \
        percentile of each volume's own band, which always marks its top 1 %.

        --shard i/n scans one contiguous block of the volumes, in the order the flags list them (shard 1 the first): \
        what a scan of those volumes alone writes, plus their record in shard/; `anogan merge` joins the n shard runs \
        into the scan of all volumes, file for file as one scan writes it (the markers ranked over all volumes, the \
        pooled evaluation, scan.html). Give every shard the same flags: a threshold from --normal-volume or \
        --threshold-from-run is computed alike in every shard, and merge checks it is the same.
        """)

    private static let defaults = ScanSettings()

    @Option(help: "Checkpoint written by `anogan train`.")
    var checkpoint: String
    @Option(help: ArgumentHelp("Encoder checkpoint for --start encoder (default: encoder.safetensors in the folder of --checkpoint).", valueName: "file"))
    var encoder: String?
    @Option(help: "Output directory.")
    var out: String

    @OptionGroup var oct: OCTVolumeOptions
    @Option(name: .long, parsing: .upToNextOption, help: "Mask values that count as anomalous (e.g. 1 2 = the phantom's fluid); default: every nonzero value.")
    var maskClasses: [Int] = []
    @Option(name: .long, help: "Column spacing after resampling, µm (default \(defaults.preparation.preprocessing.targetSpacingX)).")
    var spacingX: Double?
    @Option(name: .long, help: "Column spacing of inputs that do not state it (PNG folders), µm; 0 = leave unresampled.")
    var inputSpacingX: Double?
    @Option(name: .long, help: "Row spacing of inputs that do not state it, µm.")
    var inputSpacingZ: Double?

    @Option(help: "Pixels between neighbouring tiles, at most the tile size (default half the model's image size: 32 for 64² patches).")
    var stride: Int?
    @Option(help: "Where each mapping starts: encoder (z₁ = E(x)) or prior (default \(defaults.scoring.start.rawValue)).")
    var start: LatentStart?
    @Option(help: "Γ, refinement steps on z per tile (default \(LatentStart.encoder.defaultSteps) from the encoder, \(LatentStart.prior.defaultSteps) from the prior).")
    var steps: Int?
    @Option(help: ArgumentHelp("With --start prior, begin each tile's mapping at the draw of lowest mapping loss among K draws of z₁ (default 1, the paper's single draw).", valueName: "K"))
    var priorCandidates: Int?
    @Option(help: "Tiles mapped at once; does not change the results (default \(defaults.scoring.mapping.batchSize)).")
    var batchSize: Int?
    @Option(help: "σ in pixels of the Gaussian smoothing of the stitched residual (default \(defaults.mapSigma)).")
    var mapSigma: Double?

    @Option(help: "Marker threshold on the map.")
    var threshold: Float?
    @Option(help: "Marker threshold: this percentile (0…100) of the band pixels of the --normal-volume scans (default \(String(format: "%g", ScanThreshold.defaultPercentile))).")
    var thresholdPercentile: Double?
    @Option(help: "Normal volume whose map sets the threshold percentile; repeatable.")
    var normalVolume: [String] = []
    @Option(help: ArgumentHelp("Marker threshold: Youden cut-off of the pixels of this labelled score run.", valueName: "dir"))
    var thresholdFromRun: String?
    @Option(help: "Smallest region kept, in original pixels (default \(defaults.minimumRegionArea)).")
    var minRegion: Int?
    @Flag(inversion: .prefixedNo, help: "Write the tiles' patch set and score run (default on).")
    var patchRun = true
    @Option(help: ArgumentHelp("Scan only shard i of n (1-based, e.g. 3/8): the volumes at positions ⌊(i−1)·N/n⌋ ..< ⌊i·N/n⌋ "
                               + "of the N given, a contiguous block; `anogan merge` joins the n shard runs into the scan of all N.",
                               valueName: "i/n"))
    var shard: String?

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard !oct.isEmpty else {
            throw ValidationError("give at least one volume: --volume, --volumes or --bscan-folder")
        }
        if let stride, !(1...Limits.imageSize).contains(stride) { throw ValidationError("--stride must be in 1…\(Limits.imageSize), got \(stride)") }
        try requireRange(steps, 0...Limits.mappingSteps, "--steps")
        try requireRange(batchSize, 1...Limits.batchSize, "--batch-size")
        try requirePriorCandidates(priorCandidates, start: start, defaultStart: Self.defaults.scoring.start)
        if let mapSigma, !(0...64).contains(mapSigma) { throw ValidationError("--map-sigma must be in 0…64, got \(mapSigma)") }
        if let threshold, !(threshold.isFinite && threshold >= 0) { throw ValidationError("--threshold must be finite and ≥ 0, got \(threshold)") }
        if let p = thresholdPercentile, !(0...100).contains(p) { throw ValidationError("--threshold-percentile must be in 0…100, got \(p)") }
        let sources = [threshold != nil, !normalVolume.isEmpty, thresholdFromRun != nil].filter { $0 }.count
        if sources > 1 { throw ValidationError("give one threshold: --threshold, --normal-volume (with --threshold-percentile) or --threshold-from-run") }
        if thresholdPercentile != nil && threshold != nil { throw ValidationError("--threshold-percentile applies to --normal-volume (or each volume's own map), not to --threshold") }
        if thresholdPercentile != nil && thresholdFromRun != nil { throw ValidationError("--threshold-percentile does not apply to --threshold-from-run") }
        try requireRange(minRegion, 1...Limits.count, "--min-region")
        guard maskClasses.allSatisfy({ $0 >= 1 && $0 <= 255 }) else { throw ValidationError("--mask-classes must be values 1…255") }
        if let spacingX, !(spacingX > 0 && spacingX <= 1e6) { throw ValidationError("--spacing-x must be positive and ≤ 1e6, got \(spacingX)") }
        for (flag, v) in [("--input-spacing-x", inputSpacingX), ("--input-spacing-z", inputSpacingZ)] {
            if let v, !(v >= 0 && v <= 1e6) { throw ValidationError("\(flag) must be in 0…1e6, got \(v)") }
        }
        if steps == 0, start == .prior { throw ValidationError("--steps 0 needs --start encoder: from the prior it would score G of a random z₁") }
        _ = try parsedShard()
    }

    /// --shard as a Shard (nil without it); a malformed or out-of-range spec is a usage error naming the flag.
    func parsedShard() throws -> Shard? {
        do { return try shard.map(Shard.init(parsing:)) } catch let error as SettingsError {
            throw ValidationError("--" + error.description)
        }
    }

    func run() throws {
        threadOptions.apply()
        let url = { (path: String) in URL(fileURLWithPath: path) }
        var settings = ScanSettings()
        if let start { settings.scoring = ScoringSettings(start: start) }
        if let steps { settings.scoring.mapping.steps = steps }
        if let priorCandidates { settings.scoring.mapping.priorCandidates = priorCandidates }
        if let batchSize { settings.scoring.mapping.batchSize = batchSize }
        if let stride { settings.stride = stride }
        if let mapSigma { settings.mapSigma = mapSigma }
        if let minRegion { settings.minimumRegionArea = minRegion }
        settings.writePatchRun = patchRun
        if !maskClasses.isEmpty { settings.preparation.preprocessing.annotatedClasses = maskClasses.map(UInt8.init) }
        if let spacingX { settings.preparation.preprocessing.targetSpacingX = spacingX }
        if let inputSpacingX { settings.preparation.inputSpacingX = inputSpacingX }
        if let inputSpacingZ { settings.preparation.inputSpacingZ = inputSpacingZ }
        let percentile = thresholdPercentile ?? ScanThreshold.defaultPercentile
        if let threshold {
            settings.threshold = .value(threshold)
        } else if let thresholdFromRun {
            settings.threshold = .youdenOfRun(url(thresholdFromRun))
        } else if !normalVolume.isEmpty {
            settings.threshold = .percentileOfNormal(try discoverOCTSources(normalVolume.map { .volume(url($0), mask: nil) }), percentile)
        } else {
            settings.threshold = .percentileOfVolume(percentile)
        }
        let checkpointURL = url(checkpoint)
        var encoderURL: URL?
        if settings.scoring.start == .encoder {
            let e = encoder.map(url) ?? checkpointURL.deletingLastPathComponent().appendingPathComponent(EncoderTrainingOutput.fileName)
            guard FileManager.default.fileExists(atPath: e.path) else {
                throw FileError(e, "no encoder checkpoint; make one with `anogan train-encoder --checkpoint \(checkpoint) --data TRAINING-IMAGES`, or give --start prior")
            }
            encoderURL = e
        } else if encoder != nil {
            throw ValidationError("--encoder needs --start encoder")
        }
        let inputs = oct.inputs
        // The flags were checked in validate(); what remains names settings the flags set
        // (a shard's message starts "shard i/n:", the flag's value).
        do {
            try scanWithCheckpoint(checkpointURL, encoder: encoderURL, inputs: inputs, settings: settings, shard: try parsedShard(),
                                   output: url(out), log: { print($0) })
        } catch let error as SettingsError {
            throw ValidationError((error.description.hasPrefix("shard ") ? "--" : "") + error.description)
        }
    }
}
