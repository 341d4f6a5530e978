// `anogan train`: adversarial training of the DCGAN on a patch set. Parses
// flags, prints progress; the loop is AnoGAN.Trainer.
import AnoGAN
import ArgumentParser
import Foundation
import NeuralNet
import Records

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the DCGAN on normal images (paper §2.1).",
        discussion: """
        Writes into --out: checkpoint.safetensors (after every epoch), losses.csv (one row per \
        iteration) and samples/epoch-NNN.png (G of fixed noise). --resume continues a run exactly.
        """)

    @Option(help: "Training images: a patch-set directory or an N×1×S×S .npy in [-1, 1].")
    var data: String

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Epochs (the paper: 20). With --resume, the new total.")
    var epochs: Int?

    @Option(help: "Batch size (default 64).")
    var batchSize: Int?

    @Option(help: "Random seed (weights, shuffles, noise; default 0).")
    var seed: UInt64?

    @Option(help: "Continue from this checkpoint (its settings and seed are used).")
    var resume: String?

    @OptionGroup var architecture: ArchitectureOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let batchSize, batchSize < 2 { throw ValidationError("--batch-size must be at least 2, got \(batchSize)") }
        if resume != nil, batchSize != nil || seed != nil || architecture.imageSize != nil || architecture.width != nil {
            throw ValidationError("--resume continues with the checkpoint's settings; only --epochs may change")
        }
    }

    func run() throws {
        threadOptions.apply()
        let output = TrainingOutput(directory: URL(fileURLWithPath: out))
        if resume == nil, FileManager.default.fileExists(atPath: output.checkpoint.path) {
            throw FileError(output.checkpoint, "exists: continue it with --resume \(output.checkpoint.path), or choose another --out")
        }
        let dataURL = URL(fileURLWithPath: data)
        let input = try ImageInput.load(dataURL)
        let trainer: Trainer
        if let resume {
            let checkpoint = try Checkpoint.read(URL(fileURLWithPath: resume))
            try input.check(fits: checkpoint.config)
            trainer = try naming(dataURL) { try Trainer(resuming: checkpoint, images: input.images, datasetPath: dataURL.path, epochs: epochs) }
            print("resuming \(resume) at epoch \(trainer.completedEpochs)/\(trainer.settings.epochs), iteration \(trainer.completedIterations), seed \(trainer.settings.seed)")
        } else {
            var config = DCGANConfig.paper
            config.imageSize = architecture.imageSize ?? input.imageSize
            if let width = architecture.width { config.width = width }
            try input.check(fits: config)
            let settings = TrainingSettings(epochs: epochs ?? 20, batchSize: batchSize ?? 64, seed: seed ?? 0)
            trainer = try naming(dataURL) { try Trainer(config: config, settings: settings, images: input.images, datasetPath: dataURL.path) }
            print("training on \(input.count) images of \(config.imageSize)×\(config.imageSize), width \(config.width), batch \(settings.batchSize), \(settings.epochs) epochs, seed \(settings.seed)")
        }
        print("threads \(Threads.count), \(trainer.iterationsPerEpoch) iterations per epoch")
        if trainer.isFinished { print("nothing to do: the checkpoint already has \(trainer.completedEpochs) epochs"); return }

        let startIteration = trainer.completedIterations
        let progress = Records.Progress("train", total: trainer.totalIterations - startIteration, unit: "it")
        try trainer.run(output: output, onIteration: { it in
            let l = it.losses
            let images = Double((it.globalIteration - startIteration) * it.batchSize)
            let detail = String(format: "epoch %d/%d iter %d/%d Loss_D %.4f Loss_G %.4f D(x) %.4f D(G(z)) %.4f/%.4f ",
                                it.epoch, it.epochs, it.iteration, it.iterationsPerEpoch,
                                l.lossD, l.lossG, l.dReal, l.dFake, l.dFakeAfter)
                + Records.Progress.rate(images, progress.elapsed, unit: "img")
            progress.update(it.globalIteration - startIteration, detail: detail)
        }, onEpoch: { e in
            print(String(format: "epoch %d done in %.1fs: mean Loss_D %.4f, Loss_G %.4f", e.epoch, e.seconds, e.meanLossD, e.meanLossG)
                  + "; wrote \(e.checkpoint?.path ?? "-") and \(e.samples?.path ?? "-")")
        })
    }

    /// A training set smaller than one batch is a problem of the --data file: say which.
    private func naming<T>(_ data: URL, _ make: () throws -> T) throws -> T {
        do { return try make() } catch let error as TrainingError {
            if case .tooFewImages = error { throw FileError(data, "\(error)") }
            throw error
        }
    }
}
