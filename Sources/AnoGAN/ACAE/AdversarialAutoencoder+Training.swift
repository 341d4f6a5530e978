// Epochs of aCAE training over a set of normal images: a seeded shuffle, then
// one `AdversarialAutoencoder.step` per full batch, with the divergence checks
// the GAN trainer makes (a NaN loss or weight stops training with an error).

import Foundation
import NeuralNet
import Records

/// One aCAE iteration, for progress displays.
public struct ACAEIteration: Sendable {
    public var epoch: Int, epochs: Int
    public var iteration: Int, iterationsPerEpoch: Int
    public var losses: ACAEStepLosses
}

public enum ACAEError: Error, CustomStringConvertible {
    case diverged(epoch: Int, what: String)
    case tooFewImages(have: Int, batch: Int)

    public var description: String {
        switch self {
        case .diverged(let epoch, let what): return "aCAE training diverged in epoch \(epoch): \(what)"
        case .tooFewImages(let have, let batch): return "aCAE training needs at least one batch of \(batch) images, got \(have)"
        }
    }
}

extension AdversarialAutoencoder {
    /// Trains `settings.epochs − completedEpochs` epochs on `images` (N×C×S×S in [-1, 1]), or
    /// up to `settings.iterations` iterations in all when set (the last epoch may then be partial
    /// and is not counted in `completedEpochs`).
    /// The shuffle of epoch e is seeded from (settings.seed, e), so training is reproducible.
    public func train(images: Tensor, onIteration: (ACAEIteration) -> Void = { _ in }) throws {
        let n = settings.batchSize, count = images.shape[0], item = images.itemCount
        guard count >= n else { throw ACAEError.tooFewImages(have: count, batch: n) }
        let batch = Tensor(shape: [n] + Array(images.shape.dropFirst()))
        let perEpoch = count / n
        let total = settings.iterations ?? settings.epochs * perEpoch
        let epochs = (total + perEpoch - 1) / perEpoch
        var done = completedEpochs * perEpoch
        while done < total {
            let epoch = completedEpochs + 1
            var rng = SeededGenerator(seed: settings.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch))
            var order = Array(0..<count)
            order.shuffle(using: &rng)
            for i in 0..<min(perEpoch, total - done) {
                for b in 0..<n { (batch.data + b * item).update(from: images.data + order[i * n + b] * item, count: item) }
                let losses = step(real: batch)
                if ![losses.reconstruction, losses.adversarial, losses.discriminator].allSatisfy(\.isFinite) {
                    throw ACAEError.diverged(epoch: epoch, what: "a loss became non-finite at iteration \(i + 1)")
                }
                done += 1
                onIteration(ACAEIteration(epoch: epoch, epochs: epochs, iteration: i + 1,
                                          iterationsPerEpoch: perEpoch, losses: losses))
            }
            for (name, set) in [("encoder", encoder.parameters), ("decoder", decoder.parameters),
                                ("discriminator", discriminator.parameters)] where !set.values.isFinite {
                throw ACAEError.diverged(epoch: epoch, what: "\(name) weights hold NaN or Inf")
            }
            if done % perEpoch == 0 { completedEpochs = epoch } else { break }
        }
    }
}
