// `anogan score`: maps query images into the latent space of a trained model
// and writes the score run directory (Records' ScoreRun). Parses flags over the
// settings (file) and calls Workflows.scoreWithCheckpoint.
import AnoGAN
import ArgumentParser
import Foundation
import Records
import Workflows

extension MappingVariant: ExpressibleByArgument {}

/// The settings file of `anogan score`.
struct ScoreConfig: Codable {
    var scoring = ScoringSettings()
    var output = ScoreRunOptions()
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score query images by latent mapping (paper §2.2–2.3).",
        discussion: """
        Writes into --out: scores.csv (R, D, A; R_hat, D_hat, A_hat with the reference variant; P_D = σ(D(x)), \
        where LOW values mean anomalous), summary.json, reconstructions.npy, residuals.npy, features.npy, \
        triplets/NNNN.png and, with --trace, trace.csv.

        --config FILE (JSON or YAML) holds any of {scoring: {mapping: {steps, lambda, batchSize, adam: {...}}, \
        variant, seed}, output: {triplets, trace}}; flags override it.
        """)

    private static let defaults = ScoreConfig()

    @Option(help: "Checkpoint written by `anogan train`.")
    var checkpoint: String

    @Option(help: "Query images: a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Mapping loss: feature (the paper), reference (Yeh et al., GAN_R) or both (default \(defaults.scoring.variant.rawValue)).")
    var variant: MappingVariant?

    @Option(help: "Γ, Adam steps on z per image (default \(defaults.scoring.mapping.steps)).")
    var steps: Int?

    @Option(help: "λ, weight of the discrimination loss (default \(defaults.scoring.mapping.lambda)).")
    var lambda: Float?

    @Option(help: "Images mapped at once; does not change the results (default \(defaults.scoring.mapping.batchSize)).")
    var batchSize: Int?

    @Option(help: "Seed for the initial z of every image (default \(defaults.scoring.seed)).")
    var seed: UInt64?

    @Option(help: "Number of query | G(z) | residual pictures to write, the first images (default \(defaults.output.triplets)).")
    var triplets: Int?

    @Flag(inversion: .prefixedNo, help: "Also write trace.csv, the mean mapping loss at every step (default \(defaults.output.trace ? "on" : "off")).")
    var trace: Bool?

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let lambda, !(lambda >= 0 && lambda <= 1) { throw ValidationError("--lambda must lie in [0, 1], got \(lambda)") }
        if let triplets, triplets < 0 { throw ValidationError("--triplets must be ≥ 0, got \(triplets)") }
    }

    func run() throws {
        threadOptions.apply()
        var config = try configFile.load(Self.defaults).value
        if let variant { config.scoring.variant = variant }
        if let steps { config.scoring.mapping.steps = steps }
        if let lambda { config.scoring.mapping.lambda = lambda }
        if let batchSize { config.scoring.mapping.batchSize = batchSize }
        if let seed { config.scoring.seed = seed }
        if let triplets { config.output.triplets = triplets }
        if let trace { config.output.trace = trace }
        try scoreWithCheckpoint(URL(fileURLWithPath: checkpoint), data: URL(fileURLWithPath: data), settings: config.scoring,
                                imageSize: architecture.imageSize, width: architecture.width, to: URL(fileURLWithPath: out),
                                options: config.output, log: { print($0) })
    }
}
