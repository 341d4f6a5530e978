// The two losses AnoGAN needs, in plain Swift (they touch each element once,
// so there is nothing for oneDNN to speed up): binary cross-entropy with
// logits (mean over the batch) and the summed L1 distance (per item).

import Records
import Foundation

public enum Loss {
    /// Mean over i of BCE(σ(logitᵢ), target) computed stably from the logits:
    /// max(x, 0) − x·t + log(1 + e^−|x|). Writes d(loss)/d(logitᵢ) = (σ(xᵢ) − t)/N into `gradient` when given.
    public static func binaryCrossEntropyWithLogits(_ logits: UnsafePointer<Float>, count n: Int, target t: Float,
                                                    gradient: UnsafeMutablePointer<Float>? = nil) -> Float {
        precondition(n > 0, "BCE over an empty batch")
        var total: Double = 0
        for i in 0..<n {
            let x = Double(logits[i])
            total += max(x, 0) - x * Double(t) + log1p(exp(-abs(x)))
            if let gradient { gradient[i] = Float((sigmoid(x) - Double(t)) / Double(n)) }
        }
        return Float(total / Double(n))
    }

    /// Tensor form of `binaryCrossEntropyWithLogits`; `gradient` (same count) receives d(loss)/d(logits).
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, target: Float, gradient: Tensor? = nil) -> Float {
        precondition(gradient == nil || gradient!.count == logits.count, "BCE gradient size")
        return binaryCrossEntropyWithLogits(logits.data, count: logits.count, target: target, gradient: gradient?.data)
    }

    /// Per item b of `items`: Σ_j |a[b,j] − c[b,j]| over `itemCount` elements.
    /// Writes `scale` · sign(a − c) into `gradient` (w.r.t. a) when given; the sign of exactly 0 is 0.
    public static func l1PerItem(_ a: UnsafePointer<Float>, _ c: UnsafePointer<Float>, items: Int, itemCount: Int,
                                 gradient: UnsafeMutablePointer<Float>? = nil, scale: Float = 1, into losses: UnsafeMutablePointer<Float>) {
        for b in 0..<items {
            var sum: Float = 0
            let base = b * itemCount
            for j in base..<(base + itemCount) {
                let d = a[j] - c[j]
                sum += abs(d)
                if let gradient { gradient[j] = d > 0 ? scale : (d < 0 ? -scale : 0) }
            }
            losses[b] = sum
        }
    }

    /// Σ|a − c| over all elements of two equally shaped tensors; `gradient` receives sign(a − c) (w.r.t. a).
    public static func l1(_ a: Tensor, _ c: Tensor, gradient: Tensor? = nil) -> Float {
        precondition(a.count == c.count && (gradient == nil || gradient!.count == a.count), "L1 of \(a.shape) and \(c.shape)")
        var loss: Float = 0
        l1PerItem(a.data, c.data, items: 1, itemCount: a.count, gradient: gradient?.data, into: &loss)
        return loss
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    /// σ(x) in Float, stable for large |x|.
    public static func sigmoid(_ x: Float) -> Float { Float(sigmoid(Double(x))) }
}
