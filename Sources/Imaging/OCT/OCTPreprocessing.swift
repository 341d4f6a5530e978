// The paper's OCT preprocessing, end to end (§3): gray values to [−1, 1];
// B-scans resampled to 22 µm columns; ILM and Bruch's membrane segmented;
// columns flattened on Bruch and the retina cropped; K random c×c patches per
// B-scan from inside the retina, each with provenance, mask patch and label,
// and the geometry (flattening shifts, resampling factor) that puts every
// patch pixel back into its original B-scan (BScanGeometry).

import Foundation
import Records

/// Preprocessing settings (recorded in the patch set's manifest).
public struct OCTPreprocessingSettings: Codable, Equatable, Sendable {
    /// Column spacing after resampling, µm (the paper: 22). Applied when a B-scan's spacing is known.
    public var targetSpacingX: Double = 22
    /// Patch side c in pixels (the paper: 64).
    public var patchSize: Int = 64
    /// Patches K drawn per B-scan.
    public var patchesPerBScan: Int = 16
    public var segmentation = LayerSegmentationSettings()
    /// Mask values that count as annotated; others are treated as background.
    /// nil: every nonzero value. The paper labels retinal fluid only (phantom: [1, 2]).
    public var annotatedClasses: [UInt8]? = nil

    public init(targetSpacingX: Double = 22, patchSize: Int = 64, patchesPerBScan: Int = 16, annotatedClasses: [UInt8]? = nil) {
        self.targetSpacingX = targetSpacingX
        self.patchSize = patchSize
        self.patchesPerBScan = patchesPerBScan
        self.annotatedClasses = annotatedClasses
    }

    /// The settings as manifest strings.
    public var manifest: [String: String] {
        ["target_spacing_x_um": "\(targetSpacingX)", "patch_size": "\(patchSize)",
         "patches_per_bscan": "\(patchesPerBScan)",
         "normalization": "gray range of each volume mapped to [-1, 1]",
         "segmentation": "ILM and Bruch by DP path search (min \(segmentation.minThickness) µm, max \(segmentation.maxThickness) µm)",
         "flattening": "columns shifted so Bruch is one row; retina cropped with patch_size/2 margins",
         "patch_position": "centre uniform inside the retina; sources x,y = top-left in the flattened, resampled B-scan; bscans = the geometry back to the original B-scan",
         "label_rule": "1 if any mask pixel in the patch is annotated (nonzero), 0 otherwise",
         "annotated_classes": annotatedClasses.map { $0.map(String.init).joined(separator: ",") } ?? "all nonzero"]
    }
}

/// One B-scan after normalisation, resampling, segmentation and flattening.
public struct PreparedBScan: Sendable {
    public var flat: FlattenedBScan
    /// Boundaries found in the resampled (not flattened) B-scan.
    public var boundaries: RetinalBoundaries
    /// Original columns per prepared column (`OCTResampling.columnScale`).
    public var columnScale: Double
    /// Size of the original B-scan.
    public var originalWidth: Int
    public var originalHeight: Int

    /// How prepared pixels map back to the original B-scan `bscan` of `volume`.
    public func geometry(volume: String, bscan: Int) -> BScanGeometry {
        BScanGeometry(volume: volume, bscan: bscan, originalWidth: originalWidth, originalHeight: originalHeight,
                      columnScale: columnScale, rowOffsets: flat.offsets)
    }
}

public enum OCTPreprocessing {
    /// The gray range that maps to [−1, 1]: 0…255 for 8-bit data (integer values
    /// all within 0…255), otherwise the volume's own minimum…maximum.
    public static func grayRange(of volume: Volume) -> ClosedRange<Float> {
        var lo = Float.infinity, hi = -Float.infinity, integral = true
        for v in volume.voxels {
            lo = min(lo, v); hi = max(hi, v)
            if integral && v != v.rounded() { integral = false }
        }
        if integral && lo >= 0 && hi <= 255 { return 0...255 }
        return lo < hi ? lo...hi : lo...(lo + 1)
    }

    /// Normalise → resample → segment → flatten one B-scan (and its mask).
    public static func prepare(_ bscan: BScan, mask: BScanMask?, grayRange: ClosedRange<Float>,
                               settings: OCTPreprocessingSettings) -> PreparedBScan {
        let normalized = bscan.normalized(low: grayRange.lowerBound, high: grayRange.upperBound)
        let resampled = OCTResampling.resample(normalized, targetSpacingX: settings.targetSpacingX)
        var kept = mask
        if let classes = settings.annotatedClasses, var m = kept {
            for i in m.labels.indices where m.labels[i] != 0 && !classes.contains(m.labels[i]) { m.labels[i] = 0 }
            kept = m
        }
        let resampledMask = kept.map { OCTResampling.resample($0, spacingX: bscan.spacingX, targetSpacingX: settings.targetSpacingX) }
        let boundaries = LayerSegmentation.segment(resampled, settings: settings.segmentation)
        let margin = settings.patchSize / 2
        let flat = OCTFlattening.flatten(resampled, mask: resampledMask, boundaries: boundaries,
                                         marginAbove: margin, marginBelow: margin, fill: -1)
        return PreparedBScan(flat: flat, boundaries: boundaries,
                             columnScale: OCTResampling.columnScale(spacing: bscan.spacingX, target: settings.targetSpacingX),
                             originalWidth: bscan.width, originalHeight: bscan.height)
    }

    /// Smallest B-scan height the segmentation works on (its gradients are central differences).
    public static let minimumHeight = 3
    /// B-scan spacings (µm) taken at face value; outside, a header is wrong (often mm vs µm twice over).
    public static let plausibleSpacing = 1e-3...1e5
    /// What a retinal OCT B-scan can measure: no retina is wider than this (mm; wide-field scans span
    /// about 12–24 mm) and no OCT samples depth coarser than this (µm per row; typical 2–8).
    /// Beyond them a header states µm where MetaImage means mm.
    public static let widestBScan = 50.0, coarsestRowSpacing = 50.0

    /// Throws a `FileError` naming `name` for a volume the preprocessing cannot handle, before
    /// anything is allocated for it: too few rows, an implausible spacing (extreme
    /// `ElementSpacing`), or a resampled B-scan whose working images exceed `MemoryBudget`.
    public static func check(_ volume: Volume, name: String, settings: OCTPreprocessingSettings) throws {
        guard settings.targetSpacingX.isFinite, plausibleSpacing.contains(settings.targetSpacingX) else {
            throw FileError(name, "setting targetSpacingX \(settings.targetSpacingX) µm is outside \(plausibleSpacing.lowerBound)…\(plausibleSpacing.upperBound) µm")
        }
        guard settings.patchSize >= 1, settings.patchesPerBScan >= 0 else {
            throw FileError(name, "settings patchSize \(settings.patchSize) and patchesPerBScan \(settings.patchesPerBScan) must be positive")
        }
        guard volume.depth >= 1, volume.width >= 1 else { throw FileError(name, "volume is empty (\(volume.width)×\(volume.height)×\(volume.depth))") }
        guard volume.height >= minimumHeight else {
            throw FileError(name, "B-scans are \(volume.height) row(s) high; layer segmentation needs at least \(minimumHeight)")
        }
        let probe = volume.bscan(0)
        for (axis, spacing) in [("x", probe.spacingX), ("depth", probe.spacingZ)] where spacing != 0 {
            guard spacing.isFinite, plausibleSpacing.contains(spacing) else {
                throw FileError(name, "B-scan spacing along \(axis) is \(spacing) µm, outside \(plausibleSpacing.lowerBound)…\(plausibleSpacing.upperBound) µm (ElementSpacing is in mm)")
            }
        }
        let widthMM = Double(volume.width) * probe.spacingX / 1000
        guard widthMM <= widestBScan else {
            throw FileError(name, String(format: "B-scans would be %.0f mm wide (%d columns %g µm apart), wider than any retina; ", widthMM, volume.width, probe.spacingX)
                + "MetaImage's ElementSpacing is in mm (a 6 mm, 512-column scan: 0.0117), --input-spacing-x in µm")
        }
        guard probe.spacingZ <= coarsestRowSpacing else {
            throw FileError(name, String(format: "B-scan rows are %g µm apart, coarser than any OCT (%g µm at most); ", probe.spacingZ, coarsestRowSpacing)
                + "MetaImage's ElementSpacing is in mm (3.87 µm rows: 0.00387), --input-spacing-z in µm")
        }
        // Resampled columns, in Double first: an extreme ratio must not reach Int(_:).
        let columns = OCTResampling.columnScale(spacing: probe.spacingX, target: settings.targetSpacingX) == 1 ? Double(volume.width)
            : (Double(volume.width - 1) * probe.spacingX / settings.targetSpacingX).rounded(.down) + 1
        // Segmentation and flattening keep about a dozen Float images of the resampled size.
        let bytes = columns * Double(volume.height) * 4 * 12
        try MemoryBudget.check(bytes < 0x1p62 ? Int(bytes) : nil, for: name,
                               "resampling \(volume.width)-column B-scans from \(probe.spacingX) µm to \(settings.targetSpacingX) µm (\(columns) columns × \(volume.height) rows)")
    }

    /// Patches from every B-scan of a volume, added to `collector`. `mask` (same
    /// size as `volume`) gives labels; without it patches get `unmaskedLabel`.
    /// `grayRange` overrides `grayRange(of:)` (e.g. 0…65535 for 16-bit files).
    /// `progress` is called after each B-scan with its index.
    public static func addPatches(from volume: Volume, mask: Volume?, name: String, settings: OCTPreprocessingSettings,
                                  unmaskedLabel: Int, grayRange fixedRange: ClosedRange<Float>? = nil,
                                  using rng: inout SeededGenerator, into collector: inout OCTPatchCollector,
                                  progress: (Int) -> Void = { _ in }) throws {
        if let mask, mask.width != volume.width || mask.height != volume.height || mask.depth != volume.depth {
            throw FileError(name, "mask is \(mask.width)×\(mask.height)×\(mask.depth), the volume \(volume.width)×\(volume.height)×\(volume.depth)")
        }
        if let bad = volume.voxels.firstIndex(where: { !$0.isFinite }) {
            throw FileError(name, "voxel \(bad) is \(volume.voxels[bad]) (not finite)")
        }
        try check(volume, name: name, settings: settings)
        let range = fixedRange ?? grayRange(of: volume)
        for b in 0..<volume.depth {
            let prepared = prepare(volume.bscan(b), mask: mask?.mask(b), grayRange: range, settings: settings)
            if prepared.flat.image.width < settings.patchSize {
                throw FileError(name, "B-scan \(b) is \(prepared.flat.image.width) columns wide after resampling, narrower than a \(settings.patchSize)-pixel patch")
            }
            let patches = OCTPatchExtraction.extract(from: prepared.flat, count: settings.patchesPerBScan,
                                                     size: settings.patchSize, using: &rng)
            collector.add(patches, volume: name, bscan: b, unmaskedLabel: unmaskedLabel,
                          geometry: prepared.geometry(volume: name, bscan: b))
            progress(b)
        }
    }
}

/// Gathers patches from many B-scans into one PatchSet.
public struct OCTPatchCollector {
    public let size: Int
    public private(set) var pixels: [Float] = []
    public private(set) var masks: [UInt8] = []
    public private(set) var labels: [Int] = []
    public private(set) var sources: [PatchSource] = []
    /// Geometry of every B-scan patches came from (when given to `add`).
    public private(set) var bscans: [BScanGeometry] = []
    private var anyMask = false

    public init(size: Int) { self.size = size }

    public var count: Int { labels.count }

    public mutating func add(_ patches: [OCTPatch], volume: String, bscan: Int, unmaskedLabel: Int, geometry: BScanGeometry? = nil) {
        if let geometry {
            precondition(geometry.volume == volume && geometry.bscan == bscan, "geometry of \(geometry.volume) B-scan \(geometry.bscan) for \(volume) B-scan \(bscan)")
            if !bscans.contains(where: { $0.volume == volume && $0.bscan == bscan }) { bscans.append(geometry) }
        }
        for p in patches {
            precondition(p.size == size, "patch of \(p.size) in a set of \(size)")
            pixels += p.pixels
            if let m = p.mask { masks += m; anyMask = true } else { masks += [UInt8](repeating: 0, count: size * size) }
            labels.append(p.label ?? unmaskedLabel)
            sources.append(PatchSource(volume: volume, bscan: bscan, x: p.x, y: p.y))
        }
    }

    /// The patch set; masks are included when any input had a mask, B-scan geometry when
    /// every patch's B-scan has one. Ids are the sources' "volume/bscan/x/y" (`PatchSet.defaultIDs`).
    public func patchSet(settings: [String: String], seed: UInt64) -> PatchSet {
        let n = count
        let images = Tensor(shape: [n, 1, size, size], values: pixels)
        let maskTensor = anyMask ? Tensor(shape: [n, 1, size, size], values: masks.map { $0 != 0 ? 1 : 0 }) : nil
        let complete = sources.allSatisfy { s in bscans.contains { $0.volume == s.volume && $0.bscan == s.bscan } }
        return PatchSet(images: images, labels: labels, masks: maskTensor, sources: sources,
                        bscans: complete && !bscans.isEmpty ? bscans : nil, settings: settings, seed: seed)
    }
}
