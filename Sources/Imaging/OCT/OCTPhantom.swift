// A synthetic SD-OCT retina: volumes of B-scans that look like Spectralis scans
// (dark vitreous, layered retina with a foveal pit, retinal vessels casting
// shadows, bright RPE, textured choroid, speckle, log display), with optional disease (intraretinal cysts,
// subretinal fluid, hyperreflective foci) and its voxel masks, plus the true
// ILM and Bruch's-membrane rows so segmentation can be tested against them.
//
// Anatomy is built in micrometres, so any pixel grid works. Each A-scan is a
// stack of segments from Bruch's membrane upwards (RPE, interdigitation zone,
// outer segments, ellipsoid zone, myoids, ONL, OPL, INL, IPL, GCL, RNFL).
// Subretinal fluid is *inserted* into that stack above the RPE, lifting the
// retina; intraretinal cysts replace tissue inside nuclear layers that swell
// broadly around them (oedema). So the true ILM is known exactly in diseased eyes.
// Rows are box-sampled from the segments (partial volume), multiplied by
// correlated exponential speckle, and log-compressed to [0, 1].

import Foundation
import Records

/// What to generate. Lengths in micrometres.
public struct OCTPhantomSettings: Codable, Equatable, Sendable {
    /// Columns per B-scan (x).
    public var width: Int = 512
    /// Rows per B-scan (z, depth).
    public var height: Int = 496
    /// B-scans per volume (y).
    public var bscans: Int = 49
    /// µm per column: a 6 mm Spectralis scan of 512 A-scans.
    public var spacingX: Double = 6000.0 / 512
    /// µm per row (Spectralis axial sampling).
    public var spacingZ: Double = 3.87
    /// µm between B-scans (49 B-scans over ~5.9 mm).
    public var spacingY: Double = 120
    /// Adds intraretinal cysts, subretinal fluid and hyperreflective foci, with masks.
    public var diseased: Bool = false

    public init(width: Int = 512, height: Int = 496, bscans: Int = 49,
                spacingX: Double = 6000.0 / 512, spacingZ: Double = 3.87, spacingY: Double = 120,
                diseased: Bool = false) {
        self.width = width; self.height = height; self.bscans = bscans
        self.spacingX = spacingX; self.spacingZ = spacingZ; self.spacingY = spacingY
        self.diseased = diseased
    }
}

/// One generated volume. Gray values in [0, 1]; masks use
/// `OCTPhantom.intraretinalFluid`, `.subretinalFluid`, `.hyperreflectiveFocus`.
public struct OCTPhantomVolume: Sendable {
    public var settings: OCTPhantomSettings
    public var seed: UInt64
    public var bscans: [BScan]
    public var masks: [BScanMask]
    /// True ILM and Bruch rows per column of each B-scan.
    public var boundaries: [RetinalBoundaries]
}

public enum OCTPhantom {
    public static let intraretinalFluid: UInt8 = 1
    public static let subretinalFluid: UInt8 = 2
    public static let hyperreflectiveFocus: UInt8 = 3

    /// Generates a volume; the same settings and seed always give the same volume.
    /// The subject's anatomy (position, curvature, tilt, thicknesses, fovea,
    /// reflectivities, lesions) varies with the seed.
    public static func generate(_ settings: OCTPhantomSettings, seed: UInt64) -> OCTPhantomVolume {
        precondition(settings.width >= 8 && settings.height >= 8 && settings.bscans >= 1, "phantom too small: \(settings)")
        precondition(settings.spacingX > 0 && settings.spacingY > 0 && settings.spacingZ > 0, "phantom spacing must be positive")
        let eye = Eye(settings: settings, seed: seed)
        var volume = OCTPhantomVolume(settings: settings, seed: seed, bscans: [], masks: [], boundaries: [])
        for index in 0..<settings.bscans {
            let (bscan, mask, boundaries) = eye.bscan(index)
            volume.bscans.append(bscan)
            volume.masks.append(mask)
            volume.boundaries.append(boundaries)
        }
        return volume
    }

    /// One B-scan of the volume `generate(settings, seed:)` would make, without the others.
    public static func bscan(_ index: Int, settings: OCTPhantomSettings, seed: UInt64) -> (BScan, BScanMask, RetinalBoundaries) {
        precondition(index >= 0 && index < settings.bscans, "B-scan \(index) outside 0..<\(settings.bscans)")
        return Eye(settings: settings, seed: seed).bscan(index)
    }
}

// MARK: - Anatomy

/// Retinal layers from Bruch's membrane upwards: nominal thickness (µm) and linear reflectivity.
private let layerNames = ["RPE", "IZ", "OS", "EZ", "myoid", "ONL", "OPL", "INL", "IPL", "GCL", "RNFL"]
private let nominalThickness: [Double] = [24, 8, 24, 12, 20, 78, 30, 35, 35, 40, 28]
private let nominalReflectivity: [Double] = [1.0, 0.30, 0.10, 0.50, 0.07, 0.035, 0.22, 0.05, 0.18, 0.12, 0.45]
/// Layers from this index up are the inner retina, which the foveal pit thins.
private let firstInnerLayer = 6   // OPL

/// Fluid pushed into the tissue stack at a tissue height above Bruch (µm).
private struct Insertion {
    var tissueHeight: Double
    var thickness: Double
    var label: UInt8
}

/// An ellipsoid or lens of fluid. Local thickness at normalised radius ρ:
/// cysts h·√(1−ρ²), subretinal lens h·(1−ρ²).
private struct Lesion {
    var x, y: Double          // centre (µm)
    var radiusX, radiusY: Double
    var height: Double        // maximal thickness (µm)
    /// Where it sits: 0 = on the RPE (subretinal), else a fraction through the local ONL+OPL+INL.
    var depthFraction: Double
    var label: UInt8

    /// µm above Bruch in the tissue stack with local layer thicknesses `t`.
    func tissueHeight(_ t: [Double]) -> Double {
        if label == OCTPhantom.subretinalFluid { return t[0] }
        return t[0] + t[1] + t[2] + t[3] + t[4] + depthFraction * (t[5] + t[6] + t[7])
    }

    func thickness(x px: Double, y py: Double) -> Double {
        let dx = (px - x) / radiusX, dy = (py - y) / radiusY
        let r2 = dx * dx + dy * dy
        guard r2 < 1 else { return 0 }
        return label == OCTPhantom.subretinalFluid ? height * (1 - r2) : height * (1 - r2).squareRoot()
    }
}

/// A bright dot in the inner retina (lies in one B-scan).
private struct Focus {
    var bscan: Int
    var x: Double, tissueHeight: Double, radius: Double
}

/// Smooth random field in [0, 1]: value noise on a lattice, trilinear with smoothstep.
private struct SmoothNoise {
    let n = 64
    var lattice: [Float]
    init(rng: inout SeededGenerator) { lattice = (0..<(64 * 64 * 64)).map { _ in rng.uniform() } }

    func callAsFunction(_ x: Double, _ y: Double, _ z: Double) -> Float {
        func split(_ v: Double) -> (Int, Int, Float) {
            let f = v.rounded(.down)
            let i = ((Int(f) % n) + n) % n
            var t = Float(v - f)
            t = t * t * (3 - 2 * t)
            return (i, (i + 1) % n, t)
        }
        let (x0, x1, tx) = split(x), (y0, y1, ty) = split(y), (z0, z1, tz) = split(z)
        func at(_ a: Int, _ b: Int, _ c: Int) -> Float { lattice[(a * n + b) * n + c] }
        func lerp(_ a: Float, _ b: Float, _ t: Float) -> Float { a + (b - a) * t }
        let c00 = lerp(at(x0, y0, z0), at(x1, y0, z0), tx), c10 = lerp(at(x0, y1, z0), at(x1, y1, z0), tx)
        let c01 = lerp(at(x0, y0, z1), at(x1, y0, z1), tx), c11 = lerp(at(x0, y1, z1), at(x1, y1, z1), tx)
        return lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz)
    }
}

/// One subject's eye: everything random about it is drawn once from the seed.
private struct Eye {
    let s: OCTPhantomSettings
    let seed: UInt64
    // Bruch depth (µm from the top row) = bruchDepth + curvature·r² + tiltX·x + tiltY·y, r from the fovea.
    var bruchDepth, curvature, tiltX, tiltY: Double
    var foveaX, foveaY, pitRadius, pitDepth: Double
    var thickness: [Double], reflectivity: [Double]
    var nasalSign: Double
    var choroidThickness: Double
    var lesions: [Lesion] = []
    var foci: [Focus] = []
    /// Retinal blood vessels in the inner retina, straight in the en-face plane:
    /// x = x0 + slope·y, radius in µm. They cast shadows down to the choroid.
    var vessels: [(x0: Double, slope: Double, radius: Double)] = []
    var texture: SmoothNoise

    var scanWidth: Double { Double(s.width) * s.spacingX }
    var scanDepth: Double { Double(s.height) * s.spacingZ }
    /// y (µm) of B-scan `index`; the middle B-scan is y = 0.
    func y(_ index: Int) -> Double { (Double(index) - Double(s.bscans - 1) / 2) * s.spacingY }

    init(settings: OCTPhantomSettings, seed: UInt64) {
        s = settings
        self.seed = seed
        var rng = SeededGenerator(seed: seed ^ 0x4F43_545F_5048_414E)  // "OCT_PHAN"
        func u(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(rng.uniform()) }
        let width = Double(settings.width) * settings.spacingX
        foveaX = width / 2 + u(-0.06, 0.06) * width
        foveaY = u(-100, 100)
        pitRadius = u(380, 520)
        pitDepth = u(0.85, 0.97)
        let scale = u(0.9, 1.1)
        thickness = nominalThickness.map { $0 * scale * u(0.9, 1.1) }
        reflectivity = nominalReflectivity.map { $0 * u(0.85, 1.15) }
        nasalSign = rng.uniform() < 0.5 ? -1 : 1
        choroidThickness = u(180, 340)
        let sag = u(20, 140)                    // µm of Bruch rise 3 mm from the fovea
        curvature = sag / (3000 * 3000)
        tiltX = u(-0.025, 0.025)
        tiltY = u(-0.02, 0.02)
        bruchDepth = 0
        texture = SmoothNoise(rng: &rng)
        for _ in 0..<(3 + rng.index(below: 4)) {
            vessels.append((u(0, width), u(-0.6, 0.6), u(20, 55)))
        }
        if settings.diseased { addLesions(&rng) }
        placeRetina(u(0.35, 0.65))
    }

    /// Chooses bruchDepth so the whole retina (with its fluid) and some choroid
    /// fit in every B-scan, at a random place within the free room.
    private mutating func placeRetina(_ where01: Double) {
        var highest = Double.infinity, lowest = -Double.infinity
        let columns = stride(from: 0, to: s.width, by: max(1, s.width / 32)).map { $0 } + [s.width - 1]
        for b in 0..<s.bscans {
            let y = self.y(b)
            for c in columns {
                let x = Double(c) * s.spacingX
                let bruch = bruchShape(x: x, y: y)
                let retina = layerThickness(x: x, y: y).reduce(0, +) + lesions.reduce(0) { $0 + $1.thickness(x: x, y: y) }
                highest = min(highest, bruch - retina)
                lowest = max(lowest, bruch)
            }
        }
        let top = 0.08 * scanDepth, bottom = scanDepth - max(0.25 * scanDepth, 0)
        let room = (bottom - top) - (lowest - highest)
        // Too steep for this grid: flatten the eye rather than cut the retina off
        // (once; a grid too shallow for even a flat retina just gets it at the top).
        if room < 0 && (curvature != 0 || tiltX != 0 || tiltY != 0) {
            curvature = 0; tiltX = 0; tiltY = 0
            bruchDepth = 0
            placeRetina(where01)
            return
        }
        bruchDepth = top - highest + max(0, room) * where01
    }

    private var retinaNominal: Double { thickness.reduce(0, +) }

    func bruchShape(x: Double, y: Double) -> Double {
        let dx = x - foveaX, dy = y - foveaY
        // The eye is a bowl seen from inside: Bruch rises (smaller depth) away from the fovea.
        return bruchDepth - curvature * (dx * dx + dy * dy) + tiltX * (x - scanWidth / 2) + tiltY * y
    }

    /// Layer thicknesses (µm, Bruch upwards) at a point: the foveal pit thins the
    /// inner retina, the RNFL thickens towards the optic disc (nasal side), the
    /// ONL thickens slightly under the pit.
    func layerThickness(x: Double, y: Double) -> [Double] {
        let dx = x - foveaX, dy = y - foveaY
        let pit = exp(-(dx * dx + dy * dy) / (2 * pitRadius * pitRadius))
        var t = thickness
        for i in firstInnerLayer..<t.count { t[i] *= 1 - pitDepth * pit }
        t[5] *= 1 + 0.25 * pit
        let nasal = max(-0.6, min(1.2, nasalSign * dx / 2500))
        t[t.count - 1] *= (1 + 0.8 * nasal) * (1 - pit)
        // Oedema: the nuclear layers swell broadly around each cyst, which then sits inside the thickened tissue.
        for lesion in lesions where lesion.label == OCTPhantom.intraretinalFluid {
            let ex = (x - lesion.x) / (2 * lesion.radiusX), ey = (y - lesion.y) / (2 * lesion.radiusY)
            let bump = lesion.height * exp(-(ex * ex + ey * ey))
            t[5] += 0.6 * bump
            t[7] += 0.4 * bump
        }
        return t.map { max(0, $0) }
    }

    private mutating func addLesions(_ rng: inout SeededGenerator) {
        func u(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(rng.uniform()) }
        let yExtent = Double(s.bscans) * s.spacingY
        func nearFovea(_ spread: Double) -> (Double, Double) {
            (foveaX + Double(rng.normal()) * spread, foveaY + Double(rng.normal()) * min(spread, max(yExtent / 2, 150)))
        }
        let t = thickness
        let photoreceptors = t[0] + t[1] + t[2] + t[3] + t[4]
        // Subretinal fluid: a lens between the outer segments and the RPE.
        if rng.uniform() < 0.75 {
            let (x, y) = nearFovea(500)
            lesions.append(Lesion(x: x, y: y, radiusX: u(500, 1300), radiusY: u(350, 900), height: u(50, 200),
                                  depthFraction: 0, label: OCTPhantom.subretinalFluid))
        }
        // Intraretinal cysts in the ONL/OPL/INL.
        let cysts = 3 + rng.index(below: 8)
        for _ in 0..<cysts {
            let (x, y) = nearFovea(800)
            lesions.append(Lesion(x: x, y: y, radiusX: u(50, 200), radiusY: u(50, 200), height: u(30, 130),
                                  depthFraction: u(0.15, 0.75), label: OCTPhantom.intraretinalFluid))
        }
        // Hyperreflective foci: small bright dots in the inner retina, each on one B-scan.
        let count = 4 + rng.index(below: 10)
        for _ in 0..<count {
            let b = rng.index(below: s.bscans)
            let x = Double(s.width) * s.spacingX * u(0.1, 0.9)
            foci.append(Focus(bscan: b, x: x, tissueHeight: photoreceptors + t[5] * u(0.5, 1.0) + (t[6] + t[7]) * u(0, 1),
                              radius: u(12, 28)))
        }
    }

    /// The A-scan at (x, y) as segments from Bruch upwards: (thickness µm, reflectivity, label).
    func column(x: Double, y: Double) -> [(Double, Double, UInt8)] {
        let t = layerThickness(x: x, y: y)
        let shade = 0.8 + 0.4 * Double(texture(x / 400, y / 400, 7.5))   // gentle lateral brightness variation
        var inserts: [Insertion] = []
        for lesion in lesions where lesion.label == OCTPhantom.subretinalFluid {
            let h = lesion.thickness(x: x, y: y)
            if h > 0 { inserts.append(Insertion(tissueHeight: lesion.tissueHeight(t), thickness: h, label: lesion.label)) }
        }
        inserts.sort { $0.tissueHeight < $1.tissueHeight }
        var segments: [(Double, Double, UInt8)] = []
        var tissueBase = 0.0
        var next = 0
        for (i, thick) in t.enumerated() {
            var start = tissueBase
            let end = tissueBase + thick
            let r = reflectivity[i] * (i == 0 ? 1 : shade)
            // Fluid sitting inside this layer splits it.
            while next < inserts.count, inserts[next].tissueHeight < end {
                let cut = min(max(inserts[next].tissueHeight, start), end)
                if cut > start { segments.append((cut - start, r, 0)) }
                segments.append((inserts[next].thickness, 0.004, inserts[next].label))
                start = cut
                next += 1
            }
            if end > start { segments.append((end - start, r, 0)) }
            tissueBase = end
        }
        // Cysts replace tissue (they do not add to the stack; the swelling above made room).
        for lesion in lesions where lesion.label == OCTPhantom.intraretinalFluid {
            let h = lesion.thickness(x: x, y: y)
            guard h > 0 else { continue }
            var centre = lesion.tissueHeight(t)
            for insert in inserts where insert.tissueHeight <= centre { centre += insert.thickness }
            // Keep the RPE, the ellipsoid zone and a thin inner surface intact.
            var floor = t[0] + t[1] + t[2] + t[3]
            for insert in inserts where insert.tissueHeight <= floor { floor += insert.thickness }
            let ceiling = segments.reduce(0) { $0 + $1.0 } - 8
            carve(&segments, from: max(floor, centre - h / 2), to: min(ceiling, centre + h / 2), label: lesion.label)
        }
        return segments
    }

    /// Replaces [from, to) (µm above Bruch) of a bottom-up segment stack with fluid.
    private func carve(_ segments: inout [(Double, Double, UInt8)], from a: Double, to b: Double, label: UInt8) {
        var out: [(Double, Double, UInt8)] = []
        var base = 0.0
        for (thick, r, l) in segments {
            let lo = base, hi = base + thick
            base = hi
            let cutLo = max(lo, a), cutHi = min(hi, b)
            guard cutHi > cutLo, l == 0 else { out.append((thick, r, l)); continue }
            if cutLo > lo { out.append((cutLo - lo, r, l)) }
            out.append((cutHi - cutLo, 0.004, label))
            if hi > cutHi { out.append((hi - cutHi, r, l)) }
        }
        segments = out
    }

    /// Reflectivity below Bruch's membrane: choriocapillaris, choroid with dark vessel lumens, sclera.
    func choroid(depth: Double, x: Double, y: Double) -> Double {
        let fade = exp(-depth / 260)
        if depth < 12 { return 0.3 }
        let localThickness = choroidThickness * (0.8 + 0.4 * Double(texture(x / 700, y / 700, 40.5)))
        let n = texture(x / 70, y / 70, depth / 40 + 20)
        let vessel = n < 0.4 ? 0.25 : 1.0
        let stroma = 0.18 * vessel * fade
        // The sclera is nearly dark; the choroid fades into it over ~40 µm.
        return depth < localThickness ? stroma : stroma * exp(-(depth - localThickness) / 40) + 0.008 * fade
    }

    func bscan(_ index: Int) -> (BScan, BScanMask, RetinalBoundaries) {
        let w = s.width, h = s.height, dz = s.spacingZ
        let y = self.y(index)
        var reflect = [Float](repeating: 0, count: w * h)
        var mask = BScanMask(width: w, height: h)
        var ilm = [Float](repeating: 0, count: w), bruch = [Float](repeating: 0, count: w)
        for c in 0..<w {
            let x = Double(c) * s.spacingX
            let bruchUm = bruchShape(x: x, y: y)
            // Segments in image depth (µm from the top), top to bottom.
            var spans: [(top: Double, bottom: Double, r: Double, label: UInt8)] = []
            var bottom = bruchUm
            for (thick, r, label) in column(x: x, y: y) {
                spans.append((bottom - thick, bottom, r, label))
                bottom -= thick
            }
            let ilmUm = bottom
            spans.reverse()
            ilm[c] = Float(ilmUm / dz)
            bruch[c] = Float(bruchUm / dz)
            // Box-sample each row [z−½, z+½)·dz from the spans (partial volume).
            var k = 0
            for z in 0..<h {
                let top = (Double(z) - 0.5) * dz, bot = (Double(z) + 0.5) * dz
                var sum = 0.0
                var cursor = top
                if cursor < ilmUm { let e = min(bot, ilmUm); sum += (e - cursor) * 0.0; cursor = e }
                while k < spans.count, spans[k].bottom <= cursor { k += 1 }
                var j = k
                while cursor < bot, j < spans.count {
                    let e = min(bot, spans[j].bottom)
                    if e > cursor { sum += (e - cursor) * spans[j].r; cursor = e }
                    if spans[j].bottom <= bot { j += 1 } else { break }
                }
                // Below Bruch: sample the choroid at the centre of what is left.
                if cursor < bot { sum += (bot - cursor) * choroid(depth: (cursor + bot) / 2 - bruchUm, x: x, y: y) }
                reflect[z * w + c] = Float(sum / dz)
                let centre = Double(z) * dz
                if centre >= ilmUm && centre < bruchUm {
                    for span in spans where centre >= span.top && centre < span.bottom {
                        mask[z, c] = span.label
                        break
                    }
                }
            }
            vessel(column: c, x: x, y: y, ilm: ilmUm, reflect: &reflect)
        }
        for focus in foci where focus.bscan == index {
            let c0 = Int(focus.x / s.spacingX)
            guard c0 >= 0 && c0 < w else { continue }
            // The focus sits at a tissue height; fluid below it lifts it too.
            var lift = 0.0
            let t = layerThickness(x: focus.x, y: y)
            for lesion in lesions where lesion.label == OCTPhantom.subretinalFluid && lesion.tissueHeight(t) < focus.tissueHeight {
                lift += lesion.thickness(x: focus.x, y: y)
            }
            let centreZ = (Double(bruch[c0]) * dz - focus.tissueHeight - lift) / dz
            let rx = focus.radius / s.spacingX, rz = focus.radius / dz
            // In a short B-scan the focus may lie outside the image.
            let top = max(0, Int(centreZ - rz) - 1), bottom = min(h - 1, Int(centreZ + rz) + 1)
            guard top <= bottom else { continue }
            for z in top...bottom {
                for c in max(0, Int(Double(c0) - rx) - 1)...min(w - 1, Int(Double(c0) + rx) + 1) {
                    let ex = (Double(c) - Double(c0)) / rx, ez = (Double(z) - centreZ) / rz
                    if ex * ex + ez * ez <= 1, Float(z) > ilm[c], Float(z) < bruch[c], mask[z, c] == 0 {
                        reflect[z * w + c] = 1.3
                        mask[z, c] = OCTPhantom.hyperreflectiveFocus
                    }
                }
            }
        }
        let pixels = speckleAndCompress(reflect, width: w, height: h, index: index)
        return (BScan(width: w, height: h, pixels: pixels, spacingX: s.spacingX, spacingZ: s.spacingZ),
                mask, RetinalBoundaries(ilm: ilm, bruch: bruch))
    }

    /// A vessel crossing column `c`: a moderately reflective lumen between the RNFL
    /// and GCL, and below it a shadow (blood absorbs the light) deepest at its centre.
    /// Normal anatomy, so not in the mask; outside the foveal avascular zone.
    func vessel(column c: Int, x: Double, y: Double, ilm: Double, reflect: inout [Float]) {
        let w = s.width, dz = s.spacingZ
        guard (x - foveaX) * (x - foveaX) + (y - foveaY) * (y - foveaY) > 350 * 350 else { return }
        for v in vessels {
            let d = abs(x - (v.x0 + v.slope * y)) / (1 + v.slope * v.slope).squareRoot()
            guard d < v.radius else { continue }
            let t = layerThickness(x: x, y: y)
            let half = (v.radius * v.radius - d * d).squareRoot()
            // Under the ILM (which stays the retina's top), in the RNFL/GCL.
            let centre = max(ilm + t[t.count - 1] + 0.3 * t[t.count - 2], ilm + v.radius + 4)
            let shadow = Float(0.2 + 0.8 * (d / v.radius) * (d / v.radius))
            // In a short B-scan the vessel may lie below the image.
            let top = max(0, Int((centre - half) / dz))
            guard top < s.height else { continue }
            for z in top..<s.height {
                let depth = Double(z) * dz
                if depth < centre - half { continue }
                if depth <= centre + half { reflect[z * w + c] = 0.25 } else { reflect[z * w + c] *= shadow }
            }
        }
    }

    /// Multiplies by speckle (exponential intensity, smoothed by a 3×3 binomial
    /// so grains span ~2 pixels as in a real OCT), adds the noise floor and
    /// maps 10·log10 of the intensity from [−21 dB, +1.5 dB] to [0, 1].
    func speckleAndCompress(_ reflect: [Float], width w: Int, height h: Int, index: Int) -> [Float] {
        var rng = SeededGenerator(seed: seed &+ 0x9E37_79B9 &* UInt64(index + 1))
        var speckle = [Float](repeating: 0, count: w * h)
        var smooth = [Float](repeating: 0, count: w * h)
        var out = [Float](repeating: 0, count: w * h)
        let low: Float = -21, high: Float = 1.5
        // Raw pointers: one pass per pixel per stage, and debug builds check every subscript.
        speckle.withUnsafeMutableBufferPointer { sp in
            smooth.withUnsafeMutableBufferPointer { sm in
                for i in 0..<(w * h) { sp[i] = -log(max(rng.uniform(), 1e-7)) }
                for z in 0..<h {
                    let r = z * w
                    sm[r] = sp[r]; sm[r + w - 1] = sp[r + w - 1]
                    for c in 1..<(w - 1) { sm[r + c] = 0.25 * sp[r + c - 1] + 0.5 * sp[r + c] + 0.25 * sp[r + c + 1] }
                }
                for c in 0..<w { sp[c] = sm[c]; sp[(h - 1) * w + c] = sm[(h - 1) * w + c] }
                for z in 1..<(h - 1) {
                    for c in 0..<w { sp[z * w + c] = 0.25 * sm[(z - 1) * w + c] + 0.5 * sm[z * w + c] + 0.25 * sm[(z + 1) * w + c] }
                }
            }
            reflect.withUnsafeBufferPointer { r in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<(w * h) {
                        let noise: Float = 0.003 * -log(max(rng.uniform(), 1e-7))
                        let db = 10 * log10(max(r[i] * sp[i] + noise, 1e-6))
                        o[i] = min(1, max(0, (db - low) / (high - low)))
                    }
                }
            }
        }
        return out
    }
}
