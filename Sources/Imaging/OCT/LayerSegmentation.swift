// Automatic segmentation of the retina's top (ILM) and bottom (Bruch's
// membrane, the bottom of the RPE band) in a B-scan: minimum-cost paths found
// by dynamic programming over gradient and band images, one path per boundary,
// in the spirit of the graph searches of Garvin et al. (the paper's [15]),
// reduced to 2-D.
//
// Why not the strongest edge per column: speckle makes single columns
// unreliable (so the path has a bounded slope and pays for every row it
// jumps), and fluid adds strong edges inside the retina (a cyst's bottom is a
// dark-to-bright edge just like the ILM). So:
// - ILM: dark-to-bright edge (polarity), penalised when bright tissue lies
//   anywhere above it — the ILM is the first bright tissue below the vitreous,
//   a cyst edge never is.
// - Bruch: searched only between ILM + minimum and ILM + maximum thickness;
//   first the brightest band of RPE thickness (the RPE is the brightest layer,
//   and fluid is dark), then the bright-to-dark edge at that band's bottom.

import Foundation
import Records

/// Segmentation settings. Lengths in micrometres; converted to pixels with the
/// B-scan's spacing (Spectralis spacing assumed when unknown).
public struct LayerSegmentationSettings: Codable, Equatable, Sendable {
    /// Minimal and maximal ILM-to-Bruch distance. Swollen retinas with fluid reach ~1 mm.
    public var minThickness: Double = 100
    public var maxThickness: Double = 1100
    /// Thickness of the RPE band the bottom search looks for.
    public var rpeThickness: Double = 24
    /// Largest boundary slope (µm of depth per µm across); the foveal pit and fluid domes stay below ~0.6.
    public var maxSlope: Double = 1.0
    /// Gaussian smoothing (standard deviation) against speckle, axial and lateral.
    public var smoothingZ: Double = 6
    public var smoothingX: Double = 20
    /// Smoothing for locating Bruch's edge once the RPE band is found: less in depth, more across.
    public var edgeSmoothingZ: Double = 2
    public var edgeSmoothingX: Double = 30
    /// Cost per row a path moves between neighbouring columns, in units of the normalised gray range.
    public var jumpPenalty: Float = 0.02

    public init() {}
}

public enum LayerSegmentation {
    /// Default spacing (µm) for B-scans that do not state theirs: Spectralis, 6 mm / 512 A-scans.
    public static let defaultSpacingX = 6000.0 / 512
    public static let defaultSpacingZ = 3.87

    /// Finds the ILM and Bruch's membrane in every column (fractional rows).
    public static func segment(_ bscan: BScan, settings: LayerSegmentationSettings = .init()) -> RetinalBoundaries {
        let w = bscan.width, h = bscan.height
        let dx = bscan.spacingX > 0 ? bscan.spacingX : defaultSpacingX
        let dz = bscan.spacingZ > 0 ? bscan.spacingZ : defaultSpacingZ
        // Column-major, normalised to [0, 1] by robust percentiles so the costs do not depend on the gray scale.
        let unit = columnMajor(normalizedToUnit(bscan))
        let smooth = smoothed(unit, width: w, height: h,
                              sigmaZ: settings.smoothingZ / dz, sigmaX: settings.smoothingX / dx)
        let maxJump = max(1, Int((settings.maxSlope * dx / dz).rounded(.up)))

        // Vertical gradient, positive for dark above bright.
        var gradient = [Float](repeating: 0, count: w * h)
        for x in 0..<w {
            let c = x * h
            for z in 1..<(h - 1) { gradient[c + z] = smooth[c + z + 1] - smooth[c + z - 1] }
        }

        // ILM: strongest dark-to-bright edge with nothing bright above it.
        var ilmCost = [Float](repeating: 0, count: w * h)
        for x in 0..<w {
            let c = x * h
            var brightestAbove: Float = 0
            for z in 0..<h {
                if z >= 3 { brightestAbove = max(brightestAbove, smooth[c + z - 3]) }
                ilmCost[c + z] = -gradient[c + z] + 2 * max(0, brightestAbove - 0.2)
            }
        }
        let minRows = Int((settings.minThickness / dz).rounded())
        let maxRows = Int((settings.maxThickness / dz).rounded())
        let ilmRows = minimalPath(cost: ilmCost, width: w, height: h,
                                  lower: [Int](repeating: 1, count: w),
                                  upper: [Int](repeating: max(1, h - 2 - minRows), count: w),
                                  maxJump: maxJump, jumpPenalty: settings.jumpPenalty)

        // RPE: brightest band of RPE thickness ending at the row, below the ILM.
        let band = max(1, Int((settings.rpeThickness / dz).rounded()))
        var bandCost = [Float](repeating: 0, count: w * h)
        for x in 0..<w {
            let c = x * h
            var sum: Float = 0
            for z in 0..<h {
                sum += smooth[c + z]
                if z >= band { sum -= smooth[c + z - band] }
                bandCost[c + z] = -sum / Float(min(z + 1, band))
            }
        }
        let lower = ilmRows.map { min(h - 2, $0 + minRows) }
        let upper = ilmRows.map { min(h - 2, $0 + maxRows) }
        let rpeRows = minimalPath(cost: bandCost, width: w, height: h, lower: lower, upper: upper,
                                  maxJump: maxJump, jumpPenalty: settings.jumpPenalty)

        // Bruch: the bright-to-dark edge at the band's bottom, on an image smoothed
        // less in depth: the choroid darkens further below Bruch, and axial blur
        // would drag the edge down into it. The band path ends at the band's bottom
        // row, so the edge is searched from a little above it to one row below:
        // further down, dark choroidal vessels make stronger (wrong) edges.
        let sharp = smoothed(unit, width: w, height: h, sigmaZ: settings.edgeSmoothingZ / dz, sigmaX: settings.edgeSmoothingX / dx)
        var edge = [Float](repeating: 0, count: w * h)
        for x in 0..<w {
            let c = x * h
            for z in 1..<(h - 1) { edge[c + z] = sharp[c + z + 1] - sharp[c + z - 1] }
        }
        let reach = max(2, band / 2)
        let bruchRows = minimalPath(cost: edge, width: w, height: h,
                                    lower: rpeRows.map { max(1, $0 - reach) },
                                    upper: rpeRows.map { min(h - 2, $0 + 1) },
                                    maxJump: maxJump, jumpPenalty: settings.jumpPenalty)

        let ilm = (0..<w).map { x in refinedPeak(gradient, column: x, height: h, row: ilmRows[x], sign: 1) }
        let bruch = (0..<w).map { x in refinedPeak(edge, column: x, height: h, row: bruchRows[x], sign: -1) }
        return RetinalBoundaries(ilm: ilm, bruch: bruch)
    }

    /// Sub-row position of a gradient extremum: the vertex of the parabola through three rows.
    static func refinedPeak(_ g: [Float], column x: Int, height h: Int, row z: Int, sign: Float) -> Float {
        guard z > 0 && z < h - 1 else { return Float(z) }
        let a = sign * g[x * h + z - 1], b = sign * g[x * h + z], c = sign * g[x * h + z + 1]
        let curvature = a - 2 * b + c
        guard curvature < 0 else { return Float(z) }
        return Float(z) + max(-0.5, min(0.5, 0.5 * (a - c) / curvature))
    }

    /// The left-to-right path of one row per column through `cost` (column-major,
    /// `cost[x * height + z]`) with rows in lower[x]...upper[x], moving at most
    /// `maxJump` rows between neighbouring columns, that minimises the summed
    /// cost plus `jumpPenalty` per row moved. Exact dynamic programming.
    public static func minimalPath(cost: [Float], width w: Int, height h: Int, lower: [Int], upper: [Int],
                                   maxJump: Int, jumpPenalty: Float) -> [Int] {
        precondition(cost.count == w * h && lower.count == w && upper.count == w && maxJump >= 0)
        let infinity = Float.greatestFiniteMagnitude
        var total = [Float](repeating: infinity, count: w * h)
        var from = [Int32](repeating: -1, count: w * h)
        for z in lower[0]...max(lower[0], upper[0]) where z < h { total[z] = cost[z] }
        for x in 1..<max(1, w) {
            let c = x * h, p = (x - 1) * h
            let lo = max(0, lower[x]), hi = min(h - 1, max(lower[x], upper[x]))
            for z in lo...hi {
                var best = infinity, arg = -1
                for dz in -maxJump...maxJump {
                    let q = z + dz
                    guard q >= 0 && q < h, total[p + q] < infinity else { continue }
                    let v = total[p + q] + jumpPenalty * Float(abs(dz))
                    if v < best { best = v; arg = q }
                }
                // A band that moved faster than the slope allows: follow the nearest reachable row.
                if arg < 0 {
                    var nearest = -1
                    for q in 0..<h where total[p + q] < infinity && (nearest < 0 || abs(q - z) < abs(nearest - z)) { nearest = q }
                    if nearest >= 0 { best = total[p + nearest] + jumpPenalty * Float(abs(nearest - z)); arg = nearest }
                }
                if arg >= 0 { total[c + z] = best + cost[c + z]; from[c + z] = Int32(arg) }
            }
        }
        var path = [Int](repeating: 0, count: w)
        let last = (w - 1) * h
        var end = 0
        var best = infinity
        for z in 0..<h where total[last + z] < best { best = total[last + z]; end = z }
        path[w - 1] = end
        if w > 1 {
            for x in stride(from: w - 1, to: 0, by: -1) { path[x - 1] = Int(from[x * h + path[x]]) }
        }
        return path
    }

    /// Gray values mapped to [0, 1] between the 2nd and 99.5th percentiles.
    static func normalizedToUnit(_ bscan: BScan) -> BScan {
        let sorted = bscan.pixels.sorted()
        let lo = sorted[Int(Double(sorted.count - 1) * 0.02)]
        let hi = sorted[Int(Double(sorted.count - 1) * 0.995)]
        var out = bscan
        let scale: Float = hi > lo ? 1 / (hi - lo) : 0
        for i in out.pixels.indices { out.pixels[i] = min(1, max(0, (bscan.pixels[i] - lo) * scale)) }
        return out
    }

    static func columnMajor(_ b: BScan) -> [Float] {
        var out = [Float](repeating: 0, count: b.width * b.height)
        for z in 0..<b.height { for x in 0..<b.width { out[x * b.height + z] = b.pixels[z * b.width + x] } }
        return out
    }

    /// Separable Gaussian blur of a column-major image, edges clamped. Sigmas in pixels.
    static func smoothed(_ image: [Float], width w: Int, height h: Int, sigmaZ: Double, sigmaX: Double) -> [Float] {
        func kernel(_ sigma: Double) -> [Float] {
            guard sigma > 0.3 else { return [1] }
            let r = Int((3 * sigma).rounded(.up))
            let k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
            let s = k.reduce(0, +)
            return k.map { $0 / s }
        }
        let kz = kernel(sigmaZ), kx = kernel(sigmaX)
        let rz = kz.count / 2, rx = kx.count / 2
        var tmp = [Float](repeating: 0, count: w * h)
        var out = [Float](repeating: 0, count: w * h)
        // Raw pointers: this is the segmentation's hot loop, and debug builds check every subscript.
        image.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { mid in
                for x in 0..<w {
                    let column = x * h
                    for z in 0..<h {
                        var s: Float = 0
                        for i in 0..<kz.count { s += kz[i] * src[column + min(h - 1, max(0, z + i - rz))] }
                        mid[column + z] = s
                    }
                }
            }
        }
        tmp.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                for x in 0..<w {
                    for i in 0..<kx.count {
                        let k = kx[i], from = min(w - 1, max(0, x + i - rx)) * h
                        for z in 0..<h { dst[x * h + z] += k * mid[from + z] }
                    }
                }
            }
        }
        return out
    }
}
