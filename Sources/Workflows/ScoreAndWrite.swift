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

    public func validate(_ prefix: String = "output") throws {
        try Limits.check("\(prefix).triplets", triplets, in: 0...Limits.count)
    }
}

/// Scores `input` with `scorer` and writes the run into `directory`. `checkpoint` (and the
/// encoder behind an encoder start, when given) is recorded in summary.json, and so is `shard`
/// when `input` is a shard (`shardOf`); `label` names the progress bar. Returns what the scorer computed.
@discardableResult
public func scoreAndWrite(_ scorer: Scorer, input: ImageInput, checkpoint: URL, encoderCheckpoint: URL? = nil, shard: Shard.Record? = nil,
                          to directory: URL, options: ScoreRunOptions = ScoreRunOptions(), label: String = "scoring") throws -> DetectionResult {
    try input.check(fits: scorer.config, of: checkpoint)
    let progress = Records.Progress(label, total: scorer.work(imageCount: input.count), unit: scorer.workUnit)
    let result = try scorer.score(input) { progress.update($0.done, detail: $0.detail) }
    try result.write(input: input, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint, config: scorer.config,
                     settings: scorer.recordedSettings, triplets: options.triplets, trace: options.trace, threads: Threads.count,
                     shard: shard, to: directory)
    return result
}

/// AnoGAN's detector from a checkpoint of `anogan train`. `imageSize` and `width`, when given,
/// must be the checkpoint's, so that a wrong model is caught before any work. With
/// `settings.start` `.encoder`, `encoder` is the checkpoint of `trainEncoder` for this GAN
/// (its weight fingerprint must match).
public func latentMappingScorer(checkpoint url: URL, settings: ScoringSettings, encoder: URL? = nil, imageSize: Int? = nil,
                                width: Int? = nil) throws -> (scorer: LatentMappingScorer, checkpoint: Checkpoint) {
    let saved = try Checkpoint.read(url)
    var expected = saved.config
    if let imageSize { expected.imageSize = imageSize }
    if let width { expected.width = width }
    try saved.check(matches: expected)
    let precision = settings.mapping.precision ?? .default
    do { try precision.checkSupported() } catch { throw SettingsError("scoring.mapping.\(error)") }
    let (generator, discriminator) = try saved.makeNetworks(precision: precision)
    let start: InitialLatents
    switch settings.start {
    case .prior: start = .prior
    case .encoder:
        guard let encoder else { throw SettingsError("start encoder needs an encoder checkpoint (encoder)") }
        start = .encoder(try LatentEncoder(resuming: encoder, generator: generator, discriminator: discriminator))
    }
    let scorer = try LatentMappingScorer(generator: generator, discriminator: discriminator, settings: settings, initialLatents: start)
    return (scorer, saved)
}

/// The kinds of model checkpoint `anogan score` takes, told apart by the "format" in their metadata.
public enum ModelCheckpointKind: Equatable, Sendable {
    /// `anogan train`'s DCGAN (scored by latent mapping).
    case anogan
    /// `anogan train-acae`'s adversarial autoencoder (scored in one encoder pass).
    case acae

    /// The kind of `url`, from its safetensors metadata alone (the tensors are not read).
    /// Anything else, unreadable files included, is `.anogan`, whose reader gives the precise error.
    public static func of(_ url: URL) -> ModelCheckpointKind {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return .anogan }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8), head.count == 8 else { return .anogan }
        let length = head.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= 100_000_000, let header = try? handle.read(upToCount: Int(length)),
              let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
              let metadata = json["__metadata__"] as? [String: Any] else { return .anogan }
        return metadata["format"] as? String == AdversarialAutoencoder.checkpointFormat ? .acae : .anogan
    }
}

/// `anogan score`: the checkpoint's model scores the images of `data` (a patch set or .npy) and
/// the run is written into `directory`. An AnoGAN checkpoint maps by `settings` (from the prior,
/// or from E(x) of the encoder checkpoint `encoder`); an aCAE checkpoint (ModelCheckpointKind)
/// encodes in one pass with `settings.mapping`'s λ and batch size. With `shard`, only that shard
/// of the images is scored and the run records it (`shardOf`); `mergeShardRuns` joins the shards.
/// `log` gets a line before and after.
@discardableResult
public func scoreWithCheckpoint(_ checkpoint: URL, data: URL, settings: ScoringSettings, encoder: URL? = nil,
                                imageSize: Int? = nil, width: Int? = nil, shard: Shard? = nil, to directory: URL,
                                options: ScoreRunOptions = ScoreRunOptions(), log: (String) -> Void) throws -> DetectionResult {
    try settings.validate()
    try options.validate()
    if let imageSize { try Limits.check("architecture.imageSize", imageSize, in: 16...Limits.imageSize) }
    if let width { try Limits.check("architecture.width", width, in: 1...Limits.width) }
    try ScoreRun.checkOutput(directory)  // before the work: a bad --out fails at once
    let of = shard.map { " (shard \($0))" } ?? ""
    if ModelCheckpointKind.of(checkpoint) == .acae {
        guard settings.variant == .featureMatching, settings.start == .prior else {
            throw SettingsError("\(checkpoint.path) is an aCAE checkpoint: it encodes instead of mapping, so variant (\(settings.variant.rawValue)) and start (\(settings.start.rawValue)) do not apply")
        }
        let model = try AdversarialAutoencoder.load(from: checkpoint)
        var expected = model.config
        if let imageSize { expected.imageSize = imageSize }
        if let width { expected.width = width }
        guard expected == model.config else {
            throw FileError(checkpoint, "aCAE checkpoint holds a model with image size \(model.config.imageSize), width \(model.config.width), but image size \(expected.imageSize), width \(expected.width) was requested")
        }
        let scorer = AutoencoderScorer(model: model, lambda: settings.mapping.lambda, batchSize: settings.mapping.batchSize)
        let (input, record) = try shardOf(ImageInput.load(data), shard: shard, checkpoint: checkpoint, triplets: options.triplets)
        try input.check(fits: model.config, of: checkpoint)
        log("scoring \(input.count) images\(of) with the aCAE \(checkpoint.path) (epoch \(model.completedEpochs)), one encoder pass, "
            + "λ = \(settings.mapping.lambda), threads \(Threads.count)")
        let result = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, shard: record, to: directory, options: options, label: "score")
        log(String(format: "encoded %d images in %.1f s (%.2f images/s); wrote %@", input.count, result.seconds,
                   Double(input.count) / max(result.seconds, 1e-9), directory.path))
        return result
    }
    let (scorer, saved) = try latentMappingScorer(checkpoint: checkpoint, settings: settings, encoder: encoder,
                                                  imageSize: imageSize, width: width)
    let encoderCheckpoint = settings.start == .encoder ? encoder : nil
    let (input, record) = try shardOf(ImageInput.load(data), shard: shard, checkpoint: checkpoint, encoder: encoderCheckpoint,
                                      triplets: options.triplets)
    try input.check(fits: saved.config, of: checkpoint)
    let from = settings.start == .encoder ? "from E(x) of \((encoder ?? checkpoint).path)" : "from the prior, seed \(settings.seed)"
    log("scoring \(input.count) images\(of) with \(checkpoint.path) (epoch \(saved.position.epoch)), variant \(settings.variant.rawValue), "
        + "Γ = \(settings.mapping.steps) steps \(from), λ = \(settings.mapping.lambda), threads \(Threads.count)")
    let result = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint, shard: record,
                                   to: directory, options: options, label: "score")
    let mappings = input.count * settings.variant.losses.count
    log(String(format: "scored %d images × %d variant(s) in %.1f s (%.2f images/s); wrote %@", input.count,
               settings.variant.losses.count, result.seconds, Double(mappings) / max(result.seconds, 1e-9), directory.path))
    if settings.mapping.earlyStopping != nil, let taken = result.stepsTaken, !taken.isEmpty {
        log(String(format: "early stopping: %.1f steps per image on average (fewest %d, most %d of Γ = %d)",
                   Double(taken.reduce(0, +)) / Double(taken.count), taken.min()!, taken.max()!, settings.mapping.steps))
    }
    return result
}

/// The images of `shard` of `input` (Shard's rule: a contiguous block in data-set order) and the
/// record of it for summary.json: the data set's size and id fingerprint, the fingerprints of the
/// checkpoint files and the triplets asked for. Without a shard: `input` whole, no record.
/// Throws a SettingsError naming `shard` when the data set has fewer images than shards.
public func shardOf(_ input: ImageInput, shard: Shard?, checkpoint: URL, encoder: URL? = nil,
                    triplets: Int) throws -> (input: ImageInput, record: Shard.Record?) {
    guard let shard else { return (input, nil) }
    let record = try Shard.Record(shard: shard, total: input.count, datasetFingerprint: Shard.fingerprint(ids: input.ids),
                                  checkpointFingerprint: FNV1a.hex(ofFile: checkpoint),
                                  encoderFingerprint: try encoder.map { try FNV1a.hex(ofFile: $0) }, triplets: triplets)
    return (input.subset(Array(try shard.positions(of: input.count))), record)
}
