// Lateral resampling of B-scans to a fixed column spacing (the paper: 22 µm,
// ~256–273 columns for a 6 mm scan of 512 A-scans), so patches from scans of
// different densities show the same physical width.

import Foundation
import Records

public enum OCTResampling {
    /// Columns after resampling `width` columns from `spacing` to `target` µm:
    /// output column j sits at input column j·target/spacing, and the last one
    /// must not pass the last input column (no extrapolation).
    public static func columnCount(width: Int, spacing: Double, target: Double) -> Int {
        precondition(width > 0 && spacing > 0 && target > 0, "resampling needs positive width and spacings")
        return Int((Double(width - 1) * spacing / target + 1e-9).rounded(.down)) + 1
    }

    /// Input column (fractional) that output column `j` samples.
    @inlinable static func source(_ j: Int, spacing: Double, target: Double) -> Double { Double(j) * target / spacing }

    /// Input columns per output column of `resample(_:targetSpacingX:)`: target / spacing,
    /// or 1 when the B-scan is left unchanged (unknown spacing, or already at the target).
    public static func columnScale(spacing: Double, target: Double) -> Double {
        spacing > 0 && abs(spacing - target) > 1e-9 ? target / spacing : 1
    }

    /// The B-scan with columns `target` µm apart, by linear interpolation along x
    /// (exact for gray values linear in x). Unknown spacing (0) returns it unchanged.
    public static func resample(_ b: BScan, targetSpacingX target: Double) -> BScan {
        guard columnScale(spacing: b.spacingX, target: target) != 1 else { return b }
        let w = columnCount(width: b.width, spacing: b.spacingX, target: target)
        var out = BScan(width: w, height: b.height, spacingX: target, spacingZ: b.spacingZ)
        for j in 0..<w {
            let u = source(j, spacing: b.spacingX, target: target)
            let i0 = min(b.width - 1, Int(u)), i1 = min(b.width - 1, i0 + 1)
            let t = Float(u - Double(i0))
            for z in 0..<b.height { out.pixels[z * w + j] = (1 - t) * b.pixels[z * b.width + i0] + t * b.pixels[z * b.width + i1] }
        }
        return out
    }

    /// A mask resampled like its B-scan, by nearest neighbour (labels are not averaged).
    public static func resample(_ m: BScanMask, spacingX: Double, targetSpacingX target: Double) -> BScanMask {
        guard columnScale(spacing: spacingX, target: target) != 1 else { return m }
        let w = columnCount(width: m.width, spacing: spacingX, target: target)
        var out = BScanMask(width: w, height: m.height)
        for j in 0..<w {
            let i = min(m.width - 1, Int(source(j, spacing: spacingX, target: target).rounded()))
            for z in 0..<m.height { out.labels[z * w + j] = m.labels[z * m.width + i] }
        }
        return out
    }

    /// Boundaries (one row per column) resampled like their B-scan, linearly.
    public static func resample(_ r: RetinalBoundaries, spacingX: Double, targetSpacingX target: Double) -> RetinalBoundaries {
        guard columnScale(spacing: spacingX, target: target) != 1 else { return r }
        let w = columnCount(width: r.width, spacing: spacingX, target: target)
        func line(_ v: [Float]) -> [Float] {
            (0..<w).map { j in
                let u = source(j, spacing: spacingX, target: target)
                let i0 = min(v.count - 1, Int(u)), i1 = min(v.count - 1, i0 + 1)
                let t = Float(u - Double(i0))
                return (1 - t) * v[i0] + t * v[i1]
            }
        }
        return RetinalBoundaries(ilm: line(r.ilm), bruch: line(r.bruch))
    }
}
