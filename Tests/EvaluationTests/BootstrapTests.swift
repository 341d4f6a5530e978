// Bootstrap CI of the AUC: determinism, stratification, and width against the
// Hanley–McNeil (1982) standard error, an independent closed form.

import XCTest
import Records
import TestSupport
@testable import Evaluation

final class BootstrapTests: XCTestCase {
    func normalScores(_ n: Int, shift: Double, rng: inout SeededGenerator) -> [Double] {
        (0..<n).map { _ in Double(rng.normal()) + shift }
    }

    func testWidthMatchesHanleyMcNeil() throws {
        var rng = SeededGenerator(seed: 11)
        let pos = normalScores(150, shift: 1, rng: &rng), neg = normalScores(150, shift: 0, rng: &rng)
        let scores = pos + neg, labels = pos.map { _ in true } + neg.map { _ in false }
        let auc = try ROCCurve(scores: scores, labels: labels).auc
        let ci = try AUC.bootstrap(scores: scores, labels: labels, replicates: 400, seed: 5)
        let q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc)
        let np = Double(pos.count), nn = Double(neg.count)
        let se = ((auc * (1 - auc) + (np - 1) * (q1 - auc * auc) + (nn - 1) * (q2 - auc * auc)) / (np * nn)).squareRoot()
        let ratio = (ci.upper - ci.lower) / (2 * 1.96 * se)
        XCTAssertGreaterThan(ratio, 0.75, "CI [\(ci.lower), \(ci.upper)] vs SE \(se)")
        XCTAssertLessThan(ratio, 1.3, "CI [\(ci.lower), \(ci.upper)] vs SE \(se)")
        XCTAssertLessThan(ci.lower, auc)
        XCTAssertGreaterThan(ci.upper, auc)
        XCTAssertEqual(ci.level, 0.95)
    }

    func testSeededAndStratified() throws {
        let scores: [Double] = [0.1, 0.4, 0.35, 0.8, 0.5, 0.2, 0.9, 0.3]
        let labels = [false, false, true, true, false, false, true, true]
        let a = try AUC.bootstrap(scores: scores, labels: labels, replicates: 200, seed: 1)
        let b = try AUC.bootstrap(scores: scores, labels: labels, replicates: 200, seed: 1)
        let c = try AUC.bootstrap(scores: scores, labels: labels, replicates: 200, seed: 2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        // With only one anomalous and one normal image, stratified resamples always
        // keep one of each: every replicate has the same AUC. (Unstratified resampling
        // would often draw a single class and be undefined.)
        let d = try AUC.bootstrap(scores: [0.2, 0.7], labels: [false, true], replicates: 50, seed: 3)
        XCTAssertEqual(d.lower, 1); XCTAssertEqual(d.upper, 1)
        // Perfect separation stays perfect in every resample.
        let e = try AUC.bootstrap(scores: [1, 2, 3, 10, 11, 12], labels: [false, false, false, true, true, true], replicates: 50, seed: 3)
        XCTAssertEqual(e.lower, 1); XCTAssertEqual(e.upper, 1)
    }

    func testWeightedAUCEqualsExpandedSample() {
        // Multiplicities are the same as repeating values.
        let pos: [Double] = [1, 2, 2, 5], neg: [Double] = [0, 2, 3, 3]
        let wp = [2, 0, 1, 3], wn = [1, 2, 0, 1]
        var ep = [Double](), en = [Double]()
        for (v, w) in zip(pos, wp) { ep += Array(repeating: v, count: w) }
        for (v, w) in zip(neg, wn) { en += Array(repeating: v, count: w) }
        let expected = pairwiseAUC(ep + en, ep.map { _ in true } + en.map { _ in false })
        XCTAssertEqual(AUC.weighted(positives: pos, positiveWeights: wp, negatives: neg, negativeWeights: wn), expected, accuracy: 1e-15)
    }

    func testQuantileInterpolates() {
        XCTAssertEqual(quantile(sorted: [1, 2, 3, 4], 0.5), 2.5)
        XCTAssertEqual(quantile(sorted: [1, 2, 3, 4], 0), 1)
        XCTAssertEqual(quantile(sorted: [1, 2, 3, 4], 1), 4)
        XCTAssertEqual(quantile(sorted: [0, 10], 0.025), 0.25, accuracy: 1e-12)
    }
}
