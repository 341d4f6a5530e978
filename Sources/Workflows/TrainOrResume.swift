// Train-or-resume: the one way every entry point (`anogan train`, the demo,
// the one-class protocol) starts or continues AnoGAN's training. A thin
// function over Trainer's public API: pick a fresh run or a resume, report
// progress in iterations, log a line per epoch.

import AnoGAN
import Foundation
import NeuralNet
import Records

/// Where a training run starts.
public enum ResumePolicy {
    /// A fresh run; a checkpoint already in the output directory is an error (a run is never overwritten).
    case fresh
    /// Continue the run saved in this checkpoint with its settings; `epochs` or `iterations`
    /// (when given) is the new total (`epochs` alone replaces an iteration budget).
    case from(URL, epochs: Int?, iterations: Int? = nil)
    /// Continue the output directory's checkpoint when it is the same run (architecture, seed,
    /// batch size, number of images and precision), up to the requested epochs; otherwise start fresh over it.
    case whenSameRun
}

/// Trains AnoGAN's DCGAN on `input` into `output` (checkpoint after every epoch, losses.csv,
/// samples), starting as `resume` says. A finished run is returned without training.
/// `log` receives one line when the run starts and one per epoch; the progress bar goes to stderr.
@discardableResult
public func trainOrResume(_ input: ImageInput, config: DCGANConfig, settings: TrainingSettings, output: TrainingOutput,
                          resume: ResumePolicy, health: HealthSettings? = HealthSettings(), log: (String) -> Void) throws -> Trainer {
    // One process per training directory; what a killed run left there goes first.
    switch resume {
    case .fresh, .whenSameRun:
        try config.validateLimits()
        try settings.validate()
    case let .from(_, epochs, iterations):
        if let epochs { try Limits.check("training.epochs", epochs, in: 1...Limits.epochs) }
        if let iterations { try Limits.check("training.iterations", iterations, in: 1...Limits.iterations) }
    }
    let lock = try RunDirectory.Lock(output.directory)
    defer { withExtendedLifetime(lock) {} }
    let trainer: Trainer
    do {
        switch resume {
        case .fresh:
            if FileManager.default.fileExists(atPath: output.checkpoint.path) {
                throw FileError(output.checkpoint, "exists: resume that run, or choose another output directory")
            }
            try input.check(fits: config)
            trainer = try Trainer(config: config, settings: settings, images: input.images, datasetPath: input.source.path)
        case let .from(url, epochs, iterations):
            let checkpoint = try Checkpoint.read(url)
            try input.check(fits: checkpoint.config, of: url)
            trainer = try Trainer(resuming: checkpoint, images: input.images, datasetPath: input.source.path, epochs: epochs,
                                  iterations: iterations)
        case .whenSameRun:
            if let saved = try? Checkpoint.read(output.checkpoint), saved.config == config, saved.settings.seed == settings.seed,
               saved.settings.batchSize == settings.batchSize, saved.datasetCount == input.count,
               (saved.settings.precision ?? .default) == (settings.precision ?? .default),
               saved.metadata.dataset.fingerprint.map({ $0 == input.images.fingerprint }) ?? true {
                trainer = try Trainer(resuming: saved, images: input.images, datasetPath: input.source.path,
                                      epochs: settings.iterations == nil ? settings.epochs : nil, iterations: settings.iterations)
            } else {
                try input.check(fits: config)
                trainer = try Trainer(config: config, settings: settings, images: input.images, datasetPath: input.source.path)
            }
        }
    } catch TrainingError.tooFewImages(let count, let batchSize) {
        // A set smaller than one batch is a problem of the data (or of the batch size): name the data.
        throw FileError(input.source, "holds \(count) images, fewer than one batch of \(batchSize); lower the batch size (training.batchSize)")
    }
    let c = trainer.config, s = trainer.settings
    let budget = s.iterations.map { "\($0) iterations" }
        ?? (trainer.totalIterations > s.epochs * trainer.iterationsPerEpoch
            ? "\(trainer.totalIterations) iterations (\(s.epochs) epochs would be \(s.epochs * trainer.iterationsPerEpoch); at least \(s.minimumIterations ?? 0))"
            : "\(s.epochs) epochs")
    if let from = trainer.resumedFrom {
        log("resuming \(from.path) at epoch \(trainer.completedEpochs), iteration \(trainer.completedIterations)/\(trainer.totalIterations), seed \(s.seed)")
    } else {
        log("training on \(trainer.trainingIndices.count) images of \(c.imageSize)×\(c.imageSize), width \(c.width), batch \(s.batchSize), "
            + "\(budget), seed \(s.seed); threads \(Threads.count), \(trainer.iterationsPerEpoch) iterations per epoch")
    }
    if let note = validationNote(trainer) { log(note) }
    if trainer.isFinished {
        log("nothing to do: the checkpoint already has \(trainer.completedIterations) iterations (\(trainer.completedEpochs) epochs)")
        return trainer
    }
    let first = trainer.completedIterations
    let progress = Records.Progress("training", total: trainer.totalIterations - first, unit: "it")
    try trainer.run(output: output, health: health, onIteration: { it in
        let l = it.losses
        let images = Double((it.globalIteration - first) * it.batchSize)
        progress.update(it.globalIteration - first,
                        detail: String(format: "epoch %d/%d Loss_D %.3f Loss_G %.3f D(x) %.2f D(G(z)) %.2f %.1f img/s",
                                       it.epoch, it.epochs, l.lossD, l.lossG, l.dReal, l.dFake,
                                       progress.elapsed > 0 ? images / progress.elapsed : 0))
    }, onEpoch: { e in
        // A small set's epoch is one or two iterations: one line per checkpoint, not thousands.
        guard e.checkpoint != nil || e.health != nil else { return }
        log(String(format: "epoch %d done in %.1f s: mean Loss_D %.4f, Loss_G %.4f; wrote ", e.epoch, e.seconds, e.meanLossD, e.meanLossG)
            + (e.checkpoint?.path ?? "-"))
        if let health = e.health { healthLines(health).forEach(log) }
    })
    return trainer
}

/// What the run holds out, or why it holds nothing out although asked to.
func validationNote(_ trainer: Trainer) -> String? {
    let s = trainer.settings, held = trainer.validationIndices.count, all = trainer.images.shape[0]
    guard let fraction = s.validationFraction, fraction > 0 else { return nil }
    if held == 0 {
        return "note: no validation slice: \(all) images leave nothing to hold out beside one batch of \(s.batchSize); "
            + "training on all of them, and the health check has no held-out images"
    }
    return String(format: "holding out %d of %d images (%.1f %%) as the validation slice of the health check", held, all,
                  100 * Double(held) / Double(all))
}

/// One line when the health check found nothing, else one WARNING line per issue
/// (separate lines, so a caller's indentation applies to each).
func healthLines(_ h: TrainingHealth) -> [String] {
    if h.warnings.isEmpty {
        let r = h.reconstruction
        return ["health OK: reconstruction \(String(format: "%.3g", r.validation ?? r.training)) per pixel"
            + (r.ratio.map { String(format: " (validation/training %.2f)", $0) } ?? "")
            + String(format: " vs mean image %.3g, sample diversity %.2f of the data's", r.meanImage, h.diversity.ratio)]
    }
    return h.warnings.map { "WARNING: " + $0.message }
}

/// `anogan train`: the same on the images of `data` (a patch set or .npy); with `fitImageSizeToData`
/// the model's image size is the data's.
@discardableResult
public func trainOrResume(data: URL, config: DCGANConfig, fitImageSizeToData: Bool, settings: TrainingSettings,
                          output: TrainingOutput, resume: ResumePolicy, log: (String) -> Void) throws -> Trainer {
    if case .from = resume {} else if fitImageSizeToData {
        var probe = config; probe.imageSize = 16
        try probe.validateLimits(); try settings.validate()
    } else {
        try config.validateLimits(); try settings.validate()
    }
    let input = try ImageInput.load(data)
    var config = config
    if fitImageSizeToData {
        // The size came from the data, so a size the DCGAN cannot have is the data's problem.
        config.imageSize = input.imageSize
        guard Limits.isModelImageSize(input.imageSize) else {
            throw FileError(data, "images are \(input.imageSize)×\(input.imageSize); the DCGAN needs a side that is a multiple of 16 "
                            + "in 16…\(Limits.imageSize): pad or resize them (`anogan prepare --train-folder … --image-size S` "
                            + "fits PNG folders), or set the architecture's image size")
        }
    }
    return try trainOrResume(input, config: config, settings: settings, output: output, resume: resume, log: log)
}
