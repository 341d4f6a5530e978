// Marker candidates (the paper's purpose: guide marker discovery): the
// connected regions of a thresholded anomaly map. Components are 2-D, per
// B-scan, 8-connected: B-scans lie ~10× farther apart (120 µm) than columns
// (11.7 µm), so joining regions across B-scans would join unrelated lesions.
// Also the cut-offs that choose the threshold: a percentile of a normal map's
// pixels, and Youden's cut-off of labelled pixels.

import Foundation
import Records

/// One connected region of an anomaly map above the threshold, in the map's pixels.
public struct MapRegion: Equatable, Sendable {
    /// Pixel indices (row · width + column) in increasing order.
    public var pixels: [Int]
    /// Bounding box, inclusive.
    public var minRow: Int, maxRow: Int, minColumn: Int, maxColumn: Int
    /// Mean row and column of the pixels.
    public var centroidRow: Double, centroidColumn: Double
    /// Mean and maximum map value over the pixels.
    public var meanValue: Double, maxValue: Double

    public var area: Int { pixels.count }
    /// Sum of the map over the region (mean × area): the ranking of `regions`.
    public var mass: Double { meanValue * Double(area) }
}

public enum MarkerCandidates {
    /// The 8-connected regions of `map` (height×width row-major) where value ≥ `threshold`
    /// (and `allowed`, when given, is true), with at least `minimumArea` pixels, largest
    /// `mass` first (ties: first pixel first).
    public static func regions(of map: [Float], width: Int, height: Int, threshold: Float, minimumArea: Int = 1,
                               allowed: [Bool]? = nil) -> [MapRegion] {
        precondition(map.count == width * height && (allowed == nil || allowed!.count == map.count), "map is not \(height)×\(width)")
        var seen = [Bool](repeating: false, count: map.count)
        var regions: [MapRegion] = []
        var stack: [Int] = []
        func above(_ i: Int) -> Bool { map[i] >= threshold && (allowed?[i] ?? true) }
        for start in 0..<map.count where !seen[start] && above(start) {
            var pixels: [Int] = []
            seen[start] = true
            stack.append(start)
            while let i = stack.popLast() {
                pixels.append(i)
                let r = i / width, c = i % width
                for dr in -1...1 {
                    for dc in -1...1 where dr != 0 || dc != 0 {
                        let rr = r + dr, cc = c + dc
                        guard rr >= 0, rr < height, cc >= 0, cc < width else { continue }
                        let j = rr * width + cc
                        if !seen[j] && above(j) { seen[j] = true; stack.append(j) }
                    }
                }
            }
            guard pixels.count >= minimumArea else { continue }
            pixels.sort()
            var region = MapRegion(pixels: pixels, minRow: .max, maxRow: .min, minColumn: .max, maxColumn: .min,
                                   centroidRow: 0, centroidColumn: 0, meanValue: 0, maxValue: -.infinity)
            var sumRow = 0.0, sumColumn = 0.0, sum = 0.0
            for i in pixels {
                let r = i / width, c = i % width
                region.minRow = min(region.minRow, r); region.maxRow = max(region.maxRow, r)
                region.minColumn = min(region.minColumn, c); region.maxColumn = max(region.maxColumn, c)
                sumRow += Double(r); sumColumn += Double(c); sum += Double(map[i])
                region.maxValue = max(region.maxValue, Double(map[i]))
            }
            let n = Double(pixels.count)
            (region.centroidRow, region.centroidColumn, region.meanValue) = (sumRow / n, sumColumn / n, sum / n)
            regions.append(region)
        }
        // Stable: equal masses keep the scan order.
        return regions.enumerated().sorted { a, b in
            a.element.mass != b.element.mass ? a.element.mass > b.element.mass : a.offset < b.offset
        }.map(\.element)
    }

    /// The `percentile` (0…100) of `values`, linearly interpolated between order statistics
    /// (NumPy's default). Throws on an empty list.
    public static func percentile(_ values: [Float], _ percentile: Double) throws -> Float {
        guard !values.isEmpty else { throw EvaluationError("no pixels to take a percentile of") }
        precondition((0...100).contains(percentile), "percentile \(percentile) outside 0…100")
        let sorted = values.sorted()
        let position = percentile / 100 * Double(sorted.count - 1)
        let lo = Int(position.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
        let t = Float(position - Double(lo))
        return (1 - t) * sorted[lo] + t * sorted[hi]
    }

    /// Youden's cut-off of pixel values against labels (annotated = positive, value ≥ cut-off
    /// calls anomalous): the threshold maximising TPR − FPR, the highest among ties (as
    /// `ROCCurve.youden`). Sorts once; no curve is kept (millions of pixels).
    public static func youdenThreshold(annotated: [Float], clean: [Float]) throws -> Float {
        guard !annotated.isEmpty, !clean.isEmpty else { throw EvaluationError("Youden's cut-off needs annotated and clean pixels") }
        let p = annotated.sorted(by: >), n = clean.sorted(by: >)
        var i = 0, j = 0
        var best = Int.min, cut = Float.infinity
        // Walk the distinct values from the top; after taking every pixel ≥ v, J·P·N = TP·N − FP·P.
        while i < p.count || j < n.count {
            let v = max(i < p.count ? p[i] : -.infinity, j < n.count ? n[j] : -.infinity)
            while i < p.count && p[i] == v { i += 1 }
            while j < n.count && n[j] == v { j += 1 }
            let value = i * n.count - j * p.count
            if value > best { best = value; cut = v }
        }
        return cut
    }
}
