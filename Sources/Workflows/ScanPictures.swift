// The pictures of a scan: each B-scan in grey with its anomaly map as a colour
// overlay, and the en-face projection of the map (mean over the band of each
// A-scan: one band of rows per B-scan, stretched to the B-scan spacing). Pure
// functions from a VolumeMap to RGB bytes; the scan writes them as PNG.

import Foundation
import Imaging

public enum ScanPictures {
    /// An RGB picture, row-major, 3 bytes per pixel.
    public struct Picture: Equatable, Sendable {
        public var width: Int, height: Int
        public var pixels: [UInt8]
    }

    /// Map values drawn: transparent below `low`, full colour from `high` (the threshold, or above).
    public struct DisplayRange: Equatable, Sendable {
        public var low: Float, high: Float

        /// `low` half the threshold, `high` the larger of the threshold and the band's maximum
        /// (a non-finite threshold: the band's median and maximum).
        public init(threshold: Float, values: [Float]) {
            let top = values.max() ?? 1
            if threshold.isFinite {
                low = threshold / 2
                high = max(threshold, top)
            } else {
                low = values.isEmpty ? 0 : values.sorted()[values.count / 2]
                high = top
            }
            if !(high > low) { high = low + 1e-6 }
        }
    }

    /// "Hot" colour of t ∈ [0, 1]: dark red → red → yellow → white.
    static func hot(_ t: Float) -> (Float, Float, Float) {
        let v = min(1, max(0, t))
        return (min(1, 0.35 + 3 * v), min(1, max(0, 3 * v - 1)), min(1, max(0, 3 * v - 2)))
    }

    /// B-scan `b` in grey (`grayRange` → 0…255) with the map blended over it in `hot` colours.
    public static func overlay(_ m: VolumeMap, bscan b: Int, grayRange: ClosedRange<Float>, display: DisplayRange) -> Picture {
        let w = m.volume.width, h = m.volume.height, base = b * m.volume.sliceCount
        let span = max(grayRange.upperBound - grayRange.lowerBound, 1e-12)
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let g = 255 * min(1, max(0, (m.volume.voxels[base + i] - grayRange.lowerBound) / span))
            var rgb = (g, g, g)
            let v = m.map[base + i]
            if v > display.low {
                let t = (v - display.low) / (display.high - display.low), alpha = 0.25 + 0.6 * min(1, t)
                let c = hot(t)
                rgb = ((1 - alpha) * g + alpha * 255 * c.0, (1 - alpha) * g + alpha * 255 * c.1, (1 - alpha) * g + alpha * 255 * c.2)
            }
            pixels[3 * i] = UInt8(rgb.0.rounded()); pixels[3 * i + 1] = UInt8(rgb.1.rounded()); pixels[3 * i + 2] = UInt8(rgb.2.rounded())
        }
        return Picture(width: w, height: h, pixels: pixels)
    }

    /// Rows per B-scan in the en-face picture: B-scan distance over column spacing, 1…16 (1 when unknown).
    static func rowsPerBScan(_ m: VolumeMap) -> Int {
        let s = m.volume.spacing
        guard s.x > 0, s.z > 0, s.x != 1, s.z != 1 else { return 1 }
        return min(16, max(1, Int((s.z / s.x).rounded())))
    }

    /// The mean of the map over the band of every A-scan (B-scan, column), in `hot` colours
    /// stretched from the 1st to the 99th percentile of those means. The mean, not the maximum:
    /// the maximum over depth is nearly always a layer edge and paints the whole picture alike.
    public static func enFace(_ m: VolumeMap) -> Picture {
        let w = m.volume.width, h = m.volume.height, k = rowsPerBScan(m)
        var means = [Float](repeating: 0, count: w * m.volume.depth)
        for b in 0..<m.volume.depth {
            for x in 0..<w {
                var sum: Float = 0, n = 0
                for y in 0..<h where m.band[(b * h + y) * w + x] { sum += m.map[(b * h + y) * w + x]; n += 1 }
                means[b * w + x] = n == 0 ? 0 : sum / Float(n)
            }
        }
        let sorted = means.sorted()
        let lo = sorted[sorted.count / 100], hi = max(sorted[(sorted.count - 1) * 99 / 100], lo + 1e-6)
        var pixels = [UInt8](repeating: 0, count: w * m.volume.depth * k * 3)
        for b in 0..<m.volume.depth {
            for x in 0..<w {
                let c = hot((means[b * w + x] - lo) / (hi - lo))
                for r in 0..<k {
                    let i = ((b * k + r) * w + x) * 3
                    pixels[i] = UInt8((255 * c.0).rounded()); pixels[i + 1] = UInt8((255 * c.1).rounded()); pixels[i + 2] = UInt8((255 * c.2).rounded())
                }
            }
        }
        return Picture(width: w, height: m.volume.depth * k, pixels: pixels)
    }
}
