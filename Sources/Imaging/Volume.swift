// Volume: a 3-D grey image such as an OCT scan — a stack of B-scans — shared by
// the MetaImage reader/writer, the B-scan folder reader and OCT preprocessing.

import Foundation
import Records

/// A grey volume of `depth` slices (B-scans), each `width` × `height` pixels.
///
/// Voxel (x, y, z) is `voxels[(z * height + y) * width + x]`: x runs along a
/// B-scan's A-scans (columns), y along depth into the retina (rows), z across
/// B-scans. Values are in the file's own units (0…255 for 8-bit data, 0…65535
/// for 16-bit, anything for float data); readers do not rescale.
public struct Volume: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Number of slices (B-scans).
    public var depth: Int
    /// Voxel size along x, y, z in millimetres (1 when the source does not say).
    public var spacing: SIMD3<Double>
    /// width·height·depth values, x fastest, then y, then z.
    public var voxels: [Float]

    public init(width: Int, height: Int, depth: Int, spacing: SIMD3<Double> = .one, voxels: [Float]) {
        precondition(width >= 0 && height >= 0 && depth >= 0 && voxels.count == width * height * depth,
                     "Volume: \(voxels.count) voxels for \(width)×\(height)×\(depth)")
        self.width = width
        self.height = height
        self.depth = depth
        self.spacing = spacing
        self.voxels = voxels
    }

    /// Number of voxels in one slice.
    public var sliceCount: Int { width * height }

    /// Slice (B-scan) `z` as width·height values, row-major.
    public func slice(_ z: Int) -> ArraySlice<Float> {
        precondition(z >= 0 && z < depth, "slice \(z) of a volume with \(depth) slices")
        return voxels[z * sliceCount..<(z + 1) * sliceCount]
    }

    public subscript(x: Int, y: Int, z: Int) -> Float {
        get { voxels[(z * height + y) * width + x] }
        set { voxels[(z * height + y) * width + x] = newValue }
    }
}
