// `anogan train`: adversarial training of the DCGAN on a patch set. Parses
// flags over the settings (file) and calls Workflows.trainOrResume.
import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

/// The settings file of `anogan train`.
struct TrainConfig: Codable {
    var architecture = DCGANConfig.paper
    /// The CLI holds out the recommended validation slice and trains small sets for at least
    /// the minimum iterations unless told otherwise.
    var training = TrainingSettings(validationFraction: TrainingSettings.defaultValidationFraction,
                                    minimumIterations: TrainingSettings.defaultMinimumIterations)
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the DCGAN on normal images (paper §2.1).",
        discussion: """
        Writes into --out checkpoint.safetensors, losses.csv (one row per iteration) and samples/epoch-NNN.png \
        (G of fixed noise) after the first epoch that ends 100 or more iterations after the last write, and at the \
        end; health.json every 500 iterations and at the end. --resume continues a run exactly.

        A seeded validation slice (--validation-fraction, default \(TrainingSettings.defaultValidationFraction)) is never \
        trained on; the health check compares its reconstruction with training images', sample \
        diversity with the data's and the trends of D(x) and D(G(z)), prints one line or a WARNING per issue, and \
        writes health.json (shown by `anogan report`). With too few images for a slice beside one batch it is skipped, with a note.

        --config FILE (JSON or YAML) holds any of {architecture: {latentDimension, imageSize, width, channels}, \
        training: {epochs, iterations, batchSize, seed, adam: {learningRate, beta1, beta2, epsilon}, sampleCount, \
        validationFraction, minimumIterations, generatorAverageDecay, realLabel, precision}}; flags override it. Without an image size in flags or file, the model takes the data's.
        """)

    @Option(help: "Training images: a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Epochs (default \(TrainingSettings().epochs), the paper's, but at least \(TrainingSettings.defaultMinimumIterations) iterations for small sets). With --resume, the new total.")
    var epochs: Int?

    @Option(help: "Iterations in all; wins over --epochs (the last epoch may be partial). With --resume, the new total.")
    var iterations: Int?

    @Option(help: "Fraction of the images held out for the health check, never trained on; 0 disables (default \(TrainingSettings.defaultValidationFraction)).")
    var validationFraction: Double?

    @Option(help: "Batch size (default \(TrainingSettings().batchSize)).")
    var batchSize: Int?

    @Option(help: "Random seed of weights, shuffles and noise (default \(TrainingSettings().seed)).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Keep an exponential moving average of G's weights with this decay (e.g. 0.999) and use it after training (samples, health, encoder, scoring). Off by default (the paper).", valueName: "decay"))
    var generatorAverage: Double?

    @Option(help: ArgumentHelp("D's target for real images, e.g. 0.9 (one-sided label smoothing). Default 1 (the paper).", valueName: "target"))
    var realLabel: Float?

    @Option(help: "Continue from this checkpoint (its settings and seed are used).")
    var resume: String?

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        try requireRange(epochs, 1...Limits.epochs, "--epochs")
        try requireRange(iterations, 1...Limits.iterations, "--iterations")
        if let validationFraction, !(validationFraction >= 0 && validationFraction < 1) {
            throw ValidationError("--validation-fraction must lie in [0, 1), got \(validationFraction)")
        }
        try requireRange(batchSize, 2...Limits.batchSize, "--batch-size")
        if let generatorAverage, !(generatorAverage > 0 && generatorAverage < 1) {
            throw ValidationError("--generator-average must lie in (0, 1), got \(generatorAverage)")
        }
        if let realLabel, !(realLabel > 0.5 && realLabel <= 1) {
            throw ValidationError("--real-label must lie in (0.5, 1], got \(realLabel)")
        }
        if resume != nil, batchSize != nil || seed != nil || architecture.imageSize != nil || architecture.width != nil
            || validationFraction != nil || generatorAverage != nil || realLabel != nil || precisionOption.precision != nil {
            throw ValidationError("--resume continues with the checkpoint's settings; only --epochs or --iterations may change")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try configFile.load(TrainConfig())
        if resume != nil, !loaded.keys.subtracting(["training", "training.epochs", "training.iterations"]).isEmpty {
            throw ValidationError("--resume continues with the checkpoint's settings; only training.epochs or training.iterations may be set in --config")
        }
        var config = loaded.value.architecture, settings = loaded.value.training
        if let imageSize = architecture.imageSize { config.imageSize = imageSize }
        if let width = architecture.width { config.width = width }
        if let epochs { settings.epochs = epochs; if iterations == nil { settings.iterations = nil } }
        // Epochs asked for are epochs: the floor only applies to the default budget.
        if epochs != nil || loaded.sets("training.epochs") { settings.minimumIterations = nil }
        if let iterations { settings.iterations = iterations }
        if let validationFraction { settings.validationFraction = validationFraction }
        if let batchSize { settings.batchSize = batchSize }
        if let seed { settings.seed = seed }
        if let generatorAverage { settings.generatorAverageDecay = generatorAverage }
        if let realLabel { settings.realLabel = realLabel }
        if let precision = precisionOption.precision { settings.precision = precision }
        let policy: ResumePolicy = resume.map {
            .from(URL(fileURLWithPath: $0), epochs: epochs ?? (loaded.sets("training.epochs") ? settings.epochs : nil),
                  iterations: iterations ?? (loaded.sets("training.iterations") ? settings.iterations : nil))
        } ?? .fresh
        try translatingSettingNames(["training.batchSize": "--batch-size", "resume that run": "continue it with --resume",
                                     "validation fraction": "--validation-fraction",
                                     "training.epochs": "--epochs", "training.iterations": "--iterations",
                                     "training.validationFraction": "--validation-fraction", "training.precision": "--precision",
                                     "architecture.imageSize": "--image-size", "architecture.width": "--width"], config: configFile) {
            try trainOrResume(data: URL(fileURLWithPath: data), config: config,
                              fitImageSizeToData: architecture.imageSize == nil && !loaded.sets("architecture.imageSize"),
                              settings: settings, output: TrainingOutput(directory: URL(fileURLWithPath: out)), resume: policy,
                              log: { print($0) })
        }
    }
}
