// Train-aCAE: the paper's comparison model (adversarial convolutional
// autoencoder, §3 (3)) trained from any entry point the same way: a fresh run
// (its checkpoint holds no optimizer state, so there is no resume), a progress
// bar, losses.csv and acae.safetensors, which `score` recognises by its format.

import AnoGAN
import Foundation
import NeuralNet
import Records

/// The files aCAE training writes into its output directory.
public struct ACAETrainingOutput {
    public var directory: URL
    public init(directory: URL) { self.directory = directory }

    /// The trained model (weights and BatchNorm statistics), written atomically at the end.
    public var checkpoint: URL { directory.appendingPathComponent("acae.safetensors") }
    /// One row per iteration: epoch, iteration, reconstruction MSE, adversarial loss, D's loss.
    public var lossLog: URL { directory.appendingPathComponent("losses.csv") }
}

/// Trains an aCAE of architecture `config` on `input` (normal training images) into `output`.
/// Weights are drawn from `settings.seed` (on a stream of their own: seed + 7, as the demo does).
/// `log` gets a line at the start and one at the end.
@discardableResult
public func trainAutoencoder(_ input: ImageInput, config: DCGANConfig, settings: ACAESettings, output: ACAETrainingOutput,
                             log: (String) -> Void) throws -> AdversarialAutoencoder {
    let lock = try RunDirectory.Lock(output.directory)
    defer { withExtendedLifetime(lock) {} }
    if FileManager.default.fileExists(atPath: output.checkpoint.path) {
        throw FileError(output.checkpoint, "exists: choose another output directory (aCAE training does not resume)")
    }
    try input.check(fits: config)
    guard input.count >= settings.batchSize else {
        throw FileError(input.source, "holds \(input.count) images, fewer than one batch of \(settings.batchSize); lower the batch size (acae.batchSize)")
    }
    let model = AdversarialAutoencoder(config: config, settings: settings)
    var rng = SeededGenerator(seed: settings.seed &+ 7)
    model.initialize(using: &rng)
    let perEpoch = input.count / settings.batchSize
    let total = settings.iterations ?? settings.epochs * perEpoch
    log("training the aCAE on \(input.count) images of \(config.imageSize)×\(config.imageSize), width \(config.width), batch \(settings.batchSize), "
        + "\(total) iterations (\(perEpoch) per epoch), seed \(settings.seed); threads \(Threads.count)")
    let progress = Records.Progress("aCAE training", total: total, unit: "it")
    var lines = ["epoch,iteration,reconstruction_mse,adversarial,discriminator"]
    var global = 0
    try model.train(images: input.images) { it in
        let l = it.losses
        global += 1
        lines.append("\(it.epoch),\(global),\(l.reconstruction),\(l.adversarial),\(l.discriminator)")
        let images = Double(global * settings.batchSize)
        progress.update(global, detail: String(format: "epoch %d/%d MSE %.4f adv %.3f Loss_D %.3f %.1f img/s", it.epoch, it.epochs,
                                               l.reconstruction, l.adversarial, l.discriminator,
                                               progress.elapsed > 0 ? images / progress.elapsed : 0))
    }
    try FileManager.default.createDirectory(at: output.directory, withIntermediateDirectories: true)
    try Data((lines.joined(separator: "\n") + "\n").utf8).writeAtomically(to: output.lossLog)
    try model.save(to: output.checkpoint)
    log(String(format: "trained %d iterations in %.1f s; wrote %@ and %@", global, progress.elapsed, output.checkpoint.path, output.lossLog.path))
    return model
}
