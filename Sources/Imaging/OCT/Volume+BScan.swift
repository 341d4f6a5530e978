// Conversions between the shared `Volume` (MetaImage, B-scan folders; spacing
// in mm) and the OCT algorithms' `BScan` / `BScanMask` (spacing in µm).

import Foundation
import Records

extension Volume {
    /// B-scan `index` (slice z) with the volume's x and depth spacing in µm.
    /// A spacing of exactly 1 mm is the readers' "not stated" and becomes unknown (0).
    public func bscan(_ index: Int) -> BScan {
        func micrometres(_ mm: Double) -> Double { mm == 1 ? 0 : mm * 1000 }
        return BScan(width: width, height: height, pixels: Array(slice(index)),
                     spacingX: micrometres(spacing.x), spacingZ: micrometres(spacing.y))
    }

    /// Slice `index` as an annotation mask (values rounded, clamped to 0…255).
    public func mask(_ index: Int) -> BScanMask {
        BScanMask(width: width, height: height, labels: slice(index).map { UInt8(max(0, min(255, $0.rounded()))) })
    }

    /// A volume from equally sized B-scans; `spacingY` (µm) between B-scans, 0 = unknown.
    public init(bscans: [BScan], spacingY: Double = 0) {
        precondition(!bscans.isEmpty && bscans.allSatisfy { $0.width == bscans[0].width && $0.height == bscans[0].height },
                     "B-scans of a volume must share one size")
        let first = bscans[0]
        func millimetres(_ um: Double) -> Double { um > 0 ? um / 1000 : 1 }
        self.init(width: first.width, height: first.height, depth: bscans.count,
                  spacing: SIMD3(millimetres(first.spacingX), millimetres(first.spacingZ), millimetres(spacingY)),
                  voxels: bscans.flatMap(\.pixels))
    }
}
