// Score-and-write: the one way every entry point scores images with a detector
// and writes the score run directory (Records' ScoreRun). Progress is counted in
// the whole job's units (image·steps over every mapping variant for AnoGAN,
// images for the aCAE). This file is the only caller of DetectionResult.write.

import AnoGAN
import Foundation
import NeuralNet
import Records

/// What a score run writes besides the scores.
public struct ScoreRunOptions: Codable, Equatable, Sendable {
    /// query | x̂ | residual pictures written, for the first images.
    public var triplets = 16
    /// Also write trace.csv (the mean search loss per step), when the detector searches.
    public var trace = false

    public init(triplets: Int = 16, trace: Bool = false) {
        self.triplets = triplets
        self.trace = trace
    }
}

/// Scores `input` with `scorer` and writes the run into `directory`. `checkpoint` is recorded
/// in summary.json; `label` names the progress bar. Returns what the scorer computed.
@discardableResult
public func scoreAndWrite(_ scorer: Scorer, input: ImageInput, checkpoint: URL, to directory: URL,
                          options: ScoreRunOptions = ScoreRunOptions(), label: String = "scoring") throws -> DetectionResult {
    try input.check(fits: scorer.config)
    let progress = Records.Progress(label, total: scorer.work(imageCount: input.count), unit: scorer.workUnit)
    let result = try scorer.score(input) { progress.update($0.done, detail: $0.detail) }
    try result.write(input: input, checkpoint: checkpoint, config: scorer.config, settings: scorer.recordedSettings,
                     triplets: options.triplets, trace: options.trace, threads: Threads.count, to: directory)
    return result
}

/// AnoGAN's detector from a checkpoint of `anogan train`. `imageSize` and `width`, when given,
/// must be the checkpoint's, so that a wrong model is caught before any work.
public func latentMappingScorer(checkpoint url: URL, settings: ScoringSettings, imageSize: Int? = nil, width: Int? = nil,
                                initialLatents: InitialLatents = .prior) throws -> (scorer: LatentMappingScorer, checkpoint: Checkpoint) {
    let saved = try Checkpoint.read(url)
    var expected = saved.config
    if let imageSize { expected.imageSize = imageSize }
    if let width { expected.width = width }
    try saved.check(matches: expected)
    let (generator, discriminator) = try saved.makeNetworks()
    let scorer = try LatentMappingScorer(generator: generator, discriminator: discriminator, settings: settings,
                                         initialLatents: initialLatents)
    return (scorer, saved)
}

/// `anogan score`: AnoGAN's checkpoint maps the images of `data` (a patch set or .npy) and the
/// run is written into `directory`. `log` gets a line before and after.
@discardableResult
public func scoreWithCheckpoint(_ checkpoint: URL, data: URL, settings: ScoringSettings, imageSize: Int? = nil, width: Int? = nil,
                                to directory: URL, options: ScoreRunOptions = ScoreRunOptions(),
                                log: (String) -> Void) throws -> DetectionResult {
    let (scorer, saved) = try latentMappingScorer(checkpoint: checkpoint, settings: settings, imageSize: imageSize, width: width)
    let input = try ImageInput.load(data)
    try input.check(fits: saved.config)
    log("scoring \(input.count) images with \(checkpoint.path) (epoch \(saved.position.epoch)), variant \(settings.variant.rawValue), "
        + "Γ = \(settings.mapping.steps) steps, λ = \(settings.mapping.lambda), seed \(settings.seed), threads \(Threads.count)")
    let result = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, to: directory, options: options, label: "score")
    let mappings = input.count * settings.variant.losses.count
    log(String(format: "mapped %d images × %d variant(s) in %.1f s (%.2f images/s); wrote %@", input.count,
               settings.variant.losses.count, result.seconds, Double(mappings) / max(result.seconds, 1e-9), directory.path))
    return result
}
