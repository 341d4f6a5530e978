// SVGPlot.swift: tick positions, histogram densities, coordinate mapping and
// escaping.

import Records
import XCTest
import Evaluation
@testable import Report

final class SVGPlotTests: XCTestCase {
    func testTicks() {
        XCTAssertEqual(SVGPlot.ticks(0...1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        XCTAssertEqual(SVGPlot.ticks(0...37), [0, 10, 20, 30])
        XCTAssertEqual(SVGPlot.ticks(-3...3), [-3, -2, -1, 0, 1, 2, 3])
        XCTAssertEqual(SVGPlot.ticks(0.013...0.052), [0.02, 0.03, 0.04, 0.05].map { $0 }, accuracy: 1e-12)
        XCTAssertEqual(SVGPlot.ticks(5...5), [5])
    }

    func testDensityHistogramIntegratesToOne() {
        let d = SVGPlot.densityHistogram([0, 0.1, 0.5, 0.99, 1, .nan], start: 0, binWidth: 0.25, bins: 4)
        // Bins [0,.25): 0, 0.1; [.5,.75): 0.5; last: 0.99 and 1 (the end falls in the last bin).
        XCTAssertEqual(d, [2, 0, 1, 2].map { $0 / (5 * 0.25) })
        XCTAssertEqual(d.reduce(0, +) * 0.25, 1, accuracy: 1e-12)
    }

    func testROCPlotMapsCornersAndEscapes() throws {
        let roc = try ROCCurve(scores: [0.1, 0.9], labels: [false, true])
        let svg = SVGPlot.roc(title: "a < b & c", curves: [PlotSeries(label: "AnoGAN (AUC 1.000)", color: "black", data: roc)])
        XCTAssertTrue(svg.contains("a &lt; b &amp; c"))
        XCTAssertTrue(svg.contains("AnoGAN (AUC 1.000)"))
        // (0,0) → bottom-left of the plot area, (0,1) → top-left, (1,1) → top-right.
        XCTAssertTrue(svg.contains("points=\"58.00,312.00 58.00,30.00 406.00,30.00\""), svg)
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
