// Tiling a B-scan's retina band and stitching tiles back: the tiles cover every
// band pixel (checked pixel by pixel), constant tiles stitch to exactly that
// constant with no seam, and the inverse geometry (preparedSamples) lands back
// on the original pixel through the stored forward mapping (originalPosition).

import Foundation
import Imaging
import Records
import XCTest

final class ScanTilingTests: XCTestCase {
    /// A curved, tilted phantom B-scan resampled 11.7 → 22 µm and flattened, as `prepare` does.
    func preparedPhantom(size: Int, width: Int = 512, height: Int = 300) -> PreparedBScan {
        let v = OCTPhantom.generate(OCTPhantomSettings(width: width, height: height, bscans: 1, spacingZ: 3.87 * 496 / Double(height)), seed: 7)
        let volume = v.volume
        return OCTPreprocessing.prepare(volume.bscan(0), mask: nil, grayRange: 0...255,
                                        settings: OCTPreprocessingSettings(patchSize: size))
    }

    func testStartsCoverTheRangeAtMostStrideApartWithTheLastFlush() {
        for extent in [16, 17, 40, 100] {
            for size in [1, 4, 16, 40] where size <= extent {
                for stride in [1, 3, 8, 16, 40] where stride <= size {
                    for lo in [0, 5, 30] where lo < extent {
                        for hi in [lo, lo + 2, extent - 1] where hi >= lo && hi < extent {
                            let s = OCTTiling.starts(covering: lo...hi, size: size, stride: stride, extent: extent)
                            let label = "extent \(extent) size \(size) stride \(stride) range \(lo)...\(hi): \(s)"
                            XCTAssertTrue(s.allSatisfy { $0 >= 0 && $0 + size <= extent }, label)
                            XCTAssertEqual(s, s.sorted(), label)
                            XCTAssertEqual(Set(s).count, s.count, label)
                            for i in lo...hi { XCTAssertTrue(s.contains { $0 <= i && i < $0 + size }, "pixel \(i) uncovered, " + label) }
                            for (a, b) in zip(s, s.dropFirst()) { XCTAssertLessThanOrEqual(b - a, stride, label) }
                        }
                    }
                }
            }
        }
    }

    func testTilesCoverEveryBandPixelOfAPhantomBScan() {
        for (size, stride) in [(32, 32), (32, 13), (16, 16), (64, 32)] {
            let p = preparedPhantom(size: size)
            let tiles = OCTTiling.tiles(of: p.flat, size: size, stride: stride)
            let w = p.flat.image.width, h = p.flat.image.height
            var covered = [Bool](repeating: false, count: w * h)
            for t in tiles {
                XCTAssertTrue(t.x >= 0 && t.y >= 0 && t.x + size <= w && t.y + size <= h, "tile \(t) inside \(h)×\(w)")
                for r in t.y..<(t.y + size) { for c in t.x..<(t.x + size) { covered[r * w + c] = true } }
            }
            let band = OCTTiling.bandMask(of: p.flat)
            let missed = band.indices.filter { band[$0] != 0 && !covered[$0] }
            XCTAssertEqual(missed.count, 0, "size \(size) stride \(stride): band pixels not covered, first \(missed.first.map { ($0 / w, $0 % w) } as Any)")
            XCTAssertGreaterThan(band.filter { $0 != 0 }.count, w * 20, "the band is a real retina")
            // Every tile holds band pixels (no wasted tiles above or below the retina).
            for t in tiles {
                XCTAssertTrue((t.y..<(t.y + size)).contains { r in (t.x..<(t.x + size)).contains { band[r * w + $0] != 0 } }, "tile \(t) misses the band")
            }
        }
    }

    func testPreparedSamplesInvertTheStoredMapping() {
        let p = preparedPhantom(size: 32)
        let g = p.geometry(volume: "v", bscan: 0)
        XCTAssertGreaterThan(g.columnScale, 1.8, "resampled 11.7 → 22 µm")
        XCTAssertGreaterThan(Set(g.rowOffsets).count, 3, "flattened with several shifts")
        let lastColumn = Double(g.rowOffsets.count - 1) * g.columnScale
        for row in Swift.stride(from: 0, to: g.originalHeight, by: 7) {
            for column in 0..<g.originalWidth {
                let samples = g.preparedSamples(row: row, column: column)
                XCTAssertEqual(samples.map(\.weight).reduce(0, +), 1, accuracy: 1e-12)
                var x = 0.0
                for s in samples {
                    let back = g.originalPosition(row: s.row, column: s.column)
                    XCTAssertEqual(back.row, row, "row of sample \(s) of (\(row), \(column))")
                    x += s.weight * back.column
                }
                XCTAssertEqual(x, min(Double(column), lastColumn), accuracy: 1e-9, "column of (\(row), \(column))")
            }
        }
    }

    func testConstantTilesStitchToThatConstantOverTheBandWithNoSeam() {
        let size = 32, stride = 24, value: Float = 0.375
        let p = preparedPhantom(size: size)
        let w = p.flat.image.width, h = p.flat.image.height
        var accumulator = TileAccumulator(width: w, height: h)
        let tile = [Float](repeating: value, count: size * size)
        for t in OCTTiling.tiles(of: p.flat, size: size, stride: stride) {
            tile.withUnsafeBufferPointer { accumulator.add($0, x: t.x, y: t.y, size: size) }
        }
        let coverage = accumulator.coverage
        XCTAssertGreaterThan(coverage.max()!, 1, "tiles overlap")
        let g = p.geometry(volume: "v", bscan: 0)
        let original = BScanStitching.toOriginal(accumulator.mean, height: h, geometry: g, valid: coverage.map { $0 > 0 })
        let band = BScanStitching.toOriginal(OCTTiling.bandMask(of: p.flat), height: h, geometry: g)
        var inside = 0
        for i in original.indices where band[i] >= 0.5 {
            XCTAssertEqual(original[i], value, accuracy: 1e-6, "band pixel (\(i / g.originalWidth), \(i % g.originalWidth))")
            inside += 1
        }
        XCTAssertGreaterThan(inside, g.originalWidth * 40)
        // Outside every tile the map is 0.
        XCTAssertTrue(original.contains(0), "pixels far from the retina stay 0")
        XCTAssertTrue(original.allSatisfy { $0 == 0 || abs($0 - value) < 1e-6 }, "only 0 or the constant: no partial weights at tile edges")
    }
}
