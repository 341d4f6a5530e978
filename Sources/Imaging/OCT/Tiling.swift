// Whole B-scans as overlapping patches, and back: the retina band of a
// prepared (resampled, flattened) B-scan is tiled with c×c patches on a regular
// grid `stride` apart, with a last tile flush with the band's end so every band
// pixel is covered; per-pixel values of the tiles (residuals) are averaged where
// tiles overlap (TileAccumulator) and carried back into the original B-scan
// through its BScanGeometry (the inverse of the mapping patch sets store).

import Foundation
import Records

public enum OCTTiling {
    /// Starts of `size`-long tiles `stride` apart that cover `range` (inclusive), inside
    /// 0..<extent: the first at the range's start (moved in when a tile would leave the
    /// extent), then every `stride`, and a last one flush with the range's end. Needs
    /// stride ≤ size (else gaps) and size ≤ extent.
    public static func starts(covering range: ClosedRange<Int>, size: Int, stride: Int, extent: Int) -> [Int] {
        precondition(size >= 1 && stride >= 1 && stride <= size && size <= extent, "tiles of \(size) every \(stride) in \(extent)")
        let last = extent - size
        let first = min(max(0, range.lowerBound), last)
        let end = min(max(first, range.upperBound - size + 1), last)
        var starts: [Int] = []
        var s = first
        while s < end { starts.append(s); s += stride }
        starts.append(end)
        return starts
    }

    /// Rows of the retina band in column x of a flattened B-scan: from the ILM's row
    /// (rounded) down to Bruch's row, clipped to the image.
    public static func bandRows(of flat: FlattenedBScan, column x: Int) -> ClosedRange<Int> {
        let top = min(flat.bruchRow, max(0, Int(flat.ilm[x].rounded())))
        return top...min(flat.bruchRow, flat.image.height - 1)
    }

    /// The band as an H×W row-major mask of the flattened B-scan (1 inside).
    public static func bandMask(of flat: FlattenedBScan) -> [Float] {
        let w = flat.image.width
        var band = [Float](repeating: 0, count: w * flat.image.height)
        for x in 0..<w { for r in bandRows(of: flat, column: x) { band[r * w + x] = 1 } }
        return band
    }

    /// Top-left corners (x, y) of `size`×`size` tiles covering every band pixel: a grid over
    /// the band's bounding rows and all columns, without the tiles that hold no band pixel.
    /// Ordered by y, then x. Needs the B-scan to be at least `size` wide and high.
    public static func tiles(of flat: FlattenedBScan, size: Int, stride: Int) -> [(x: Int, y: Int)] {
        let w = flat.image.width, h = flat.image.height
        precondition(w >= size && h >= size, "a \(h)×\(w) B-scan is smaller than a \(size)² tile")
        let bands = (0..<w).map { bandRows(of: flat, column: $0) }
        let top = bands.map(\.lowerBound).min()!, bottom = bands.map(\.upperBound).max()!
        let xs = starts(covering: 0...(w - 1), size: size, stride: stride, extent: w)
        let ys = starts(covering: top...bottom, size: size, stride: stride, extent: h)
        var tiles: [(x: Int, y: Int)] = []
        for y in ys {
            for x in xs where (x..<(x + size)).contains(where: { bands[$0].overlaps(y...(y + size - 1)) }) {
                tiles.append((x, y))
            }
        }
        return tiles
    }

    /// The tiles' pixels (and mask patches, when the B-scan has a mask), like OCTPatchExtraction's patches.
    public static func patches(of flat: FlattenedBScan, at tiles: [(x: Int, y: Int)], size: Int) -> [OCTPatch] {
        let image = flat.image
        return tiles.map { t in
            var pixels = [Float](repeating: 0, count: size * size)
            var labels: [UInt8]? = flat.mask.map { _ in [UInt8](repeating: 0, count: size * size) }
            for r in 0..<size {
                let row = (t.y + r) * image.width + t.x
                for c in 0..<size { pixels[r * size + c] = image.pixels[row + c] }
                if let mask = flat.mask { for c in 0..<size { labels![r * size + c] = mask.labels[row + c] } }
            }
            return OCTPatch(x: t.x, y: t.y, size: size, pixels: pixels, mask: labels)
        }
    }
}

/// Per-pixel sums and counts of overlapping tiles over one prepared B-scan; `mean` is the
/// stitched image (0 where no tile fell).
public struct TileAccumulator: Sendable {
    public let width: Int
    public let height: Int
    private var sum: [Double]
    private var count: [Int32]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        sum = [Double](repeating: 0, count: width * height)
        count = [Int32](repeating: 0, count: width * height)
    }

    /// Adds a `size`×`size` row-major tile with its top-left at (x, y); it must lie inside.
    public mutating func add(_ tile: UnsafeBufferPointer<Float>, x: Int, y: Int, size: Int) {
        precondition(tile.count == size * size && x >= 0 && y >= 0 && x + size <= width && y + size <= height,
                     "tile \(size)² at (\(x), \(y)) outside \(height)×\(width)")
        for r in 0..<size {
            let row = (y + r) * width + x
            for c in 0..<size {
                sum[row + c] += Double(tile[r * size + c])
                count[row + c] += 1
            }
        }
    }

    /// Number of tiles that covered each pixel, H×W row-major.
    public var coverage: [Int] { count.map(Int.init) }

    /// The average of the tiles at each pixel, H×W row-major; 0 where none fell.
    public var mean: [Float] { (0..<sum.count).map { count[$0] == 0 ? 0 : Float(sum[$0] / Double(count[$0])) } }
}

public enum BScanStitching {
    /// A prepared-geometry image (H×W row-major, W = `geometry.rowOffsets.count`) carried into
    /// the original B-scan (originalHeight × originalWidth row-major) through
    /// `BScanGeometry.preparedSamples`: linear along x as resampling is, exact along rows.
    /// Only prepared pixels inside the image and `valid` (when given, H×W) take part, their
    /// weights renormalised, so an image constant over the valid pixels stays exactly
    /// constant (no seam at the valid region's edge); an original pixel with none is 0.
    public static func toOriginal(_ prepared: [Float], height: Int, geometry g: BScanGeometry, valid: [Bool]? = nil) -> [Float] {
        let w = g.rowOffsets.count
        precondition(prepared.count == w * height && (valid == nil || valid!.count == w * height),
                     "prepared image of \(prepared.count) pixels, expected \(height)×\(w)")
        var out = [Float](repeating: 0, count: g.originalWidth * g.originalHeight)
        for column in 0..<g.originalWidth {
            for row in 0..<g.originalHeight {
                var v = 0.0, total = 0.0
                for s in g.preparedSamples(row: row, column: column) where s.row >= 0 && s.row < height {
                    let i = s.row * w + s.column
                    guard valid?[i] ?? true else { continue }
                    v += s.weight * Double(prepared[i])
                    total += s.weight
                }
                if total > 0 { out[row * g.originalWidth + column] = Float(v / total) }
            }
        }
        return out
    }
}
