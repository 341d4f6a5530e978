// Marker candidates and their cut-offs against hand-made maps: 8-connected
// regions with boxes, centroids and means computed by hand; the percentile as
// NumPy's linear one; Youden's cut-off against ROCCurve.youden; Dice by hand.

import Evaluation
import Foundation
import Records
import XCTest

final class MarkerCandidatesTests: XCTestCase {
    func testRegionsAreEightConnectedWithTheirStatisticsLargestMassFirst() {
        // 6 wide, 5 high. A: a diagonal pair joined by the corner (8-connected) plus a third pixel;
        // B: one bright pixel; C: a 2×2 block, masked half out by `allowed`.
        let w = 6, h = 5
        var map = [Float](repeating: 0, count: w * h)
        func set(_ r: Int, _ c: Int, _ v: Float) { map[r * w + c] = v }
        set(0, 0, 1); set(1, 1, 2); set(1, 2, 3)          // A: mean 2, area 3, mass 6
        set(0, 5, 9)                                      // B: mass 9
        set(3, 3, 1); set(3, 4, 1); set(4, 3, 1); set(4, 4, 1)  // C
        var allowed = [Bool](repeating: true, count: w * h)
        allowed[3 * w + 4] = false; allowed[4 * w + 4] = false
        let regions = MarkerCandidates.regions(of: map, width: w, height: h, threshold: 0.5, allowed: allowed)
        XCTAssertEqual(regions.count, 3)
        XCTAssertEqual(regions.map(\.area), [1, 3, 2], "B (mass 9), A (6), C (2)")
        let a = regions[1]
        XCTAssertEqual(a.pixels, [0, w + 1, w + 2])
        XCTAssertEqual([a.minRow, a.maxRow, a.minColumn, a.maxColumn], [0, 1, 0, 2])
        XCTAssertEqual(a.centroidRow, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(a.centroidColumn, 1, accuracy: 1e-12)
        XCTAssertEqual(a.meanValue, 2, accuracy: 1e-12)
        XCTAssertEqual(a.maxValue, 3)
        XCTAssertEqual(regions[2].pixels, [3 * w + 3, 4 * w + 3], "the disallowed half of C is not part of it")
        // A minimum area drops B and C; a higher threshold splits nothing but drops pixels below it.
        XCTAssertEqual(MarkerCandidates.regions(of: map, width: w, height: h, threshold: 0.5, minimumArea: 3, allowed: allowed).map(\.area), [3])
        XCTAssertEqual(MarkerCandidates.regions(of: map, width: w, height: h, threshold: 2).map(\.pixels), [[5], [w + 1, w + 2]])
    }

    func testPercentileInterpolatesLikeNumPy() throws {
        let v: [Float] = [5, 1, 4, 2, 3]
        XCTAssertEqual(try MarkerCandidates.percentile(v, 0), 1)
        XCTAssertEqual(try MarkerCandidates.percentile(v, 100), 5)
        XCTAssertEqual(try MarkerCandidates.percentile(v, 50), 3)
        XCTAssertEqual(try MarkerCandidates.percentile(v, 90), 4.6, accuracy: 1e-6, "np.percentile([1,2,3,4,5], 90) = 4.6")
        XCTAssertThrowsError(try MarkerCandidates.percentile([], 50))
    }

    func testYoudenThresholdIsROCCurvesYoudenCutOff() throws {
        var rng = SeededGenerator(seed: 5)
        for trial in 0..<20 {
            // Coarse values so ties occur.
            let annotated = (0..<(30 + trial)).map { _ in Float((rng.uniform() * 10).rounded()) / 10 + 0.2 }
            let clean = (0..<(50 + trial)).map { _ in Float((rng.uniform() * 10).rounded()) / 10 }
            let cut = try MarkerCandidates.youdenThreshold(annotated: annotated, clean: clean)
            let curve = try ROCCurve(scores: (annotated + clean).map(Double.init),
                                     labels: annotated.map { _ in true } + clean.map { _ in false })
            XCTAssertEqual(Double(cut), curve.youden.threshold, accuracy: 1e-6, "trial \(trial)")
        }
        XCTAssertThrowsError(try MarkerCandidates.youdenThreshold(annotated: [], clean: [1]))
    }

    func testDiceByHand() {
        let p = [true, true, false, false, true], t = [true, false, false, true, true]
        XCTAssertEqual(Dice.coefficient(predicted: p, truth: t)!, 2.0 * 2 / (3 + 3), accuracy: 1e-12)
        XCTAssertEqual(Dice.coefficient(predicted: p, truth: t, inside: [true, true, true, false, false])!, 2.0 * 1 / (2 + 1), accuracy: 1e-12)
        XCTAssertNil(Dice.coefficient(predicted: [false], truth: [false]))
    }
}
