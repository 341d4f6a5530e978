// Figure3.swift: the pixel colours of Fig. 3 (grey, residual heat map,
// annotation tint) and the figure's layout (rows, cells, bars, captions),
// against values worked out by hand.

import Records
import XCTest
@testable import Report

final class Figure3Tests: XCTestCase {
    func testOverlayColours() {
        // Zero residual leaves the grey input; a residual at full scale is yellow.
        let o = Figure3.overlay(input: [0, 0], residual: [0, 1], scale: 1)
        XCTAssertEqual(Array(o[0..<3]), [128, 128, 128])
        XCTAssertEqual(o[3], 242)   // 0.5·0.1 + 1·0.9 → 0.95
        XCTAssertEqual(o[4], 242)
        XCTAssertEqual(o[5], 13)    // blue fades to 0.1 of grey
        XCTAssertEqual(Figure3.grey([-1, 1]), [0, 0, 0, 255, 255, 255])
    }

    func testAnnotationTintsMaskedPixelsCyan() {
        // grey: −1 → 0, 1 → 255, 0 → 127.5 → 128. Masked: red / 3, green and blue / 3 + 170 (at most 255).
        XCTAssertEqual(Figure3.annotation(input: [-1, 1, 0], mask: [1, 1, 0]), [0, 170, 170, 85, 255, 255, 128, 128, 128])
        XCTAssertEqual(Figure3.annotation(input: nil, mask: [0, 2]), [0, 0, 0, 0, 170, 170], "black background without input")
    }

    func testSVGHasARowPerImageKindACellPerColumnAndBarsWhereCalled() throws {
        let image: [Float] = [-1, 0, 0.5, 1], residual: [Float] = [0, 0.2, 1, 2]
        let first = Figure3Column(input: image, reconstruction: image, residual: residual, mask: nil,
                                  detectedByR: true, detectedByD: false, caption: "a<b")
        let second = Figure3Column(input: image, reconstruction: nil, residual: residual, mask: [0, 1, 1, 0],
                                   detectedByR: nil, detectedByD: true, caption: "second")
        let svg = try Figure3.svg(blocks: [Figure3Block(title: "normal & co", columns: [first, second])], size: 2, residualScale: 1)
        func count(_ needle: String) -> Int { svg.components(separatedBy: needle).count - 1 }
        // 4 rows (one column has a mask): first fills input, G(z), residual; second input, residual, annotation.
        XCTAssertEqual(count("<image "), 6)
        XCTAssertEqual(count("fill=\"#f4f4f4\""), 2, "first has no mask, second no reconstruction")
        XCTAssertTrue(svg.contains(">annotation</text>"))
        // Bars: first called by R (filled red), not by D (outline); second only by D (filled yellow).
        XCTAssertEqual(count("R ≥ Youden cut-off"), 1)
        XCTAssertEqual(count("D ≥ Youden cut-off"), 1)
        XCTAssertEqual(count("fill=\"none\" stroke=\"#ddd\""), 1)
        XCTAssertTrue(svg.contains("a&lt;b") && svg.contains("normal &amp; co"))
        // Width 84 + 2·(72 + 3) + 4 = 238; height 18 + 2·(5 + 2) + 4·(72 + 3) + 18 = 350.
        XCTAssertTrue(svg.hasPrefix("<svg ") && svg.contains("width=\"238.0\" height=\"350.0\""), String(svg.prefix(200)))

        // Without masks there is no annotation row: 3 rows, height 275.
        var unmasked = second
        unmasked.mask = nil
        let small = try Figure3.svg(blocks: [Figure3Block(title: "t", columns: [first, unmasked])], size: 2, residualScale: 1)
        XCTAssertFalse(small.contains(">annotation</text>"))
        XCTAssertEqual(small.components(separatedBy: "<image ").count - 1, 5)
        XCTAssertTrue(small.contains("width=\"238.0\" height=\"275.0\""))
    }
}
