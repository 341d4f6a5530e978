// `anogan score`: maps query images into the latent space of a trained model
// (from the prior or from an izi_f encoder's E(x)), or encodes them with an
// aCAE checkpoint, and writes the score run directory (Records' ScoreRun).
// Parses flags over the settings (file) and calls Workflows.scoreWithCheckpoint.
import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

extension MappingVariant: ExpressibleByArgument {}
extension LatentStart: ExpressibleByArgument {}

/// The settings file of `anogan score`.
struct ScoreConfig: Codable {
    var scoring = ScoringSettings()
    var output = ScoreRunOptions()
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score query images by latent mapping (paper §2.2–2.3), or with an aCAE checkpoint.",
        discussion: """
        Writes into --out: scores.csv (R, D, A; R_hat, D_hat, A_hat with --variant reference or both (GAN_R); \
        P_D = σ(D(x)) always, where LOW values mean anomalous), summary.json (settings, start, Γ), \
        reconstructions.npy, residuals.npy, features.npy, z1.npy, z_gamma.npy, triplets/NNNN.png and, with --trace, trace.csv.

        --shard i/n scores one contiguous block of the images (shard 1 the first); the shard runs of one split, \
        scored with the same settings, merge with `anogan merge --out DIR RUN...` into exactly the run of all images.

        Starts: --start prior (the paper: z₁ ~ U[-1,1], Γ = \(LatentStart.prior.defaultSteps) steps by default) or \
        --start encoder (z₁ = E(x) of the izi_f encoder made by `anogan train-encoder`; Γ = \(LatentStart.encoder.defaultSteps) \
        by default, i.e. the encoder score alone in one forward pass; give --steps for a short mapping from E(x)). \
        --encoder defaults to encoder.safetensors in the checkpoint's folder, where train-encoder writes it by default. \
        Adam on z: lr \(LatentStart.prior.defaultAdam.learningRate) from the prior, \(LatentStart.encoder.defaultAdam.learningRate) \
        from E(x), which starts near its fit (docs/DETECTION.md); scoring.mapping.adam in --config overrides it. \
        --prior-candidates K starts each image at the draw of lowest mapping loss among K draws of z₁ (the demo and \
        one-class use 16), where a single draw can leave a normal image stuck far from its fit.

        A checkpoint of `anogan train-acae` (recognised by its metadata) is scored in one encoder pass: \
        R, D, A and P_D with x̂ = dec(enc(x)); --variant, --start, --steps and --seed do not apply.

        --config FILE (JSON or YAML) holds any of {scoring: {mapping: {steps, lambda, batchSize, adam: {...}, precision, \
        earlyStopping: {patience, tolerance}, finalLearningRate (a cosine decay of Adam's rate to this by step Γ), \
        priorCandidates}, \
        variant, seed, start}, output: {triplets, trace}}; flags override it.
        """)

    private static let defaults = ScoreConfig()

    @Option(help: "Checkpoint written by `anogan train` (or by `anogan train-acae`).")
    var checkpoint: String

    @Option(help: "Query images: a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Mapping loss: feature-matching (the paper), reference (Yeh et al., GAN_R) or both (default \(defaults.scoring.variant.rawValue)).")
    var variant: MappingVariant?

    @Option(help: "Where each mapping starts: prior (z₁ ~ U[-1,1], the paper) or encoder (z₁ = E(x)) (default \(defaults.scoring.start.rawValue)).")
    var start: LatentStart?

    @Option(help: ArgumentHelp("Encoder checkpoint for --start encoder (default: encoder.safetensors in the folder of --checkpoint).",
                               valueName: "file"))
    var encoder: String?

    @Option(help: "Γ, Adam steps on z per image (default \(LatentStart.prior.defaultSteps) from the prior, \(LatentStart.encoder.defaultSteps) from the encoder; 0 only with --start encoder).")
    var steps: Int?

    @Option(help: ArgumentHelp("With the prior start, begin each image's mapping at the draw of lowest mapping loss among K draws of z₁ (one forward pass of G and D each; default 1, the paper's single draw).", valueName: "K"))
    var priorCandidates: Int?

    @Option(help: ArgumentHelp("Stop an image's mapping after this many steps in a row that do not lower its best loss by 0.1 % (its scores are those of its last step; off by default, the paper).", valueName: "patience"))
    var earlyStopping: Int?

    @Option(help: "λ, weight of the discrimination loss (default \(defaults.scoring.mapping.lambda)).")
    var lambda: Float?

    @Option(help: "Images mapped at once; does not change the results (default \(defaults.scoring.mapping.batchSize)).")
    var batchSize: Int?

    @Option(help: "Seed for the initial z of every image (default \(defaults.scoring.seed)).")
    var seed: UInt64?

    @Option(help: "Number of query | G(z) | residual pictures to write, the first images (default \(defaults.output.triplets)).")
    var triplets: Int?

    @Option(help: ArgumentHelp("Score only shard i of n (1-based, e.g. 3/8): the images at positions ⌊(i−1)·N/n⌋ ..< ⌊i·N/n⌋ "
                               + "of the N in --data, a contiguous block; `anogan merge` joins the n shard runs into the run of all N.",
                               valueName: "i/n"))
    var shard: String?

    @Flag(inversion: .prefixedNo, help: "Also write trace.csv, the mean mapping loss at every step (default \(defaults.output.trace ? "on" : "off")).")
    var trace: Bool?

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        try requireRange(steps, 0...Limits.mappingSteps, "--steps")
        try requireRange(earlyStopping, 1...Limits.mappingSteps, "--early-stopping")
        try requirePriorCandidates(priorCandidates, start: start, defaultStart: Self.defaults.scoring.start)
        if steps == 0, start != .encoder, start != nil {
            throw ValidationError("--steps 0 needs --start encoder: from the prior it would score G of a random z₁")
        }
        try requireRange(batchSize, 1...Limits.batchSize, "--batch-size")
        if let lambda, !(lambda >= 0 && lambda <= 1) { throw ValidationError("--lambda must lie in [0, 1], got \(lambda)") }
        try requireRange(triplets, 0...Limits.count, "--triplets")
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
        let loaded = try configFile.load(Self.defaults)
        var config = loaded.value
        if let start { config.scoring.start = start }
        if let variant { config.scoring.variant = variant }
        if let earlyStopping { config.scoring.mapping.earlyStopping = EarlyStopping(patience: earlyStopping) }
        if let priorCandidates { config.scoring.mapping.priorCandidates = priorCandidates }
        if let steps { config.scoring.mapping.steps = steps } else if !loaded.sets("scoring.mapping.steps") {
            config.scoring.mapping.steps = config.scoring.start.defaultSteps
        }
        if !loaded.sets("scoring.mapping.adam") { config.scoring.mapping.adam = config.scoring.start.defaultAdam }
        if let lambda { config.scoring.mapping.lambda = lambda }
        if let batchSize { config.scoring.mapping.batchSize = batchSize }
        if let precision = precisionOption.precision { config.scoring.mapping.precision = precision }
        if let seed { config.scoring.seed = seed }
        if let triplets { config.output.triplets = triplets }
        if let trace { config.output.trace = trace }
        let checkpointURL = URL(fileURLWithPath: checkpoint)
        var encoderURL: URL?
        if ModelCheckpointKind.of(checkpointURL) == .acae {
            guard config.scoring.variant == .featureMatching, config.scoring.start == .prior, encoder == nil else {
                throw ValidationError("\(checkpoint) is an aCAE checkpoint: it encodes in one pass, so --variant, --start and --encoder do not apply")
            }
        } else if config.scoring.start == .encoder {
            let url = encoder.map { URL(fileURLWithPath: $0) }
                ?? checkpointURL.deletingLastPathComponent().appendingPathComponent(Self.encoderFile)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw FileError(url, "no encoder checkpoint; make one with `anogan train-encoder --checkpoint \(checkpoint) --data TRAINING-IMAGES`")
            }
            encoderURL = url
        } else {
            if encoder != nil { throw ValidationError("--encoder needs --start encoder") }
            if config.scoring.mapping.steps == 0 {
                throw ValidationError("--steps 0 needs --start encoder: from the prior it would score G of a random z₁")
            }
        }
        try translatingSettingNames(["scoring.mapping.steps": "--steps", "scoring.mapping.lambda": "--lambda", "scoring.mapping.batchSize": "--batch-size",
                                     "output.triplets": "--triplets", "scoring.start": "--start", "architecture.imageSize": "--image-size",
                                     "architecture.width": "--width", "shard": "--shard", "scoring.mapping.precision": "--precision",
                                     "scoring.mapping.priorCandidates": "--prior-candidates"], config: configFile) {
        try scoreWithCheckpoint(checkpointURL, data: URL(fileURLWithPath: data), settings: config.scoring, encoder: encoderURL,
                                imageSize: architecture.imageSize, width: architecture.width, shard: try parsedShard(),
                                to: URL(fileURLWithPath: out),
                                options: config.output, log: { print($0) })
        }
    }

    /// The encoder's file name that `train-encoder` writes and `score --start encoder` looks for.
    static let encoderFile = EncoderTrainingOutput.fileName
}
