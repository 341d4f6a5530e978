// Image-level ROC curves and the exact area under them. Convention throughout
// anogan: label 1 = anomalous = positive, and a score is compared with a
// cut-off so that "score ≥ cut-off" means "called anomalous" (for scores where
// low means anomalous, such as P_D, the comparison is flipped; see `Orientation`).

import Foundation
import Records

/// A problem with the numbers handed to a metric (empty class, NaN, mismatched
/// lengths). `description` is a one-line message for the CLI.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Which end of a score is anomalous.
public enum Orientation: String, Codable, Sendable {
    /// Large scores are anomalous (R, D, A, R̂, D̂, Â, aCAE's A). Called anomalous when score ≥ cut-off.
    case higherIsAnomalous
    /// Small scores are anomalous. Used for P_D = σ(D(x)): the discriminator calls
    /// normal-looking images real (P_D near 1), so ranking is by −P_D and an image
    /// is called anomalous when P_D ≤ cut-off.
    case lowerIsAnomalous

    /// The orientation anogan uses for a score column of a ScoreTable.
    public static func forColumn(_ name: String) -> Orientation {
        name == "P_D" ? .lowerIsAnomalous : .higherIsAnomalous
    }

    /// Maps a score to the "higher is anomalous" ranking value.
    @inlinable public func rankValue(_ score: Double) -> Double {
        self == .higherIsAnomalous ? score : -score
    }
}

/// One operating point of a ROC curve.
public struct ROCPoint: Codable, Equatable, Sendable {
    /// Cut-off in the score's own units. Images with score ≥ threshold
    /// (≤ for `.lowerIsAnomalous`) are called anomalous. The first point,
    /// (0, 0), has an infinite threshold: nothing is called anomalous.
    public var threshold: Double
    public var truePositives: Int
    public var falsePositives: Int
    /// In [0, 1].
    public var truePositiveRate: Double
    /// In [0, 1].
    public var falsePositiveRate: Double
}

/// The ROC curve of one score against binary labels, with its exact AUC.
public struct ROCCurve: Codable, Equatable, Sendable {
    /// Number of anomalous (label 1) and normal (label 0) images.
    public let positives: Int
    public let negatives: Int
    public let orientation: Orientation
    /// From (0, 0) to (1, 1), one point per distinct score value; tied scores
    /// move the curve diagonally, which is what makes the area count a tie as ½.
    public let points: [ROCPoint]
    /// Area under the curve = P(score of a random anomalous image ranks above a
    /// random normal one) + ½·P(tie). Exact (integer pair counts).
    public let auc: Double

    /// - Parameters:
    ///   - scores: one finite score per image (NaN is an error: it cannot be ranked).
    ///   - labels: `true` = anomalous. Both classes must be present.
    public init(scores: [Double], labels: [Bool], orientation: Orientation = .higherIsAnomalous) throws {
        try checkScores(scores, labels: labels)
        let ranked = scores.map(orientation.rankValue)
        let order = ranked.indices.sorted { ranked[$0] > ranked[$1] }
        let positives = labels.lazy.filter { $0 }.count
        let negatives = labels.count - positives
        let infinite = orientation == .higherIsAnomalous ? Double.infinity : -Double.infinity
        var points = [ROCPoint(threshold: infinite, truePositives: 0, falsePositives: 0,
                               truePositiveRate: 0, falsePositiveRate: 0)]
        var tp = 0, fp = 0, k = 0
        while k < order.count {
            let value = ranked[order[k]]
            while k < order.count && ranked[order[k]] == value {
                if labels[order[k]] { tp += 1 } else { fp += 1 }
                k += 1
            }
            points.append(ROCPoint(threshold: scores[order[k - 1]], truePositives: tp, falsePositives: fp,
                                   truePositiveRate: Double(tp) / Double(positives),
                                   falsePositiveRate: Double(fp) / Double(negatives)))
        }
        self.positives = positives
        self.negatives = negatives
        self.orientation = orientation
        self.points = points
        var pos = [Double](), neg = [Double]()
        for (v, l) in zip(ranked, labels) { if l { pos.append(v) } else { neg.append(v) } }
        pos.sort(); neg.sort()
        self.auc = AUC.sorted(positives: pos, negatives: neg)
    }

    /// The trapezoidal area under `points`; equals `auc` up to rounding (a check, not the definition).
    public var trapezoidArea: Double {
        var twice = 0  // 2·P·N·area in integers
        for (a, b) in zip(points, points.dropFirst()) {
            twice += (b.falsePositives - a.falsePositives) * (b.truePositives + a.truePositives)
        }
        return Double(twice) / Double(2 * positives * negatives)
    }
}

/// AUC as a pair count over separately sorted classes: for every anomalous value,
/// the normals below it count 1 and the normals equal to it count ½. O(P + N)
/// after sorting, exact in integer arithmetic, and usable with weights for the
/// bootstrap and with millions of pixels (4 bytes per value).
public enum AUC {
    /// Both arrays ascending, finite, non-empty ("higher is anomalous" values).
    public static func sorted<T: Comparable>(positives: [T], negatives: [T]) -> Double {
        weighted(positives: positives, positiveWeights: nil, negatives: negatives, negativeWeights: nil)
    }

    /// Like `sorted`, with an integer multiplicity per value (a bootstrap resample).
    /// `nil` weights mean 1 each.
    public static func weighted<T: Comparable>(positives: [T], positiveWeights: [Int]?,
                                               negatives: [T], negativeWeights: [Int]?) -> Double {
        // 2·(count of pos > neg) + (count of ties), accumulated in integers.
        var twice = 0
        var below = 0   // total weight of negatives strictly below the current positive value
        var equal = 0   // total weight of negatives equal to it
        var j = 0
        var lastValue: T? = nil
        var totalP = 0
        for i in positives.indices {
            let v = positives[i]
            let wp = positiveWeights?[i] ?? 1
            totalP += wp
            if wp == 0 { continue }
            if lastValue != v {
                below += equal; equal = 0
                while j < negatives.count && negatives[j] < v { below += negativeWeights?[j] ?? 1; j += 1 }
                while j < negatives.count && negatives[j] == v { equal += negativeWeights?[j] ?? 1; j += 1 }
                lastValue = v
            }
            twice += wp * (2 * below + equal)
        }
        let totalN = negativeWeights?.reduce(0, +) ?? negatives.count
        return Double(twice) / Double(2 * totalP * totalN)
    }
}

/// Rejects what cannot be ranked: length mismatch, an empty class, NaN or ±∞.
func checkScores(_ scores: [Double], labels: [Bool]) throws {
    guard scores.count == labels.count else {
        throw EvaluationError("\(scores.count) scores but \(labels.count) labels")
    }
    if let bad = scores.firstIndex(where: { !$0.isFinite }) {
        throw EvaluationError("score \(bad) is \(scores[bad]); non-finite scores cannot be ranked")
    }
    let positives = labels.lazy.filter { $0 }.count
    guard positives > 0 else { throw EvaluationError("no anomalous (label 1) images: ROC/AUC undefined") }
    guard positives < labels.count else { throw EvaluationError("no normal (label 0) images: ROC/AUC undefined") }
}
