// Fig. 3 of the paper: columns of example images, rows of input, G(z_Γ),
// residual overlay and annotation, with red/yellow bars marking images called
// anomalous by R(x) / D(x) at their Youden cut-offs. Pixels are composed here
// (grey images, heat-map overlay); layout, labels and bars are SVG.

import Foundation
import Records
import Imaging

/// One column of Fig. 3. Images are S×S, row-major, values as stored by anogan.
public struct Figure3Column {
    /// Query image x in [-1, 1]; nil when the patch set is unavailable.
    public var input: [Float]?
    /// G(z_Γ) in [-1, 1].
    public var reconstruction: [Float]?
    /// |x − G(z_Γ)| in [0, 2].
    public var residual: [Float]?
    /// Annotation (nonzero = anomalous pixel); nil when there is none.
    public var mask: [Float]?
    /// Called anomalous by the residual score R (red bar) / discrimination score D (yellow bar).
    public var detectedByR: Bool?
    public var detectedByD: Bool?
    public var caption: String

    public init(input: [Float]?, reconstruction: [Float]?, residual: [Float]?, mask: [Float]?,
                detectedByR: Bool?, detectedByD: Bool?, caption: String) {
        self.input = input; self.reconstruction = reconstruction; self.residual = residual; self.mask = mask
        self.detectedByR = detectedByR; self.detectedByD = detectedByD; self.caption = caption
    }
}

/// A titled group of columns ("normal, training set", …).
public struct Figure3Block {
    public var title: String
    public var columns: [Figure3Column]
    public init(title: String, columns: [Figure3Column]) { self.title = title; self.columns = columns }
}

public enum Figure3 {
    /// Grey [-1, 1] → RGB bytes.
    public static func grey(_ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 3 * x.count)
        for (i, v) in x.enumerated() {
            let g = byte((v + 1) / 2)
            out[3 * i] = g; out[3 * i + 1] = g; out[3 * i + 2] = g
        }
        return out
    }

    /// The residual as a red→yellow heat map over the grey input. `scale` is the
    /// residual shown at full strength (shared by all images so they compare);
    /// residuals below 10% of it stay transparent so normal tissue reads as grey.
    public static func overlay(input: [Float]?, residual: [Float], scale: Float) -> [UInt8] {
        let base = input.map(grey) ?? [UInt8](repeating: 0, count: 3 * residual.count)
        var out = base
        for (i, r) in residual.enumerated() {
            let t = min(max(r / max(scale, 1e-12), 0), 1)
            let alpha = min(max((t - 0.1) / 0.9, 0), 1) * 0.9
            // Heat colour: red at low residual, yellow at high.
            let heat: (Float, Float, Float) = (1, t, 0)
            for (c, h) in [heat.0, heat.1, heat.2].enumerated() {
                let b = Float(base[3 * i + c]) / 255
                out[3 * i + c] = byte(b * (1 - alpha) + h * alpha)
            }
        }
        return out
    }

    /// Annotated pixels tinted cyan over the grey input (black background when no input).
    public static func annotation(input: [Float]?, mask: [Float]) -> [UInt8] {
        var out = input.map(grey) ?? [UInt8](repeating: 0, count: 3 * mask.count)
        for (i, m) in mask.enumerated() where m != 0 {
            out[3 * i] = out[3 * i] / 3
            out[3 * i + 1] = UInt8(min(255, Int(out[3 * i + 1]) / 3 + 170))
            out[3 * i + 2] = UInt8(min(255, Int(out[3 * i + 2]) / 3 + 170))
        }
        return out
    }

    static func byte(_ v: Float) -> UInt8 { UInt8((min(max(v, 0), 1) * 255).rounded()) }

    /// The figure as SVG with each cell an embedded PNG (data URI), drawn `cell` CSS pixels wide.
    /// - Parameters:
    ///   - size: side S of the images.
    ///   - residualScale: residual at full heat-map strength.
    public static func svg(blocks: [Figure3Block], size: Int, residualScale: Float, cell: Double = 72) throws -> String {
        // Row labels are SVG markup (the subscript), not escaped.
        let allRows: [(String, (Figure3Column) -> [UInt8]?)] = [
            ("input x", { c in c.input.map(grey) }),
            ("G(z<tspan baseline-shift=\"sub\" font-size=\"8\">Γ</tspan>)", { c in c.reconstruction.map(grey) }),
            ("residual", { c in c.residual.map { overlay(input: c.input, residual: $0, scale: residualScale) } }),
            ("annotation", { c in c.mask.map { annotation(input: c.input, mask: $0) } }),
        ]
        // The annotation row only when some image has a mask.
        let rows = blocks.contains { $0.columns.contains { $0.mask != nil } } ? allRows : Array(allRows.prefix(3))
        let labelWidth = 84.0, gap = 3.0, blockGap = 16.0, barHeight = 5.0, titleHeight = 18.0
        let header = titleHeight + 2 * (barHeight + 2)
        let total = blocks.map { Double($0.columns.count) * (cell + gap) }.reduce(0, +) + Double(max(blocks.count - 1, 0)) * blockGap
        let width = labelWidth + total + 4
        let height = header + Double(rows.count) * (cell + gap) + 18
        // Scales down to the page width (viewBox keeps the aspect ratio).
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" style=\"max-width:100%;height:auto\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (r, row) in rows.enumerated() {
            let y = header + Double(r) * (cell + gap) + cell / 2 + 4
            s += "<text x=\"\(f(labelWidth - 6))\" y=\"\(f(y))\" text-anchor=\"end\">\(row.0)</text>\n"
        }
        var x = labelWidth
        for block in blocks {
            let blockWidth = Double(block.columns.count) * (cell + gap) - gap
            s += "<text x=\"\(f(x + blockWidth / 2))\" y=\"13\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(block.title))</text>\n"
            for column in block.columns {
                // Bars: red = called anomalous by R, yellow = by D; grey outline = not called.
                for (k, (called, colour)) in [(column.detectedByR, "#d62728"), (column.detectedByD, "#f2c200")].enumerated() {
                    let y = titleHeight + Double(k) * (barHeight + 2)
                    if let called {
                        s += called
                            ? "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(barHeight))\" fill=\"\(colour)\"><title>\(k == 0 ? "R" : "D") ≥ Youden cut-off</title></rect>"
                            : "<rect x=\"\(f(x + 0.5))\" y=\"\(f(y + 0.5))\" width=\"\(f(cell - 1))\" height=\"\(f(barHeight - 1))\" fill=\"none\" stroke=\"#ddd\"/>"
                    }
                }
                for (r, row) in rows.enumerated() {
                    let y = header + Double(r) * (cell + gap)
                    if let rgb = row.1(column) {
                        let png = try PNG.encode(width: size, height: size, channels: 3, pixels8: rgb)
                        s += "<image x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,\(png.base64EncodedString())\"/>"
                    } else {
                        s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"#f4f4f4\" stroke=\"#ddd\"/>"
                    }
                }
                s += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(height - 5))\" text-anchor=\"middle\" font-size=\"9\" fill=\"#555\">\(escape(column.caption))</text>\n"
                x += cell + gap
            }
            x += blockGap - gap
        }
        return s + "</svg>"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
