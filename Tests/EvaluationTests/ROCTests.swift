// ROC.swift: ROC curves and their AUC on hand-computed examples (with ties)
// and against plain O(n²) / brute-force references on random data (the
// Youden point read off each curve included).

import XCTest
import Records
import TestSupport
@testable import Evaluation

/// Youden's J by trying every cut-off directly.
func bruteForceYouden(_ scores: [Double], _ labels: [Bool]) -> Double {
    let p = Double(labels.filter { $0 }.count), n = Double(labels.count) - p
    var best = 0.0
    for t in Set(scores) {
        var tp = 0.0, fp = 0.0
        for (s, l) in zip(scores, labels) where s >= t { if l { tp += 1 } else { fp += 1 } }
        best = max(best, tp / p + (n - fp) / n - 1)
    }
    return best
}

func randomData(count: Int, levels: Int, rng: inout SeededGenerator) -> ([Double], [Bool]) {
    var s = [Double](), l = [Bool]()
    for k in 0..<count {
        let anomalous = k % 3 == 0 || rng.uniform() < 0.2
        // Few distinct levels make many ties; anomalous images lean higher.
        s.append(Double(rng.index(below: levels) + (anomalous ? rng.index(below: 2) : 0)))
        l.append(anomalous)
    }
    if !l.contains(false) { l[1] = false }
    return (s, l)
}

final class ROCTests: XCTestCase {
    func testTextbookExample() throws {
        // Anomalous 0.35, 0.8; normal 0.1, 0.4: pairs (0.35>0.1), (0.8>0.1), (0.8>0.4) → 3/4.
        let roc = try ROCCurve(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])
        XCTAssertEqual(roc.auc, 0.75)
        XCTAssertEqual(roc.points.map(\.truePositiveRate), [0, 0.5, 0.5, 1, 1])
        XCTAssertEqual(roc.points.map(\.falsePositiveRate), [0, 0, 0.5, 0.5, 1])
        XCTAssertEqual(Array(roc.points.map(\.threshold).dropFirst()), [0.8, 0.4, 0.35, 0.1])
        XCTAssertEqual(roc.points[0].threshold, .infinity)
        // J = 0.5 at 0.8 and at 0.35; the higher cut-off wins.
        let y = roc.youden
        XCTAssertEqual(y.threshold, 0.8)
        XCTAssertEqual(y.sensitivity, 0.5)
        XCTAssertEqual(y.specificity, 1)
        XCTAssertEqual(y.precision, 1)
        XCTAssertEqual(y.recall, 0.5)
        XCTAssertEqual(y.youdenIndex, 0.5)
    }

    func testTiesCountHalf() throws {
        // Anomalous 2, 3, 4; normal 1, 2, 3.
        // 2: beats 1, ties 2 → 1.5; 3: beats 1, 2, ties 3 → 2.5; 4: beats all → 3. Total 7 of 9.
        let scores: [Double] = [1, 2, 2, 3, 3, 4]
        let labels = [false, false, true, false, true, true]
        let roc = try ROCCurve(scores: scores, labels: labels)
        XCTAssertEqual(roc.auc, 7.0 / 9.0, accuracy: 1e-15)
        XCTAssertEqual(roc.trapezoidArea, 7.0 / 9.0, accuracy: 1e-15)
        // Tied groups move diagonally: one point per distinct score.
        XCTAssertEqual(roc.points.map(\.truePositives), [0, 1, 2, 3, 3])
        XCTAssertEqual(roc.points.map(\.falsePositives), [0, 0, 1, 2, 3])
        let y = roc.youden
        XCTAssertEqual(y.threshold, 4)
        XCTAssertEqual(y.youdenIndex, 1.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(y.truePositives, 1)
        XCTAssertEqual(y.trueNegatives, 3)
        XCTAssertEqual(y.falseNegatives, 2)
    }

    func testAllTied() throws {
        let roc = try ROCCurve(scores: [0.5, 0.5, 0.5, 0.5], labels: [false, true, false, true])
        XCTAssertEqual(roc.auc, 0.5)
        XCTAssertEqual(roc.points.count, 2)
        XCTAssertEqual(roc.youden.youdenIndex, 0)
        XCTAssertNil(roc.youden.precision, "nothing is called anomalous at the infinite cut-off")
    }

    func testLowerIsAnomalousRanksNegatedScores() throws {
        // P_D: anomalous images get low discriminator outputs.
        let pd: [Double] = [0.9, 0.8, 0.6, 0.3, 0.2, 0.1]
        let labels = [false, true, false, false, true, true]
        let roc = try ROCCurve(scores: pd, labels: labels, orientation: .lowerIsAnomalous)
        XCTAssertEqual(roc.auc, pairwiseAUC(pd.map { -$0 }, labels), accuracy: 1e-15)
        // −0.8 beats −0.9; −0.2 and −0.1 beat all three normals → 7 of 9.
        XCTAssertEqual(roc.auc, 7.0 / 9.0, accuracy: 1e-15)
        // Cut-off in P_D's own units: called anomalous when P_D ≤ 0.2 (TP 2, FP 0, J 2/3).
        XCTAssertEqual(roc.youden.threshold, 0.2)
        XCTAssertEqual(roc.youden.sensitivity, 2.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(roc.youden.specificity, 1)
        XCTAssertEqual(roc.points[0].threshold, -.infinity)
        XCTAssertEqual(Orientation.forColumn("P_D"), .lowerIsAnomalous)
        XCTAssertEqual(Orientation.forColumn("A"), .higherIsAnomalous)
    }

    func testAgainstPairwiseReferenceOnRandomData() throws {
        var rng = SeededGenerator(seed: 7)
        for trial in 0..<30 {
            let (s, l) = randomData(count: 20 + trial * 7, levels: 2 + trial % 6, rng: &rng)
            let roc = try ROCCurve(scores: s, labels: l)
            XCTAssertEqual(roc.auc, pairwiseAUC(s, l), accuracy: 1e-12)
            XCTAssertEqual(roc.trapezoidArea, roc.auc, accuracy: 1e-12)
            XCTAssertEqual(roc.youden.youdenIndex, bruteForceYouden(s, l), accuracy: 1e-12)
            // The Youden statistics are what direct counting at its cut-off gives.
            let t = roc.youden.threshold
            let tp = zip(s, l).filter { $0.0 >= t && $0.1 }.count
            let fp = zip(s, l).filter { $0.0 >= t && !$0.1 }.count
            XCTAssertEqual(roc.youden.truePositives, tp)
            XCTAssertEqual(roc.youden.falsePositives, fp)
            XCTAssertEqual(roc.operatingPoint(at: t), roc.youden)
        }
    }

    func testRejectsWhatCannotBeRanked() {
        XCTAssertThrowsError(try ROCCurve(scores: [1, .nan, 2], labels: [true, false, false])) { e in
            XCTAssertTrue("\(e)".contains("score 1 is nan"), "\(e)")
        }
        XCTAssertThrowsError(try ROCCurve(scores: [1, 2], labels: [false, false]))
        XCTAssertThrowsError(try ROCCurve(scores: [1, 2], labels: [true, true]))
        XCTAssertThrowsError(try ROCCurve(scores: [1, 2, 3], labels: [true, false]))
        XCTAssertThrowsError(try ROCCurve(scores: [], labels: []))
    }
}
