// `anogan train-acae`: trains the paper's comparison model, the adversarial
// convolutional autoencoder (§3 (3)), on normal images; `score` takes its
// checkpoint. Parses flags over the settings (file) and calls Workflows.trainAutoencoder.
import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

/// The settings file of `anogan train-acae`.
struct TrainACAEConfig: Codable {
    var architecture = DCGANConfig.paper
    var acae = ACAESettings()
}

struct TrainACAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-acae",
        abstract: "Train the aCAE, the paper's comparison model (adversarial convolutional autoencoder).",
        discussion: """
        The encoder mirrors D, the decoder is the DCGAN generator and D is the DCGAN discriminator, so the depth \
        matches AnoGAN's. Writes into --out: acae.safetensors and losses.csv. Score it with \
        `anogan score --checkpoint DIR/acae.safetensors --data QUERIES --out RUN` (recognised by its format).

        --config FILE (JSON or YAML) holds any of {architecture: {latentDimension, imageSize, width, channels}, \
        acae: {epochs, iterations, batchSize, seed, adam: {...}, adversarialWeight}}; flags override it. \
        Without an image size in flags or file, the model takes the data's.
        """)

    private static let defaults = ACAESettings()

    @Option(help: "Training images (normal): a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Epochs (default \(defaults.epochs)).")
    var epochs: Int?

    @Option(help: "Iterations in all; wins over --epochs.")
    var iterations: Int?

    @Option(help: "Batch size (default \(defaults.batchSize)).")
    var batchSize: Int?

    @Option(help: "Random seed of weights and shuffles (default \(defaults.seed)).")
    var seed: UInt64?

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        try requireRange(epochs, 1...Limits.epochs, "--epochs")
        try requireRange(iterations, 1...Limits.iterations, "--iterations")
        try requireRange(batchSize, 2...Limits.batchSize, "--batch-size")
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try configFile.load(TrainACAEConfig())
        var config = loaded.value.architecture, settings = loaded.value.acae
        if let imageSize = architecture.imageSize { config.imageSize = imageSize }
        if let width = architecture.width { config.width = width }
        if let epochs { settings.epochs = epochs; if iterations == nil { settings.iterations = nil } }
        if let iterations { settings.iterations = iterations }
        if let batchSize { settings.batchSize = batchSize }
        if let seed { settings.seed = seed }
        let input = try ImageInput.load(URL(fileURLWithPath: data))
        if architecture.imageSize == nil && !loaded.sets("architecture.imageSize") { config.imageSize = input.imageSize }
        try translatingSettingNames(["acae.batchSize": "--batch-size"], config: configFile) {
            try trainAutoencoder(input, config: config, settings: settings, output: ACAETrainingOutput(directory: URL(fileURLWithPath: out)),
                                 log: { print($0) })
        }
    }
}
