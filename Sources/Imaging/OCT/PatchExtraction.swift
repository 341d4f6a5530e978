// Random c×c patches from flattened B-scans, at positions inside the retina,
// each with its mask patch and the paper's label (1 if any pixel is annotated).

import Foundation
import Records

/// One patch: top-left corner (x column, y row) in the flattened B-scan, pixels row-major.
public struct OCTPatch: Sendable {
    public var x: Int
    public var y: Int
    public var size: Int
    public var pixels: [Float]
    /// Mask labels of the patch when the B-scan has a mask.
    public var mask: [UInt8]?
    /// 1 if any mask pixel is nonzero, 0 if none; nil without a mask.
    public var label: Int? { mask.map { $0.contains { $0 != 0 } ? 1 : 0 } }
}

public enum OCTPatchExtraction {
    /// `count` patches of `size`×`size` whose centre lies inside the retina: the
    /// centre column is uniform over the columns where a whole patch fits, the
    /// centre row uniform between that column's ILM and Bruch rows. Patches that
    /// would leave the image vertically are moved inside (flattening with margins
    /// of size/2 makes that unnecessary). Returns [] when the B-scan is narrower than a patch.
    public static func extract(from flat: FlattenedBScan, count: Int, size: Int,
                               using rng: inout SeededGenerator) -> [OCTPatch] {
        let image = flat.image
        guard count > 0, image.width >= size, image.height >= size else { return [] }
        let half = size / 2
        var patches: [OCTPatch] = []
        patches.reserveCapacity(count)
        for _ in 0..<count {
            let centreX = half + rng.index(below: image.width - size + 1)
            let top = max(0, Int(flat.ilm[centreX].rounded(.up))), bottom = max(top, flat.bruchRow)
            let centreY = top + rng.index(below: bottom - top + 1)
            let x = centreX - half
            let y = min(image.height - size, max(0, centreY - half))
            var pixels = [Float](repeating: 0, count: size * size)
            var labels: [UInt8]? = flat.mask.map { _ in [UInt8](repeating: 0, count: size * size) }
            for r in 0..<size {
                let row = (y + r) * image.width + x
                for c in 0..<size { pixels[r * size + c] = image.pixels[row + c] }
                if let mask = flat.mask { for c in 0..<size { labels![r * size + c] = mask.labels[row + c] } }
            }
            patches.append(OCTPatch(x: x, y: y, size: size, pixels: pixels, mask: labels))
        }
        return patches
    }
}
