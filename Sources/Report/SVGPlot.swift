// Plots as pure functions from data to SVG text: ROC curves (Fig. 4 a, b),
// score histograms (Fig. 4 c, d) and 2-D scatter (Fig. 2 b). Each returns a
// complete <svg> element with axes, ticks, axis labels and a legend, ready to
// be inlined into the HTML report.

import Foundation
import Records
import Evaluation

/// A named colour for a curve, bar set or point group (any CSS colour).
public struct PlotSeries<Data> {
    public var label: String
    public var color: String
    public var data: Data
    public init(label: String, color: String, data: Data) { self.label = label; self.color = color; self.data = data }
}

public enum SVGPlot {
    /// Plot size in CSS pixels; the plot area is inset by `margin`.
    public static let width = 420.0, height = 360.0
    static let margin = (left: 58.0, right: 14.0, top: 30.0, bottom: 48.0)

    // MARK: Figures

    /// ROC curves (false-positive rate → true-positive rate, both [0, 1]) with the
    /// chance diagonal; the legend shows each curve's label as given (put the AUC in it).
    public static func roc(title: String, curves: [PlotSeries<ROCCurve>]) -> String {
        let frame = Frame(x: 0...1, y: 0...1)
        var body = "<line x1=\"\(f(frame.px(0)))\" y1=\"\(f(frame.py(0)))\" x2=\"\(f(frame.px(1)))\" y2=\"\(f(frame.py(1)))\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n"
        for curve in curves {
            let pts = thinned(curve.data.points.map { (frame.px($0.falsePositiveRate), frame.py($0.truePositiveRate)) })
            body += "<polyline fill=\"none\" stroke=\"\(escape(curve.color))\" stroke-width=\"2\" points=\"\(pts.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>\n"
        }
        return chart(title: title, frame: frame, xLabel: "false positive rate (1 − specificity)",
                     yLabel: "true positive rate (sensitivity)", body: body,
                     legend: curves.map { ($0.label, $0.color) }, legendCorner: .bottomRight)
    }

    /// Overlaid density histograms of one score for several groups on common bins.
    /// Each group's bar heights integrate to 1 so groups of different sizes compare.
    /// `markers` draws labelled vertical dashed lines (e.g. the Youden cut-off).
    public static func histogram(title: String, xLabel: String, groups: [PlotSeries<[Double]>], bins: Int = 30,
                                 markers: [PlotSeries<Double>] = []) -> String {
        let all = (groups.flatMap(\.data) + markers.map(\.data)).filter(\.isFinite)
        guard let lo = all.min(), let hi = all.max() else {
            return chart(title: title, frame: Frame(x: 0...1, y: 0...1), xLabel: xLabel, yLabel: "density",
                         body: "", legend: [], legendCorner: .topRight, message: "no values")
        }
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        let start = hi > lo ? lo : lo - 0.5
        let densities = groups.map { densityHistogram($0.data, start: start, binWidth: width, bins: bins) }
        let top = max(densities.flatMap { $0 }.max() ?? 1, 1e-300) * 1.08
        let frame = Frame(x: start...(start + width * Double(bins)), y: 0...top)
        var body = ""
        for (g, d) in zip(groups, densities) {
            // A step outline over translucent bars: overlapping groups stay readable.
            var path = "M\(f(frame.px(start))),\(f(frame.py(0)))"
            for (k, h) in d.enumerated() {
                let x0 = start + Double(k) * width
                path += " L\(f(frame.px(x0))),\(f(frame.py(h))) L\(f(frame.px(x0 + width))),\(f(frame.py(h)))"
            }
            path += " L\(f(frame.px(start + width * Double(bins)))),\(f(frame.py(0))) Z"
            body += "<path d=\"\(path)\" fill=\"\(escape(g.color))\" fill-opacity=\"0.18\" stroke=\"\(escape(g.color))\" stroke-width=\"1.5\"/>\n"
        }
        for m in markers where m.data.isFinite {
            let x = frame.px(m.data)
            body += "<line x1=\"\(f(x))\" y1=\"\(f(frame.py(0)))\" x2=\"\(f(x))\" y2=\"\(f(frame.py(top)))\" stroke=\"\(escape(m.color))\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>"
            // Written down along the line: narrow, so it rarely collides with bars or the legend.
            body += "<text transform=\"translate(\(f(x - 3)),\(f(frame.py(top) + 4))) rotate(-90)\" text-anchor=\"end\" fill=\"\(escape(m.color))\" font-size=\"10\">\(escape(m.label))</text>\n"
        }
        // The legend goes to the top corner whose bars are lower.
        let side = max(bins * 2 / 5, 1)
        let leftPeak = densities.map { $0.prefix(side).max() ?? 0 }.max() ?? 0
        let rightPeak = densities.map { $0.suffix(side).max() ?? 0 }.max() ?? 0
        return chart(title: title, frame: frame, xLabel: xLabel, yLabel: "density", body: body,
                     legend: groups.map { ("\($0.label) (n = \($0.data.filter(\.isFinite).count))", $0.color) },
                     legendCorner: leftPeak < rightPeak ? .topLeft : .topRight)
    }

    /// Scatter plot of 2-D points (x, y pairs), one colour per group; axes unlabelled units.
    public static func scatter(title: String, groups: [PlotSeries<[(Double, Double)]>], xLabel: String = "t-SNE 1", yLabel: String = "t-SNE 2") -> String {
        let all = groups.flatMap(\.data)
        let xs = all.map(\.0), ys = all.map(\.1)
        func padded(_ v: [Double]) -> ClosedRange<Double> {
            guard let lo = v.min(), let hi = v.max() else { return 0...1 }
            let pad = hi > lo ? (hi - lo) * 0.05 : 1
            return (lo - pad)...(hi + pad)
        }
        let frame = Frame(x: padded(xs), y: padded(ys))
        var body = ""
        for g in groups {
            body += "<g fill=\"\(escape(g.color))\" fill-opacity=\"0.7\">"
            for (x, y) in g.data { body += "<circle cx=\"\(f(frame.px(x)))\" cy=\"\(f(frame.py(y)))\" r=\"2.5\"/>" }
            body += "</g>\n"
        }
        return chart(title: title, frame: frame, xLabel: xLabel, yLabel: yLabel, body: body,
                     legend: groups.map { ("\($0.label) (n = \($0.data.count))", $0.color) }, legendCorner: .topRight)
    }

    /// Bar heights of a density histogram: count / (n · binWidth) per bin, so the
    /// bars integrate to 1. Bin k covers [start + k·w, start + (k+1)·w); values at
    /// or beyond the end fall in the last bin, non-finite values are skipped.
    public static func densityHistogram(_ values: [Double], start: Double, binWidth: Double, bins: Int) -> [Double] {
        var counts = [Double](repeating: 0, count: bins)
        let finite = values.filter(\.isFinite)
        for v in finite { counts[min(max(Int((v - start) / binWidth), 0), bins - 1)] += 1 }
        return counts.map { finite.isEmpty ? 0 : $0 / (Double(finite.count) * binWidth) }
    }

    // MARK: Frame, axes, legend

    /// Maps data coordinates into the plot area (y grows upwards in data, downwards in SVG).
    struct Frame {
        var x: ClosedRange<Double>
        var y: ClosedRange<Double>
        func px(_ v: Double) -> Double {
            margin.left + (v - x.lowerBound) / span(x) * (SVGPlot.width - margin.left - margin.right)
        }
        func py(_ v: Double) -> Double {
            SVGPlot.height - margin.bottom - (v - y.lowerBound) / span(y) * (SVGPlot.height - margin.top - margin.bottom)
        }
        private func span(_ r: ClosedRange<Double>) -> Double { r.upperBound > r.lowerBound ? r.upperBound - r.lowerBound : 1 }
    }

    enum Corner { case topLeft, topRight, bottomRight }

    static func chart(title: String, frame: Frame, xLabel: String, yLabel: String, body: String,
                      legend: [(String, String)], legendCorner: Corner, message: String? = nil) -> String {
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f((left + right) / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        // Ticks and light grid lines.
        for t in ticks(frame.x) {
            let x = frame.px(t)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(bottom))\" stroke=\"#eee\"/>"
            s += "<line x1=\"\(f(x))\" y1=\"\(f(bottom))\" x2=\"\(f(x))\" y2=\"\(f(bottom + 4))\" stroke=\"#333\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(tickLabel(t, range: frame.x))</text>\n"
        }
        for t in ticks(frame.y) {
            let y = frame.py(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            s += "<line x1=\"\(f(left - 4))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"#333\"/>"
            s += "<text x=\"\(f(left - 7))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(tickLabel(t, range: frame.y))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(14,\(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        s += body
        if let message {
            s += "<text x=\"\(f((left + right) / 2))\" y=\"\(f((top + bottom) / 2))\" text-anchor=\"middle\" fill=\"#888\">\(escape(message))</text>\n"
        }
        if !legend.isEmpty {
            let rowHeight = 16.0
            let boxWidth = min(right - left - 12, 24 + Double(legend.map(\.0.count).max() ?? 0) * 6.2)
            let boxHeight = rowHeight * Double(legend.count) + 8
            let x0 = legendCorner == .topLeft ? left + 6 : right - boxWidth - 6
            let y0 = legendCorner == .bottomRight ? bottom - boxHeight - 6 : top + 6
            s += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(boxWidth))\" height=\"\(f(boxHeight))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
            for (k, (label, color)) in legend.enumerated() {
                let y = y0 + 4 + rowHeight * (Double(k) + 0.5)
                s += "<line x1=\"\(f(x0 + 6))\" y1=\"\(f(y))\" x2=\"\(f(x0 + 20))\" y2=\"\(f(y))\" stroke=\"\(escape(color))\" stroke-width=\"3\"/>"
                s += "<text x=\"\(f(x0 + 24))\" y=\"\(f(y + 4))\">\(escape(label))</text>\n"
            }
        }
        return s + "</svg>"
    }

    /// "Nice" tick positions (steps of 1, 2 or 5 × 10^k), about `target` of them, inside `range`.
    public static func ticks(_ range: ClosedRange<Double>, target: Int = 5) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let step = tickStep(span: span, target: target)
        let first = (range.lowerBound / step).rounded(.up)
        let last = (range.upperBound / step).rounded(.down)
        guard last >= first else { return [] }
        // Multiplying integers by the step avoids accumulated drift (0.30000000000000004).
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func tickStep(span: Double, target: Int) -> Double {
        let raw = span / Double(max(target, 1))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        return (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude
    }

    static func tickLabel(_ v: Double, range: ClosedRange<Double>) -> String {
        let step = tickStep(span: max(range.upperBound - range.lowerBound, 1e-300), target: 5)
        let decimals = max(0, Int(-log10(step).rounded(.down)))
        let big = max(abs(range.lowerBound), abs(range.upperBound))
        if big >= 1e5 || (big < 1e-3 && big > 0) { return String(format: "%.2g", v) }
        return String(format: "%.\(decimals)f", v == 0 ? 0 : v)
    }

    /// Drops points closer than half a pixel to the last kept one (long ROC curves), keeping the ends.
    static func thinned(_ points: [(Double, Double)]) -> [(Double, Double)] {
        guard points.count > 2 else { return points }
        var out = [points[0]]
        for p in points.dropFirst().dropLast() {
            let q = out[out.count - 1]
            if abs(p.0 - q.0) >= 0.5 || abs(p.1 - q.1) >= 0.5 { out.append(p) }
        }
        out.append(points[points.count - 1])
        return out
    }

    /// Two decimals are enough at screen resolution and keep files small.
    static func f(_ v: Double) -> String { String(format: "%.2f", v) }
}

/// Escapes text for XML/HTML content and attribute values.
public func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
