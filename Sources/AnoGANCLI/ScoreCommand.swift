// `anogan score`: maps query images into the latent space of a trained model
// and writes the score run directory (Records' ScoreRun). Parses flags, prints
// progress; the work is AnoGAN.AnomalyScorer and ScoringResult.write.
import AnoGAN
import ArgumentParser
import Foundation
import NeuralNet
import Records

extension MappingVariant: ExpressibleByArgument {}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score query images by latent mapping (paper §2.2–2.3).",
        discussion: """
        Writes into --out: scores.csv (R, D, A; R_hat, D_hat, A_hat with the reference variant; P_D = σ(D(x)), \
        where LOW values mean anomalous), summary.json, reconstructions.npy, residuals.npy, features.npy, \
        triplets/NNNN.png and, with --trace, trace.csv.
        """)

    @Option(help: "Checkpoint written by `anogan train`.")
    var checkpoint: String

    @Option(help: "Query images: a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Mapping loss: feature (the paper), reference (Yeh et al., GAN_R) or both.")
    var variant: MappingVariant = .feature

    @Option(help: "Γ, Adam steps on z per image.")
    var steps: Int = 500

    @Option(help: "λ, weight of the discrimination loss.")
    var lambda: Float = 0.1

    @Option(help: "Images mapped at once (does not change the results).")
    var batchSize: Int = 64

    @Option(help: "Seed for the initial z of every image.")
    var seed: UInt64 = 0

    @Option(help: "Number of query | G(z) | residual pictures to write (the first images).")
    var triplets: Int = 16

    @Flag(help: "Also write trace.csv, the mean mapping loss at every step.")
    var trace = false

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if !(lambda >= 0 && lambda <= 1) { throw ValidationError("--lambda must lie in [0, 1], got \(lambda)") }
        if triplets < 0 { throw ValidationError("--triplets must be ≥ 0, got \(triplets)") }
    }

    func run() throws {
        threadOptions.apply()
        let checkpointURL = URL(fileURLWithPath: checkpoint)
        let saved = try Checkpoint.read(checkpointURL)
        var requested = saved.config
        if let imageSize = architecture.imageSize { requested.imageSize = imageSize }
        if let width = architecture.width { requested.width = width }
        try saved.check(matches: requested)
        let input = try ImageInput.load(URL(fileURLWithPath: data))
        try input.check(fits: saved.config)
        let (generator, discriminator) = try saved.makeNetworks()

        let settings = ScoringSettings(mapping: MappingSettings(steps: steps, lambda: lambda, batchSize: batchSize),
                                       variant: variant, seed: seed)
        let scorer = try AnomalyScorer(generator: generator, discriminator: discriminator, settings: settings)
        print("scoring \(input.count) images with \(checkpoint) (epoch \(saved.position.epoch)), variant \(variant.rawValue), \(steps) steps, seed \(seed), threads \(Threads.count)")
        let variants = variant.losses.count
        let progress = Records.Progress("score", total: input.count * variants, unit: "img")
        var finished = 0
        var lastVariant: MappingVariant?
        let result = try scorer.score(input) { v, p in
            if v != lastVariant { if lastVariant != nil { finished += input.count }; lastVariant = v }
            let done = finished + p.imagesDone + (p.step == p.steps ? p.batchCount : 0)
            progress.update(done, detail: "\(v.rawValue) step \(p.step)/\(p.steps) loss " + String(format: "%.4g", p.meanLoss))
        }
        try result.write(input: input, checkpoint: checkpointURL, config: saved.config, settings: settings,
                         triplets: triplets, trace: trace, threads: Threads.count, to: URL(fileURLWithPath: out))
        let rate = Double(input.count * variants) / max(result.seconds, 1e-9)
        print(String(format: "mapped %d images × %d variant(s) in %.1fs (%.2f images/s); wrote ", input.count, variants, result.seconds, rate) + out)
    }
}
