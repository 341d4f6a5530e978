// Youden.swift: the operating point of maximal Youden's J and the statistics at
// a cut-off chosen elsewhere, on hand-computed examples. (The Youden point on
// random data against a brute-force search is in ROCTests.)

import XCTest
import Records
@testable import Evaluation

final class YoudenTests: XCTestCase {
    func testUniqueYoudenWithPrecision() throws {
        // Anomalous 0.9, 0.6, 0.3; normal 0.8, 0.2, 0.1.
        // Cut 0.3: TP 3, FP 1 → sens 1, spec 2/3, J 2/3, precision 3/4 (the unique maximum).
        let roc = try ROCCurve(scores: [0.9, 0.8, 0.6, 0.3, 0.2, 0.1], labels: [true, false, true, true, false, false])
        let y = roc.youden
        XCTAssertEqual(y.threshold, 0.3)
        XCTAssertEqual(y.sensitivity, 1)
        XCTAssertEqual(y.specificity, 2.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(y.precision!, 0.75, accuracy: 1e-15)
        // 0.9 beats 3 normals, 0.6 beats 2, 0.3 beats 2 → 7 of 9.
        XCTAssertEqual(roc.auc, 7.0 / 9.0, accuracy: 1e-15)
    }
    func testOperatingPointAtAThresholdChosenElsewhere() throws {
        // Anomalous 0.35, 0.8; normal 0.1, 0.4. Called anomalous: score ≥ cut-off.
        let roc = try ROCCurve(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])
        // 0.5: only 0.8 → TP 1, FP 0, TN 2, FN 1; the cut-off is reported as given.
        let a = roc.operatingPoint(at: 0.5)
        XCTAssertEqual(a.threshold, 0.5)
        XCTAssertEqual([a.truePositives, a.falsePositives, a.trueNegatives, a.falseNegatives], [1, 0, 2, 1])
        XCTAssertEqual(a.sensitivity, 0.5)
        XCTAssertEqual(a.specificity, 1)
        XCTAssertEqual(a.precision, 1)
        XCTAssertEqual(a.youdenIndex, 0.5)
        // 0.35 exactly: 0.35, 0.4, 0.8 → TP 2, FP 1: sensitivity 1, specificity ½, precision ⅔.
        let b = roc.operatingPoint(at: 0.35)
        XCTAssertEqual([b.truePositives, b.falsePositives, b.trueNegatives, b.falseNegatives], [2, 1, 1, 0])
        XCTAssertEqual(b.precision!, 2.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(b.youdenIndex, 0.5)
        // Above every score nothing is called anomalous; below every score everything is.
        let c = roc.operatingPoint(at: 0.9)
        XCTAssertEqual([c.truePositives, c.falsePositives], [0, 0])
        XCTAssertNil(c.precision)
        XCTAssertEqual(c.youdenIndex, 0)
        let d = roc.operatingPoint(at: 0)
        XCTAssertEqual([d.truePositives, d.falsePositives, d.trueNegatives], [2, 2, 0])
        XCTAssertEqual(d.precision, 0.5)
        XCTAssertEqual(d.specificity, 0)

        // P_D (lower is anomalous): called anomalous when P_D ≤ cut-off.
        // Anomalous 0.8, 0.2, 0.1; normal 0.9, 0.6, 0.3.
        let pd = try ROCCurve(scores: [0.9, 0.8, 0.6, 0.3, 0.2, 0.1], labels: [false, true, false, false, true, true],
                              orientation: .lowerIsAnomalous)
        // ≤ 0.25: 0.2, 0.1 → TP 2, FP 0.
        let e = pd.operatingPoint(at: 0.25)
        XCTAssertEqual(e.threshold, 0.25)
        XCTAssertEqual([e.truePositives, e.falsePositives, e.trueNegatives, e.falseNegatives], [2, 0, 3, 1])
        // ≤ 0.7: 0.6, 0.3, 0.2, 0.1 → TP 2, FP 2: sensitivity ⅔, specificity ⅓, precision ½.
        let f = pd.operatingPoint(at: 0.7)
        XCTAssertEqual([f.truePositives, f.falsePositives], [2, 2])
        XCTAssertEqual(f.sensitivity, 2.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(f.specificity, 1.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(f.precision, 0.5)
    }
}
