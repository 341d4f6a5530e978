// Percentile bootstrap confidence interval for the AUC, resampling anomalous
// and normal images separately (stratified) so every replicate keeps the
// class sizes and the AUC stays defined.

import Foundation
import Records

/// A two-sided confidence interval.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    public var lower: Double
    public var upper: Double
    /// e.g. 0.95.
    public var level: Double
    public var replicates: Int
    public var seed: UInt64
}

extension AUC {
    /// Stratified percentile bootstrap of the AUC.
    /// - Parameters:
    ///   - scores: finite, one per image; labels: `true` = anomalous, both classes present.
    ///   - replicates: number of resamples (≥ 1). 1000–2000 is usual.
    ///   - level: coverage in (0, 1).
    ///   - seed: the resamples are a pure function of the seed.
    public static func bootstrap(scores: [Double], labels: [Bool], orientation: Orientation = .higherIsAnomalous,
                                 replicates: Int = 1000, level: Double = 0.95, seed: UInt64) throws -> ConfidenceInterval {
        guard replicates >= 1 else { throw EvaluationError("bootstrap needs at least 1 replicate, got \(replicates)") }
        guard level > 0 && level < 1 else { throw EvaluationError("confidence level must be in (0, 1), got \(level)") }
        try checkScores(scores, labels: labels)
        var pos = [Double](), neg = [Double]()
        for (s, l) in zip(scores, labels) { if l { pos.append(orientation.rankValue(s)) } else { neg.append(orientation.rankValue(s)) } }
        pos.sort(); neg.sort()
        // Sorting once and drawing multiplicities keeps each replicate O(P + N).
        var rng = SeededGenerator(seed: seed)
        var wp = [Int](repeating: 0, count: pos.count), wn = [Int](repeating: 0, count: neg.count)
        var aucs = [Double]()
        aucs.reserveCapacity(replicates)
        for _ in 0..<replicates {
            for i in wp.indices { wp[i] = 0 }
            for i in wn.indices { wn[i] = 0 }
            for _ in 0..<pos.count { wp[rng.index(below: pos.count)] += 1 }
            for _ in 0..<neg.count { wn[rng.index(below: neg.count)] += 1 }
            aucs.append(weighted(positives: pos, positiveWeights: wp, negatives: neg, negativeWeights: wn))
        }
        aucs.sort()
        let alpha = (1 - level) / 2
        return ConfidenceInterval(lower: quantile(sorted: aucs, alpha), upper: quantile(sorted: aucs, 1 - alpha),
                                  level: level, replicates: replicates, seed: seed)
    }
}

/// Linear-interpolation quantile of an ascending array (NumPy's default), q in [0, 1].
public func quantile(sorted values: [Double], _ q: Double) -> Double {
    precondition(!values.isEmpty)
    let position = q * Double(values.count - 1)
    let lo = Int(position.rounded(.down)), hi = min(lo + 1, values.count - 1)
    return values[lo] + (values[hi] - values[lo]) * (position - Double(lo))
}
