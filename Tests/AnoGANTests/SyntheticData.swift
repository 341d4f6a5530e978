// Tiny synthetic image sets for the model tests: "normal" images are a bright
// vertical bar at a random column on a dark background; "anomalous" ones are a
// bright square blob. Small enough to train a width-8, 16×16 GAN in a test.

import Foundation
import NeuralNet
import Records
@testable import AnoGAN

enum Synthetic {
    static let size = 16

    /// N×1×16×16 in [-1, 1]: background -1 with a little noise, a 2-pixel-wide bar at +1.
    /// `columns`: where the bar's left edge may be (default: anywhere with a 2-pixel margin);
    /// `brightness`: the bar's intensity range.
    static func bars(_ n: Int, size: Int = size, columns: Range<Int>? = nil, brightness: ClosedRange<Float> = 1...1,
                     using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: [n, 1, size, size])
        let range = columns ?? 2..<(size - 3)
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

    /// Per-image summary statistics a generator must learn from the bars: mean intensity,
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

/// A GAN trained once per test run on bars at a fixed column with random brightness, for
/// the tests that need a trained model. Settings chosen so a few hundred steps suffice:
/// width 16, batch 32, lr 1e-3 (5× the paper's 2e-4), 19 epochs of 16 steps. At this size
/// a GAN trained this briefly collapses on bars at random columns, hence the fixed column.
enum TrainedBars {
    static let column = 7..<8
    static let brightness: ClosedRange<Float> = 0.3...1

    struct Model {
        let trainer: Trainer
        let data: Tensor
        /// Synthetic.statistics of the fixed-noise samples before training.
        let initialSampleStatistics: [Double]
    }

    static let shared: Model = {
        Threads.set(1)
        var rng = SeededGenerator(seed: 7)
        let data = Synthetic.bars(512, columns: column, brightness: brightness, using: &rng)
        var settings = TrainingSettings(epochs: 19, batchSize: 32, seed: 3, sampleCount: 64)
        settings.adam.learningRate = 1e-3
        var before: [Double] = []
        let trainer = Synthetic.trainedGAN(on: data, settings: settings) { before = Synthetic.statistics($0.samples()) }.trainer
        return Model(trainer: trainer, data: data, initialSampleStatistics: before)
    }()
}

/// A GAN trained once per test run on `Synthetic.spots`, which, unlike TrainedBars, ends
/// healthy: samples as diverse as the data, reconstructions well below the mean image's error.
/// Width 16, batch 32, lr 1e-3, 60 epochs of the 486 training images (900 steps), a moving
/// average of G (0.99); 5 % held out. This seed ends at D(x) ≈ D(G(z)) ≈ 0.5, diversity 1.03
/// of the data's, held-out reconstruction 0.030 per pixel against 0.140 for the mean image.
/// Seed 3 without the average was healthy too but mid-oscillation (D(x) 0.78, reconstruction
/// 0.110); 40 epochs were not enough (0.20); the bars recipe collapses on spots as on bars.
enum TrainedSpots {
    struct Model {
        let trainer: Trainer
        let data: Tensor
        /// One entry per training step, as `Trainer.run` collects them for the health check.
        let lossHistory: [GANStepLosses]
    }

    static let shared: Model = {
        Threads.set(1)
        var rng = SeededGenerator(seed: 7)
        let data = Synthetic.spots(512, using: &rng)
        var settings = TrainingSettings(epochs: 60, batchSize: 32, seed: 4, sampleCount: 64, validationFraction: 0.05)
        settings.adam.learningRate = 1e-3
        settings.generatorAverageDecay = 0.99
        let (trainer, history) = Synthetic.trainedGAN(on: data, settings: settings)
        return Model(trainer: trainer, data: data, lossHistory: history)
    }()
}
