// Pictures the training and scoring stages write next to their numbers: a grid
// of generator samples (one per epoch) and the paper's Fig. 3 triplets
// (query | G(z_Γ) | residual overlay). Pure functions from tensors to 8-bit
// pixels; PNG encoding is Imaging's job.

import NeuralNet
import Records

/// 8-bit pixels ready for `PNG.write(width:height:channels:pixels8:to:)`.
public struct Picture: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// 1 gray, 3 RGB.
    public var channels: Int
    /// Row-major, channels interleaved.
    public var pixels: [UInt8]
}

public enum Pictures {
    /// Maps an intensity in [-1, 1] (the model's range) to 0…255, clamping outside values.
    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        guard v.isFinite else { return 0 }
        return UInt8(max(0, min(255, ((v + 1) * 127.5).rounded())))
    }

    /// A grid of the first channel of `images` (N×C×S×S in [-1, 1]), `columns` wide,
    /// `padding` pixels of mid-gray between tiles.
    public static func grid(_ images: Tensor, columns: Int, padding: Int = 2) -> Picture {
        precondition(images.rank == 4 && columns > 0)
        let n = images.shape[0], h = images.shape[2], w = images.shape[3]
        let rows = max(1, (n + columns - 1) / columns)
        let cols = min(columns, max(n, 1))
        let width = cols * w + (cols + 1) * padding
        let height = rows * h + (rows + 1) * padding
        var pixels = [UInt8](repeating: 128, count: width * height)
        for i in 0..<n {
            let top = padding + (i / cols) * (h + padding), left = padding + (i % cols) * (w + padding)
            for y in 0..<h {
                for x in 0..<w { pixels[(top + y) * width + left + x] = byte(images[i, 0, y, x]) }
            }
        }
        return Picture(width: width, height: height, channels: 1, pixels: pixels)
    }

    /// Query | reconstruction | residual overlay for item `index` (first channel), RGB,
    /// each panel scaled up by `scale` (nearest neighbour). The overlay is the query in
    /// gray blended towards red by the residual |x − G(z)|, full red at a residual of 1
    /// (half the intensity range), so colours are comparable across images.
    public static func triplet(query: Tensor, reconstruction: Tensor, index: Int, scale: Int = 1) -> Picture {
        precondition(query.shape == reconstruction.shape && query.rank == 4 && scale >= 1)
        let h = query.shape[2], w = query.shape[3]
        let width = 3 * w * scale, height = h * scale
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<(w * scale) {
                let sy = y / scale, sx = x / scale
                let q = query[index, 0, sy, sx], r = reconstruction[index, 0, sy, sx]
                let alpha = min(1, abs(q - r).isFinite ? abs(q - r) : 1)
                let gray = Float(byte(q))
                let overlay: [Float] = [gray + alpha * (255 - gray), gray * (1 - alpha), gray * (1 - alpha)]
                let panels: [[Float]] = [[gray, gray, gray], [Float(byte(r)), Float(byte(r)), Float(byte(r))], overlay]
                for (p, rgb) in panels.enumerated() {
                    let base = (y * width + p * w * scale + x) * 3
                    for c in 0..<3 { pixels[base + c] = UInt8(max(0, min(255, rgb[c].rounded()))) }
                }
            }
        }
        return Picture(width: width, height: height, channels: 3, pixels: pixels)
    }
}
