// Helpers for the layer tests: random tensors mirrored in Double, tolerance
// checks, and central finite differences on the Double reference path.

import Records
import XCTest
@testable import NeuralNet

/// A random Float tensor and the same values in Double.
func randomTensor(_ shape: [Int], _ rng: inout SeededGenerator, scale: Float = 1) -> (Tensor, [Double]) {
    let t = Tensor.normal(shape: shape, std: scale, using: &rng)
    return (t, t.array.map(Double.init))
}

/// Asserts |a − b| ≤ tolerance · (1 + max|b|) elementwise; the tolerance is relative to the reference's scale.
func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 1e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    let scale = 1 + (b.map(abs).max() ?? 0)
    var worst = 0.0, at = 0
    for i in 0..<min(a.count, b.count) where abs(Double(a[i]) - b[i]) > worst { worst = abs(Double(a[i]) - b[i]); at = i }
    XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(what): worst error \(worst) at \(at) (got \(a.isEmpty ? 0 : a[at]), want \(b.isEmpty ? 0 : b[at]))", file: file, line: line)
}

func assertClose(_ a: [Double], _ b: [Double], tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    assertClose(a.map { Float($0) }, b, tolerance: tolerance, what, file: file, line: line)
}

/// Central differences of L(v) = Σ r·f(v) with respect to every element of v (in Double).
func finiteDifference(_ v: [Double], weights r: [Double], h: Double = 1e-6, _ f: ([Double]) -> [Double]) -> [Double] {
    var g = [Double](repeating: 0, count: v.count)
    var p = v
    for i in 0..<v.count {
        p[i] = v[i] + h
        let up = zip(f(p), r).reduce(0) { $0 + $1.0 * $1.1 }
        p[i] = v[i] - h
        let down = zip(f(p), r).reduce(0) { $0 + $1.0 * $1.1 }
        p[i] = v[i]
        g[i] = (up - down) / (2 * h)
    }
    return g
}

func doubles(_ t: Tensor) -> [Double] { t.array.map(Double.init) }
