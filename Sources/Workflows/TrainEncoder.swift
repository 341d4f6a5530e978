// Train-encoder: the one way entry points train f-AnoGAN's izi_f encoder E for
// a trained GAN (G and D frozen), fresh or resumed, with a progress bar, a loss
// log and checkpoints every `checkpointInterval` iterations. The encoder start
// of `score` (z₁ = E(x)) reads what this writes.

import AnoGAN
import Foundation
import NeuralNet
import Records

/// The files encoder training writes into its output directory.
public struct EncoderTrainingOutput {
    /// The checkpoint's file name; `score --start encoder` looks for it beside the GAN's checkpoint.
    public static let fileName = "encoder.safetensors"
    public var directory: URL
    public init(directory: URL) { self.directory = directory }

    /// E, its Adam state and position, replaced atomically at every checkpoint.
    public var checkpoint: URL { directory.appendingPathComponent(Self.fileName) }
    /// One row per iteration: iteration, total loss, pixel term, feature term (before the update).
    public var lossLog: URL { directory.appendingPathComponent("encoder-losses.csv") }

    static let lossHeader = "iteration,loss,pixel,feature"
}

/// Where encoder training starts.
public enum EncoderResumePolicy {
    /// A fresh E; an encoder checkpoint already in the output directory is an error.
    case fresh
    /// Continue this encoder checkpoint with its settings; `iterations` (when given) is the new total.
    case from(URL, iterations: Int?)
}

/// Trains an izi_f encoder for the GAN of `checkpoint` on the images of `data` (normal training
/// images, a patch set or .npy) into `output`, as `resume` says. A finished run returns at once.
/// `log` gets a line at the start and at every checkpoint; the progress bar goes to stderr.
@discardableResult
public func trainEncoder(gan checkpoint: URL, data: URL, settings: EncoderTrainingSettings, output: EncoderTrainingOutput,
                         resume: EncoderResumePolicy, log: (String) -> Void) throws -> LatentEncoder {
    let lock = try RunDirectory.Lock(output.directory)
    defer { withExtendedLifetime(lock) {} }
    let saved = try Checkpoint.read(checkpoint)
    let precision = settings.precision ?? .default
    do { try precision.checkSupported() } catch { throw SettingsError("encoder.\(error)") }
    let (generator, discriminator) = try saved.makeNetworks(precision: precision)
    let input = try ImageInput.load(data)
    try input.check(fits: saved.config, of: checkpoint)
    let encoder: LatentEncoder
    switch resume {
    case .fresh:
        if FileManager.default.fileExists(atPath: output.checkpoint.path) {
            throw FileError(output.checkpoint, "exists: resume that encoder, or choose another output directory")
        }
        encoder = try LatentEncoder(generator: generator, discriminator: discriminator, settings: settings, ganCheckpoint: checkpoint.path)
    case let .from(url, iterations):
        encoder = try LatentEncoder(resuming: url, generator: generator, discriminator: discriminator, iterations: iterations)
    }
    let s = encoder.settings
    guard input.count >= s.batchSize else {
        throw FileError(input.source, "holds \(input.count) images, fewer than one batch of \(s.batchSize); lower the batch size (encoder.batchSize)")
    }
    if case let .from(url, _) = resume {
        log("resuming encoder \(url.path) at iteration \(encoder.completedIterations)/\(s.iterations), seed \(s.seed)")
    } else {
        log("training the encoder of \(checkpoint.path) on \(input.count) images, batch \(s.batchSize), \(s.iterations) iterations, "
            + "κ = \(s.kappa), seed \(s.seed); threads \(Threads.count)")
    }
    if encoder.isFinished {
        log("nothing to do: the encoder already has \(encoder.completedIterations) iterations")
        return encoder
    }
    try FileManager.default.createDirectory(at: output.directory, withIntermediateDirectories: true)
    var rows = try existingEncoderLossLog(output.lossLog, upTo: encoder.completedIterations)
    let first = encoder.completedIterations
    let progress = Records.Progress("encoder training", total: s.iterations - first, unit: "it")
    var recent: [Double] = []
    var logError: Error?
    try encoder.train(images: input.images, checkpoint: output.checkpoint) { it in
        let l = it.losses
        rows.append("\(it.iteration),\(l.total),\(l.pixel),\(l.feature)")
        recent.append(l.total)
        let images = Double((it.iteration - first) * s.batchSize)
        progress.update(it.iteration - first, detail: String(format: "loss %.4f (pixel %.4f, feature %.4f) %.1f img/s", l.total, l.pixel,
                                                            l.feature, progress.elapsed > 0 ? images / progress.elapsed : 0))
        if let written = it.checkpoint {
            // The log is rewritten with the checkpoint, so the two always agree.
            do { try Data((rows.joined(separator: "\n") + "\n").utf8).writeAtomically(to: output.lossLog) } catch { logError = logError ?? error }
            log(String(format: "iteration %d/%d: mean loss %.4f over the last %d; wrote ", it.iteration, it.iterations,
                       recent.reduce(0, +) / Double(max(recent.count, 1)), recent.count) + written.path)
            recent.removeAll()
        }
    }
    if let logError { throw logError }
    return encoder
}

/// The header plus an earlier log's rows up to `iteration` (a fresh log when there is none).
private func existingEncoderLossLog(_ url: URL, upTo iteration: Int) throws -> [String] {
    guard iteration > 0, FileManager.default.fileExists(atPath: url.path) else { return [EncoderTrainingOutput.lossHeader] }
    let lines = String(decoding: try readFile(url), as: UTF8.self).split(separator: "\n").map(String.init)
    guard lines.first == EncoderTrainingOutput.lossHeader else { throw FileError(url, "is not an encoder loss log (unexpected header)") }
    return [lines[0]] + lines.dropFirst().filter { line in
        guard let it = line.split(separator: ",").first.flatMap({ Int($0) }) else { return false }
        return it <= iteration
    }
}
