// The operating point the paper reports in Table 1: the cut-off that maximises
// Youden's index J = sensitivity + specificity − 1 on the ROC curve.

import Foundation
import Records

/// Clinical statistics at one cut-off (Table 1's columns).
public struct OperatingPoint: Codable, Equatable, Sendable {
    /// Cut-off in the score's units (≥ calls anomalous; ≤ for `.lowerIsAnomalous`).
    public var threshold: Double
    public var truePositives: Int
    public var falsePositives: Int
    public var trueNegatives: Int
    public var falseNegatives: Int
    /// TP / (TP + FN), in [0, 1]. Same as `recall`.
    public var sensitivity: Double
    /// TN / (TN + FP), in [0, 1].
    public var specificity: Double
    /// TP / (TP + FP); nil when nothing is called anomalous.
    public var precision: Double?
    /// TP / (TP + FN), in [0, 1].
    public var recall: Double
    /// Youden's J = sensitivity + specificity − 1, in [−1, 1].
    public var youdenIndex: Double

    public init(_ p: ROCPoint, positives: Int, negatives: Int) {
        threshold = p.threshold
        truePositives = p.truePositives
        falsePositives = p.falsePositives
        trueNegatives = negatives - p.falsePositives
        falseNegatives = positives - p.truePositives
        sensitivity = Double(p.truePositives) / Double(positives)
        specificity = Double(trueNegatives) / Double(negatives)
        let called = p.truePositives + p.falsePositives
        precision = called == 0 ? nil : Double(p.truePositives) / Double(called)
        recall = sensitivity
        youdenIndex = sensitivity + specificity - 1
    }
}

extension ROCCurve {
    /// The point of maximal Youden's J. Among equal maxima (compared on integer
    /// counts, so no rounding decides) the one with the highest cut-off wins:
    /// the most conservative threshold with the same J.
    public var youden: OperatingPoint {
        // J·P·N = TP·N − FP·P: compare in integers.
        var best = 0
        var bestValue = Int.min
        for (k, p) in points.enumerated() {
            let value = p.truePositives * negatives - p.falsePositives * positives
            if value > bestValue { bestValue = value; best = k }
        }
        return OperatingPoint(points[best], positives: positives, negatives: negatives)
    }

    /// Statistics when calling anomalous every image at or beyond `threshold`
    /// (a cut-off chosen elsewhere, e.g. on another data set).
    public func operatingPoint(at threshold: Double) -> OperatingPoint {
        let t = orientation.rankValue(threshold)
        // Points are in decreasing rank order; the last one with rank ≥ t applies.
        var chosen = points[0]
        for p in points.dropFirst() where orientation.rankValue(p.threshold) >= t { chosen = p }
        chosen.threshold = threshold
        return OperatingPoint(chosen, positives: positives, negatives: negatives)
    }
}
