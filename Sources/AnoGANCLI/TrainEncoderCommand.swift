// `anogan train-encoder`: trains f-AnoGAN's izi_f encoder E for a trained GAN
// (G and D frozen), the start of `score --start encoder`. Parses flags over the
// settings (file) and calls Workflows.trainEncoder.
import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

/// The settings file of `anogan train-encoder`.
struct TrainEncoderConfig: Codable {
    var encoder = EncoderTrainingSettings()
}

struct TrainEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-encoder",
        abstract: "Train the izi_f encoder E of a trained GAN (f-AnoGAN), for `score --start encoder`.",
        discussion: """
        E maps an image to the z whose G(z) reconstructs it; loss mean|x − G(E(x))|² + κ·mean|f(x) − f(G(E(x)))|², \
        G and D frozen. Writes into --out (default: the folder of --checkpoint, where `score --start encoder` \
        looks): encoder.safetensors (every --checkpoint-every iterations and at the end) and encoder-losses.csv. \
        --resume continues an encoder exactly; --iterations is then the new total.

        --config FILE (JSON or YAML) holds any of {encoder: {iterations, batchSize, seed, adam: {...}, kappa, \
        checkpointInterval, precision}}; flags override it. --precision may change on --resume (it says how to compute, not what).
        """)

    private static let defaults = EncoderTrainingSettings()

    @Option(help: "GAN checkpoint written by `anogan train`.")
    var checkpoint: String

    @Option(help: "Training images (normal): a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory (default: the folder of --checkpoint).")
    var out: String?

    @Option(help: "Iterations in all (default \(defaults.iterations)). With --resume, the new total.")
    var iterations: Int?

    @Option(help: "Batch size (default \(defaults.batchSize)).")
    var batchSize: Int?

    @Option(help: "Seed of E's weights and the shuffles (default \(defaults.seed)).")
    var seed: UInt64?

    @Option(help: "κ, weight of the feature term (default \(defaults.kappa), f-AnoGAN's).")
    var kappa: Float?

    @Option(help: "Write a checkpoint every this many iterations (default \(defaults.checkpointInterval)).")
    var checkpointEvery: Int?

    @Option(help: ArgumentHelp("Continue this encoder checkpoint (its settings are used).", valueName: "file"))
    var resume: String?

    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        try requireRange(iterations, 1...Limits.iterations, "--iterations")
        try requireRange(batchSize, 2...Limits.batchSize, "--batch-size")
        if let kappa, !(kappa >= 0 && kappa.isFinite) { throw ValidationError("--kappa must be finite and ≥ 0, got \(kappa)") }
        try requireRange(checkpointEvery, 1...Limits.iterations, "--checkpoint-every")
        if resume != nil, batchSize != nil || seed != nil || kappa != nil || checkpointEvery != nil {
            throw ValidationError("--resume continues with the encoder checkpoint's settings; only --iterations may change")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try configFile.load(TrainEncoderConfig())
        if resume != nil, !loaded.keys.subtracting(["encoder", "encoder.iterations", "encoder.precision"]).isEmpty {
            throw ValidationError("--resume continues with the encoder checkpoint's settings; only encoder.iterations may be set in --config")
        }
        var settings = loaded.value.encoder
        if let iterations { settings.iterations = iterations }
        if let batchSize { settings.batchSize = batchSize }
        if let seed { settings.seed = seed }
        if let kappa { settings.kappa = kappa }
        if let checkpointEvery { settings.checkpointInterval = checkpointEvery }
        if let precision = precisionOption.precision { settings.precision = precision }
        let gan = URL(fileURLWithPath: checkpoint)
        let output = EncoderTrainingOutput(directory: out.map { URL(fileURLWithPath: $0) } ?? gan.deletingLastPathComponent())
        let policy: EncoderResumePolicy = resume.map {
            .from(URL(fileURLWithPath: $0), iterations: iterations ?? (loaded.sets("encoder.iterations") ? settings.iterations : nil))
        } ?? .fresh
        try translatingSettingNames(["encoder.batchSize": "--batch-size", "encoder.precision": "--precision", "resume that encoder": "continue it with --resume"],
                                    config: configFile) {
            try trainEncoder(gan: gan, data: URL(fileURLWithPath: data), settings: settings, output: output, resume: policy,
                             log: { print($0) })
        }
    }
}
