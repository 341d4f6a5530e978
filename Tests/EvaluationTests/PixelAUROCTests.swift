// PixelAUROC.swift: the pooled pixel-level AUROC against the pairwise
// definition on quantised residuals (many ties), image by image equal to all
// at once, and what cannot be ranked.

import XCTest
import Records
import TestSupport
@testable import Evaluation

final class PixelAUROCTests: XCTestCase {
    func testPixelAUROCMatchesPairwiseReference() throws {
        var rng = SeededGenerator(seed: 3)
        var residuals = [Float](), masks = [Float]()
        for _ in 0..<600 {
            let annotated = rng.uniform() < 0.3
            masks.append(annotated ? 255 : 0)
            // Quantised residuals: many exact ties across the classes.
            residuals.append(Float(rng.index(below: 8) + (annotated ? 2 : 0)) * 0.125)
        }
        let auc = try AUC.pixels(residuals: residuals, masks: masks)
        XCTAssertEqual(auc, pairwiseAUC(residuals.map(Double.init), masks.map { $0 != 0 }), accuracy: 1e-12)
        // Image by image gives the same as all at once.
        var perImage = PixelAUROC()
        for start in stride(from: 0, to: 600, by: 100) {
            try residuals[start..<(start + 100)].withUnsafeBufferPointer { r in
                try masks[start..<(start + 100)].withUnsafeBufferPointer { m in try perImage.add(residual: r, mask: m) }
            }
        }
        XCTAssertEqual(try perImage.auroc(), auc)
        XCTAssertThrowsError(try AUC.pixels(residuals: [1, 2], masks: [0, 0]))
        XCTAssertThrowsError(try AUC.pixels(residuals: [1, .nan], masks: [0, 1]))
        XCTAssertThrowsError(try AUC.pixels(residuals: [1, 2, 3], masks: [0, 1]))
    }}
