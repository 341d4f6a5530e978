// Pixel-level detection: the AUROC of residual maps |x − G(z_Γ)| against
// annotation masks, pooled over every pixel of every image.

import Foundation
import Records

/// Collects residual pixels image by image, split by annotation, then sorts each
/// class once. Memory: one Float per pixel (33 M pixels of 8192 64×64 patches
/// take 134 MB), no copy of the whole residual volume.
public struct PixelAUROC {
    private var annotated = [Float]()
    private var clean = [Float]()

    public init(expectedPixels: Int = 0) {
        clean.reserveCapacity(expectedPixels)
    }

    /// Adds one image's residual pixels and mask pixels (nonzero = annotated), same length.
    public mutating func add(residual: UnsafeBufferPointer<Float>, mask: UnsafeBufferPointer<Float>) throws {
        guard residual.count == mask.count else {
            throw EvaluationError("\(residual.count) residual pixels but \(mask.count) mask pixels")
        }
        for i in 0..<residual.count {
            let v = residual[i]
            guard v.isFinite else { throw EvaluationError("residual pixel \(annotated.count + clean.count + i) is \(v); cannot be ranked") }
            if mask[i] != 0 { annotated.append(v) } else { clean.append(v) }
        }
    }

    /// The AUROC over every pixel added so far (annotated pixels are the positives).
    public mutating func auroc() throws -> Double {
        guard !annotated.isEmpty else { throw EvaluationError("no annotated pixels: pixel AUROC undefined") }
        guard !clean.isEmpty else { throw EvaluationError("every pixel is annotated: pixel AUROC undefined") }
        annotated.sort(); clean.sort()
        return AUC.sorted(positives: annotated, negatives: clean)
    }
}

extension AUC {
    /// AUROC of `residuals` against `masks` of the same length and layout (nonzero = annotated).
    public static func pixels(residuals: [Float], masks: [Float]) throws -> Double {
        var p = PixelAUROC()
        try residuals.withUnsafeBufferPointer { r in try masks.withUnsafeBufferPointer { m in try p.add(residual: r, mask: m) } }
        return try p.auroc()
    }
}
