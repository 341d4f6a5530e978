// BScan: one OCT cross-section (the zx-plane) in memory, and its annotation mask.
// The OCT algorithms (segmentation, flattening, resampling, patch extraction)
// work on this one plain type; volumes are arrays of B-scans.

import Foundation
import Records

/// One B-scan: `height` rows (depth z, top = vitreous) × `width` columns (x),
/// row-major Float gray values. Spacing in micrometres per pixel; 0 = unknown.
public struct BScan: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Row-major, `pixels[z * width + x]`.
    public var pixels: [Float]
    /// Micrometres between neighbouring columns (x); 0 when unknown.
    public var spacingX: Double
    /// Micrometres between neighbouring rows (z); 0 when unknown.
    public var spacingZ: Double

    public init(width: Int, height: Int, pixels: [Float], spacingX: Double = 0, spacingZ: Double = 0) {
        precondition(width > 0 && height > 0 && pixels.count == width * height,
                     "B-scan \(height)×\(width) needs \(width * height) pixels, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.spacingX = spacingX
        self.spacingZ = spacingZ
    }

    public init(width: Int, height: Int, value: Float = 0, spacingX: Double = 0, spacingZ: Double = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: value, count: width * height),
                  spacingX: spacingX, spacingZ: spacingZ)
    }

    @inlinable public subscript(z: Int, x: Int) -> Float {
        get { pixels[z * width + x] }
        set { pixels[z * width + x] = newValue }
    }

    /// The gray values mapped linearly from [low, high] to [−1, 1] (the paper's
    /// normalisation), clamped. For 8-bit data pass low 0, high 255.
    public func normalized(low: Float, high: Float) -> BScan {
        precondition(high > low, "normalisation range [\(low), \(high)] is empty")
        var out = self
        let scale = 2 / (high - low)
        for i in out.pixels.indices { out.pixels[i] = min(1, max(-1, (pixels[i] - low) * scale - 1)) }
        return out
    }
}

/// An annotation mask aligned with a B-scan: 0 = background, nonzero = annotated
/// (the phantom uses 1 intraretinal fluid, 2 subretinal fluid, 3 hyperreflective focus).
public struct BScanMask: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Row-major, `labels[z * width + x]`.
    public var labels: [UInt8]

    public init(width: Int, height: Int, labels: [UInt8]) {
        precondition(width > 0 && height > 0 && labels.count == width * height,
                     "mask \(height)×\(width) needs \(width * height) labels, got \(labels.count)")
        self.width = width
        self.height = height
        self.labels = labels
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, labels: [UInt8](repeating: 0, count: width * height))
    }

    @inlinable public subscript(z: Int, x: Int) -> UInt8 {
        get { labels[z * width + x] }
        set { labels[z * width + x] = newValue }
    }

    /// True when any pixel is annotated.
    public var isAnnotated: Bool { labels.contains { $0 != 0 } }
}

/// The two retinal boundaries of one B-scan, one row position per column
/// (fractional rows, 0 = top row's centre): the inner limiting membrane (top of
/// the retina) and Bruch's membrane (the bottom of the RPE band, bottom of the retina).
public struct RetinalBoundaries: Equatable, Sendable {
    public var ilm: [Float]
    public var bruch: [Float]

    public init(ilm: [Float], bruch: [Float]) {
        precondition(ilm.count == bruch.count, "ILM has \(ilm.count) columns, Bruch \(bruch.count)")
        self.ilm = ilm
        self.bruch = bruch
    }

    public var width: Int { ilm.count }
}
