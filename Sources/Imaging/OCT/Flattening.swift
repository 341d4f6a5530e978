// Flattening: every column is shifted by whole rows so Bruch's membrane becomes
// one straight row, then the retina (with margins) is cropped. This removes the
// eye's curvature and tilt so patches compare like with like (paper §3).
// Whole-row shifts keep speckle and mask labels untouched (no interpolation);
// the flattened Bruch line is straight to within half a row.

import Foundation
import Records

/// A flattened, cropped B-scan and where the retina lies in it.
public struct FlattenedBScan: Sendable {
    public var image: BScan
    public var mask: BScanMask?
    /// ILM row per column in the flattened image (fractional).
    public var ilm: [Float]
    /// The row Bruch's membrane was moved to.
    public var bruchRow: Int
    /// Source row = flattened row + `offsets[x]` for column x.
    public var offsets: [Int]

    /// The true/segmented Bruch row of column x, expressed in flattened rows.
    public func flattenedRow(sourceRow: Float, column x: Int) -> Float { sourceRow - Float(offsets[x]) }
}

public enum OCTFlattening {
    /// Flattens `bscan` (and its mask) on `boundaries.bruch`, keeping `marginAbove`
    /// rows above the highest ILM and `marginBelow` rows below Bruch. Rows that come
    /// from outside the source image get `fill` (masks get 0).
    public static func flatten(_ bscan: BScan, mask: BScanMask?, boundaries: RetinalBoundaries,
                               marginAbove: Int, marginBelow: Int, fill: Float) -> FlattenedBScan {
        let w = bscan.width
        precondition(boundaries.width == w, "boundaries have \(boundaries.width) columns, the B-scan \(w)")
        precondition(mask == nil || (mask!.width == w && mask!.height == bscan.height), "mask and B-scan differ in size")
        let bruch = boundaries.bruch.map { Int($0.rounded()) }
        let thickness = (0..<w).map { Int((boundaries.bruch[$0] - boundaries.ilm[$0]).rounded(.up)) }
        let bruchRow = marginAbove + max(0, thickness.max() ?? 0)
        let height = bruchRow + 1 + marginBelow
        let offsets = bruch.map { $0 - bruchRow }
        var image = BScan(width: w, height: height, value: fill, spacingX: bscan.spacingX, spacingZ: bscan.spacingZ)
        var flatMask = mask.map { _ in BScanMask(width: w, height: height) }
        for x in 0..<w {
            for z in 0..<height {
                let source = z + offsets[x]
                guard source >= 0 && source < bscan.height else { continue }
                image.pixels[z * w + x] = bscan.pixels[source * w + x]
                if let mask { flatMask!.labels[z * w + x] = mask.labels[source * w + x] }
            }
        }
        let ilm = (0..<w).map { boundaries.ilm[$0] - Float(offsets[$0]) }
        return FlattenedBScan(image: image, mask: flatMask, ilm: ilm, bruchRow: bruchRow, offsets: offsets)
    }
}
