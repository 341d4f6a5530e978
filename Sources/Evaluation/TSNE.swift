// Exact t-SNE (van der Maaten & Hinton 2008) for Fig. 2(b): a 2-D map of D's
// last-convolution features. O(N²) memory and time per iteration — meant for
// a few thousand points in a release build.

import Foundation
import Records

public struct TSNESettings: Codable, Equatable, Sendable {
    /// Effective number of neighbours per point; must be < N.
    public var perplexity: Double = 30
    public var iterations: Int = 1000
    /// P is multiplied by this for the first `exaggerationIterations`.
    public var earlyExaggeration: Double = 12
    public var exaggerationIterations: Int = 250
    /// nil: max(N / earlyExaggeration / 4, 50) (Belkina et al. 2019, openTSNE/sklearn "auto").
    public var learningRate: Double? = nil
    /// Momentum before / after `exaggerationIterations`.
    public var initialMomentum: Double = 0.5
    public var finalMomentum: Double = 0.8
    public var seed: UInt64 = 0

    public init() {}
}

public enum TSNE {
    /// Embeds `points` (N rows of equal length D, finite) into 2-D.
    /// Returns N×2 coordinates, row-major [x0, y0, x1, y1, …]. Deterministic for a seed.
    public static func embed(_ points: [[Float]], settings: TSNESettings = TSNESettings()) throws -> [Double] {
        let n = points.count
        guard n >= 3 else { throw EvaluationError("t-SNE needs at least 3 points, got \(n)") }
        let d = points[0].count
        guard d > 0, points.allSatisfy({ $0.count == d }) else { throw EvaluationError("t-SNE points must all have the same, non-zero length") }
        guard points.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { throw EvaluationError("t-SNE input contains NaN or infinity") }
        guard settings.perplexity > 0, settings.perplexity < Double(n) else {
            throw EvaluationError("perplexity \(settings.perplexity) must be in (0, \(n)) for \(n) points")
        }
        let p = jointProbabilities(squaredDistances(points), n: n, perplexity: settings.perplexity)
        return optimize(p, n: n, settings: settings)
    }

    /// N×N squared Euclidean distances, in Double (features can be large and nearly equal).
    static func squaredDistances(_ x: [[Float]]) -> [Double] {
        let n = x.count
        var dist = [Double](repeating: 0, count: n * n)
        let norms = x.map { row in row.reduce(0) { $0 + Double($1) * Double($1) } }
        dist.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: n) { i in
                x[i].withUnsafeBufferPointer { a in
                    for j in (i + 1)..<max(n, i + 1) {
                        let dot = x[j].withUnsafeBufferPointer { b -> Double in
                            var s: Float = 0, acc = 0.0
                            // Float partial sums in blocks keep the loop vectorisable and the total accurate.
                            var k = 0
                            while k < a.count {
                                let end = min(k + 256, a.count)
                                s = 0
                                for t in k..<end { s += a[t] * b[t] }
                                acc += Double(s)
                                k = end
                            }
                            return acc
                        }
                        let v = max(norms[i] + norms[j] - 2 * dot, 0)
                        out[i * n + j] = v
                        out[j * n + i] = v
                    }
                }
            }
        }
        return dist
    }

    /// Symmetric P = (P_j|i + P_i|j) / 2N.
    static func jointProbabilities(_ dist: [Double], n: Int, perplexity: Double) -> [Double] {
        let cond = conditionalProbabilities(dist, n: n, perplexity: perplexity)
        var p = [Double](repeating: 0, count: n * n)
        let scale = 1 / (2 * Double(n))
        for i in 0..<n {
            for j in 0..<n { p[i * n + j] = max((cond[i * n + j] + cond[j * n + i]) * scale, 1e-12) }
            p[i * n + i] = 0
        }
        return p
    }

    /// Rows P_j|i, each calibrated by binary search on the Gaussian precision β
    /// so that its entropy is log(perplexity) (natural log).
    static func conditionalProbabilities(_ dist: [Double], n: Int, perplexity: Double) -> [Double] {
        var cond = [Double](repeating: 0, count: n * n)
        let target = log(perplexity)
        var row = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var beta = 1.0, lo = 0.0, hi = Double.infinity
            // Distances relative to the nearest neighbour: exp() stays in range.
            var minDist = Double.infinity
            for j in 0..<n where j != i { minDist = min(minDist, dist[i * n + j]) }
            for _ in 0..<100 {
                var sum = 0.0, weighted = 0.0
                for j in 0..<n where j != i {
                    let dj = dist[i * n + j] - minDist
                    let e = exp(-beta * dj)
                    row[j] = e
                    sum += e
                    weighted += e * dj
                }
                row[i] = 0
                // H = log Σ + β·Σ d·e / Σ
                let entropy = log(sum) + beta * weighted / sum
                for j in 0..<n { row[j] /= sum }
                let diff = entropy - target
                if abs(diff) < 1e-5 { break }
                if diff > 0 { lo = beta; beta = hi.isInfinite ? beta * 2 : (beta + hi) / 2 }
                else { hi = beta; beta = (beta + lo) / 2 }
            }
            for j in 0..<n { cond[i * n + j] = row[j] }
        }
        return cond
    }

    /// Gradient descent with momentum and per-coordinate gains (delta-bar-delta),
    /// as in the reference implementation.
    static func optimize(_ p: [Double], n: Int, settings: TSNESettings) -> [Double] {
        var rng = SeededGenerator(seed: settings.seed)
        var y = (0..<(2 * n)).map { _ in Double(rng.normal(mean: 0, std: 1e-4)) }
        var velocity = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var gradient = [Double](repeating: 0, count: 2 * n)
        var q = [Double](repeating: 0, count: n * n)   // unnormalised Student-t kernel
        let rate = settings.learningRate ?? max(Double(n) / settings.earlyExaggeration / 4, 50)
        for iteration in 0..<settings.iterations {
            let exaggeration = iteration < settings.exaggerationIterations ? settings.earlyExaggeration : 1
            let momentum = iteration < settings.exaggerationIterations ? settings.initialMomentum : settings.finalMomentum
            // Rows are independent: each thread fills whole rows of q (the diagonal stays 0,
            // and p's diagonal is 0, so j = i adds nothing) and sums them in a fixed order,
            // so the result does not depend on scheduling.
            var rowSums = [Double](repeating: 0, count: n)
            y.withUnsafeBufferPointer { y in
                q.withUnsafeMutableBufferPointer { q in
                    rowSums.withUnsafeMutableBufferPointer { sums in
                        let (q, sums) = (q, sums)
                        DispatchQueue.concurrentPerform(iterations: n) { i in
                            var sum = 0.0
                            let (yx, yy) = (y[2 * i], y[2 * i + 1])
                            for j in 0..<n where j != i {
                                let dx = yx - y[2 * j], dy = yy - y[2 * j + 1]
                                let k = 1 / (1 + dx * dx + dy * dy)
                                q[i * n + j] = k
                                sum += k
                            }
                            sums[i] = sum
                        }
                    }
                }
            }
            let z = rowSums.reduce(0, +)
            // dC/dy_i = 4 Σ_j (α·p_ij − q_ij/Z) · k_ij · (y_i − y_j)
            y.withUnsafeBufferPointer { y in
                p.withUnsafeBufferPointer { p in
                    q.withUnsafeBufferPointer { q in
                        gradient.withUnsafeMutableBufferPointer { g in
                            let g = g
                            DispatchQueue.concurrentPerform(iterations: n) { i in
                                var gx = 0.0, gy = 0.0
                                let (yx, yy) = (y[2 * i], y[2 * i + 1])
                                for j in 0..<n {
                                    let k = q[i * n + j]
                                    let m = (exaggeration * p[i * n + j] - k / z) * k
                                    gx += m * (yx - y[2 * j]); gy += m * (yy - y[2 * j + 1])
                                }
                                g[2 * i] = 4 * gx; g[2 * i + 1] = 4 * gy
                            }
                        }
                    }
                }
            }
            for c in 0..<(2 * n) {
                // Grow the step where the gradient keeps its direction, shrink it where it flips.
                gains[c] = (gradient[c] > 0) != (velocity[c] > 0) ? gains[c] + 0.2 : max(gains[c] * 0.8, 0.01)
                velocity[c] = momentum * velocity[c] - rate * gains[c] * gradient[c]
                y[c] += velocity[c]
            }
            // Keep the map centred (the cost is translation invariant).
            var mx = 0.0, my = 0.0
            for i in 0..<n { mx += y[2 * i]; my += y[2 * i + 1] }
            mx /= Double(n); my /= Double(n)
            for i in 0..<n { y[2 * i] -= mx; y[2 * i + 1] -= my }
        }
        return y
    }
}
