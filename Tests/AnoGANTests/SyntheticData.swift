// Tiny synthetic image sets for the model tests: "normal" images are a bright
// vertical bar at a random column on a dark background; "anomalous" ones are a
// bright square blob. Small enough to train a width-8, 16×16 GAN in a test.

import NeuralNet
@testable import AnoGAN

enum Synthetic {
    static let size = 16

    /// N×1×16×16 in [-1, 1]: background -1 with a little noise, a 2-pixel-wide bar at +1.
    static func bars(_ n: Int, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: [n, 1, size, size])
        for i in 0..<n {
            let column = 2 + rng.index(below: size - 5)
            for y in 0..<size {
                for x in 0..<size {
                    let onBar = x == column || x == column + 1
                    t[i, 0, y, x] = onBar ? 1 : -1 + 0.05 * rng.uniform()
                }
            }
        }
        return t
    }

    /// N×1×16×16: the same background with a bright 6×6 square instead of a bar.
    static func blobs(_ n: Int, using rng: inout SeededGenerator) -> Tensor {
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

    /// Probability that a random anomalous score exceeds a random normal one (ties ½):
    /// the AUC by plain pairwise counting.
    static func pairwiseAUC(anomalous: [Double], normal: [Double]) -> Double {
        var wins = 0.0
        for a in anomalous { for n in normal { wins += a > n ? 1 : (a == n ? 0.5 : 0) } }
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
