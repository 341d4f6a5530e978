// Tiny synthetic image sets for the model tests: "normal" images are a bright
// vertical bar or a soft round spot on a dark background; "anomalous" ones are a
// bright square blob. Small enough to train a width-16, 16×16 GAN in a test.

import Foundation
import NeuralNet
import Records
@testable import AnoGAN

enum Synthetic {
    static let size = 16

    /// N×1×16×16 in [-1, 1]: background -1 with a little noise, a 2-pixel-wide bar at +1 whose
    /// left edge may be anywhere with a 2-pixel margin; `brightness`: the bar's intensity range.
    static func bars(_ n: Int, size: Int = size, brightness: ClosedRange<Float> = 1...1,
                     using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: [n, 1, size, size])
        let range = 2..<(size - 3)
        for i in 0..<n {
            let column = range.lowerBound + rng.index(below: range.count)
            let level = rng.uniform(brightness.lowerBound, brightness.upperBound)
            for y in 0..<size {
                for x in 0..<size {
                    let onBar = x == column || x == column + 1
                    t[i, 0, y, x] = onBar ? level : -1 + 0.05 * rng.uniform()
                }
            }
        }
        return t
    }

    /// N×1×16×16: the same background with a bright 6×6 square instead of a bar.
    static func blobs(_ n: Int, size: Int = size, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: [n, 1, size, size])
        for i in 0..<n {
            let top = 2 + rng.index(below: size - 9), left = 2 + rng.index(below: size - 9)
            for y in 0..<size {
                for x in 0..<size {
                    let onBlob = (top..<top + 6).contains(y) && (left..<left + 6).contains(x)
                    t[i, 0, y, x] = onBlob ? 1 : -1 + 0.05 * rng.uniform()
                }
            }
        }
        return t
    }

    /// N×1×16×16: a soft round spot, exp(−r²/8) above a -1 background, centred anywhere in
    /// the middle 6×6 pixels, with a peak of 0.4…1. Smooth and two-dimensional in position,
    /// it is what a width-16 GAN learns within a test's budget (bars collapse; see TrainedSpots).
    static func spots(_ n: Int, size: Int = size, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: [n, 1, size, size])
        let middle = Float(size) / 2
        for i in 0..<n {
            let cy = rng.uniform(middle - 3, middle + 3), cx = rng.uniform(middle - 3, middle + 3)
            let peak = rng.uniform(0.4, 1)
            for y in 0..<size {
                for x in 0..<size {
                    let dy = Float(y) - cy, dx = Float(x) - cx
                    t[i, 0, y, x] = -1 + (1 + peak) * Foundation.exp(-(dy * dy + dx * dx) / 8)
                }
            }
        }
        return t
    }

    /// Stacks two image sets along the batch dimension.
    static func concatenate(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Tensor(shape: [a.shape[0] + b.shape[0]] + Array(a.shape.dropFirst()))
        out.data.update(from: a.data, count: a.count)
        (out.data + a.count).update(from: b.data, count: b.count)
        return out
    }

    /// A small model configuration for tests.
    static func config(width: Int = 8, imageSize: Int = 16) -> DCGANConfig {
        var c = DCGANConfig.paper
        c.width = width
        c.imageSize = imageSize
        return c
    }

    /// A G and D with seeded random DCGAN initialisation (untrained), width 4, 16×16, whose
    /// BatchNorm running statistics come from a few training-mode passes, so that G's output
    /// varies with z in inference mode as it does after training.
    static func networks(seed: UInt64 = 9, width: Int = 4) -> (Generator, Discriminator) {
        let config = Synthetic.config(width: width)
        let g = Generator(config: config), d = Discriminator(config: config)
        var rng = SeededGenerator(seed: seed)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        for _ in 0..<30 {
            let images = g.forward(Tensor.uniform(shape: [16, 100], low: -1, high: 1, using: &rng), training: true)
            _ = d.forward(images, training: true)
        }
        return (g, d)
    }

    /// AUC of scores where higher means anomalous, as the plain pairwise count
    /// (Mann–Whitney U / (n₊·n₋), ties count ½).
    static func auc(anomalous: [Double], normal: [Double]) throws -> Double {
        var wins = 0.0
        for a in anomalous { for b in normal { wins += a > b ? 1 : (a == b ? 0.5 : 0) } }
        return wins / Double(anomalous.count * normal.count)
    }

    /// Mean over all pairs of images of their mean absolute pixel difference: how diverse a set is.
    /// The measure of the health check's `meanPairwiseL1`, written again on purpose: TrainedSpots
    /// chooses its GAN with it, and that choice must not rest on the code the tests check.
    static func diversity(_ images: Tensor) -> Double {
        let n = images.shape[0], m = images.itemCount
        var sum = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                var d = 0.0
                for k in 0..<m { d += Double(abs(images[i * m + k] - images[j * m + k])) }
                sum += d / Double(m)
            }
        }
        return sum / Double(n * (n - 1) / 2)
    }

    /// Per-image summary statistics a generator must learn from bars or spots: mean intensity,
    /// fraction of bright pixels, and how column-like the bright pixels are (the mean
    /// over images of the largest column mean).
    static func statistics(_ images: Tensor) -> [Double] {
        let n = images.shape[0], s = images.shape[2]
        var mean = 0.0, bright = 0.0, columnness = 0.0
        for i in 0..<n {
            var best = -Double.infinity
            for x in 0..<s {
                var column = 0.0
                for y in 0..<s {
                    let v = Double(images[i, 0, y, x])
                    mean += v
                    if v > 0 { bright += 1 }
                    column += v
                }
                best = max(best, column / Double(s))
            }
            columnness += best
        }
        let pixels = Double(n * s * s)
        return [mean / pixels, bright / pixels, columnness / Double(n)]
    }
}

extension Synthetic {
    /// A width-16 GAN (16×16) trained on `data` to the end of `settings`' budget; `beforeTraining`
    /// sees the trainer first. Returns it with one loss entry per step (what `Trainer.run` gives the health check).
    static func trainedGAN(on data: Tensor, settings: TrainingSettings,
                           beforeTraining: (Trainer) -> Void = { _ in }) -> (trainer: Trainer, lossHistory: [GANStepLosses]) {
        let trainer = try! Trainer(config: config(width: 16), settings: settings, images: data)
        beforeTraining(trainer)
        var history: [GANStepLosses] = []
        while !trainer.isFinished { _ = try! trainer.trainEpoch { history.append($0.losses) } }
        return (trainer, history)
    }
}

/// A GAN trained once per test run on `Synthetic.spots`, for the tests that need a trained model:
/// width 16, batch 32, lr 1e-3 (5× the paper's 2e-4), 60 epochs of the 486 training images
/// (900 steps), a moving average of G (0.99); 5 % held out.
///
/// A GAN this small collapses on some seeds, and a kernel change that only reorders float sums
/// trains another GAN of the same recipe, as another seed does. Over training seeds 1–8 three of
/// eight ended collapsed or mid-oscillation (the health check's diversity 0.19–0.68 of the data's,
/// held-out reconstructions worse than the mean image); 120 epochs rescued two of them and not the
/// third, one-sided label smoothing (0.9) left two of eight collapsed, lr 5e-4 collapsed more.
/// So the model is the first of `seeds` whose samples are 0.8–1.25 as diverse as the data by
/// `Synthetic.diversity` (not by the health check under test): 0.87–0.95 on fourteen healthy
/// GANs of this and nearby recipes, 0.07–0.20 on five collapsed ones, 0.59 for seed 3 here. The
/// tests' bounds were set over those healthy GANs, so they hold for any healthy GAN of the recipe.
enum TrainedSpots {
    struct Model {
        let trainer: Trainer
        let data: Tensor
        /// One entry per training step, as `Trainer.run` collects them for the health check.
        let lossHistory: [GANStepLosses]
        /// Synthetic.statistics of the fixed-noise samples before training.
        let initialSampleStatistics: [Double]
    }

    /// Seeds that trained healthy in the sweep; 4 has been the tests' GAN since the spots were introduced.
    static let seeds: [UInt64] = [4, 1, 2, 6, 7]
    static let healthyDiversity = 0.8...1.25

    static let shared: Model = {
        Threads.set(1)
        var rng = SeededGenerator(seed: 7)
        let data = Synthetic.spots(512, using: &rng)
        let dataDiversity = Synthetic.diversity(data.items(0..<64))
        var model: Model!
        for seed in seeds {
            var settings = TrainingSettings(epochs: 60, batchSize: 32, seed: seed, sampleCount: 64, validationFraction: 0.05)
            settings.adam.learningRate = 1e-3
            settings.generatorAverageDecay = 0.99
            var before: [Double] = []
            let (trainer, history) = Synthetic.trainedGAN(on: data, settings: settings) { before = Synthetic.statistics($0.samples()) }
            model = Model(trainer: trainer, data: data, lossHistory: history, initialSampleStatistics: before)
            let ratio = Synthetic.diversity(trainer.samples()) / dataDiversity
            if healthyDiversity.contains(ratio) { break }
            print("TrainedSpots: seed \(seed) collapsed (samples \(ratio) as diverse as the data); training the next seed")
        }
        return model
    }()
}
