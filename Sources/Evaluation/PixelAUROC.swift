// Pixel-level detection: the AUROC of residual maps |x − G(z_Γ)| against
// annotation masks, pooled over every pixel of every image.

import Foundation

extension AUC {
    /// AUROC of `residuals` (any layout, e.g. N×1×S×S flattened) against `masks`
    /// of the same length (nonzero = annotated anomalous pixel). Memory: one
    /// Float per pixel beyond the inputs; one sort of each class.
    public static func pixels(residuals: UnsafeBufferPointer<Float>, masks: UnsafeBufferPointer<UInt8>) throws -> Double {
        guard residuals.count == masks.count else {
            throw EvaluationError("\(residuals.count) residual pixels but \(masks.count) mask pixels")
        }
        let positives = masks.lazy.filter { $0 != 0 }.count
        guard positives > 0 else { throw EvaluationError("no annotated pixels: pixel AUROC undefined") }
        guard positives < masks.count else { throw EvaluationError("every pixel is annotated: pixel AUROC undefined") }
        var pos = [Float](), neg = [Float]()
        pos.reserveCapacity(positives)
        neg.reserveCapacity(masks.count - positives)
        for i in 0..<residuals.count {
            let v = residuals[i]
            guard v.isFinite else { throw EvaluationError("residual pixel \(i) is \(v); cannot be ranked") }
            if masks[i] != 0 { pos.append(v) } else { neg.append(v) }
        }
        pos.sort(); neg.sort()
        return sorted(positives: pos, negatives: neg)
    }

    /// Array convenience for `pixels(residuals:masks:)`.
    public static func pixels(residuals: [Float], masks: [UInt8]) throws -> Double {
        try residuals.withUnsafeBufferPointer { r in try masks.withUnsafeBufferPointer { m in try pixels(residuals: r, masks: m) } }
    }
}
