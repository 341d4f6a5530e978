// Parameters.swift: Adam against torch.optim.Adam: three steps of fixed gradients on three values.
// The literals are printed by `python3 scripts/make_fixtures.py` (print_adam_reference,
// float64 torch.optim.Adam); step 1 is also derived by hand below.

import Records
import XCTest
@testable import NeuralNet

final class ParametersTests: XCTestCase {
    private let gradients: [[Float]] = [[0.1, -0.2, 0.0], [0.3, 0.1, -0.05], [-0.2, 0.4, 0.5]]

    private func run(_ settings: AdamSettings) -> [[Float]] {
        let values = Tensor(shape: [3], values: [1.0, -0.5, 0.25])
        let adam = Adam(count: 3, settings: settings)
        var trace: [[Float]] = []
        for g in gradients {
            adam.update(values: values, gradients: Tensor(shape: [3], values: g))
            trace.append(values.array)
        }
        XCTAssertEqual(adam.step, 3)
        return trace
    }

    private func assertClose(_ got: [[Float]], _ expected: [[Float]], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
        for (step, (g, e)) in zip(got, expected).enumerated() {
            for i in 0..<e.count {
                XCTAssertEqual(g[i], e[i], accuracy: accuracy, "step \(step + 1) value \(i)", file: file, line: line)
            }
        }
    }

    func testDCGANSettingsMatchTorch() {
        // Step 1 by hand: m̂₁ = g, v̂₁ = g², so p₁ = p₀ − lr·g/(|g| + ε) = p₀ − 2e-4·sign(g),
        // and a zero gradient leaves the value alone: 1 → 0.9998, −0.5 → −0.4998, 0.25 → 0.25.
        // Step 2, value 1: m₂ = 0.5·0.5·(−0.2) + 0.5·0.1 = 0, so it stays at −0.4998.
        assertClose(run(.dcgan), [
            [0.9998, -0.4998, 0.25],
            [0.999591342, -0.4998, 0.250188515],
            [0.999604567, -0.499972734, 0.250001489],
        ], accuracy: 2e-7)
    }

    func testLargeEpsilonPlacesEpsilonOutsideTheSquareRoot() {
        // ε = 0.1 makes its placement visible. Step 1 by hand: p₁ = p₀ − lr·g/(|g| + ε):
        // 1 − 0.1·0.1/0.2 = 0.95; −0.5 + 0.1·0.2/0.3 = −0.4333333; 0.25 (zero gradient).
        // With ε inside the root (√(v̂+ε)) value 0 would read 1 − 0.1·0.1/√0.11 = 0.96985.
        assertClose(run(AdamSettings(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 0.1)), [
            [0.95, -0.433333333, 0.25],
            [0.886578964, -0.417019165, 0.269440733],
            [0.868948861, -0.450210706, 0.22641883],
        ], accuracy: 2e-6)
    }

    func testResetStartsBiasCorrectionAgain() {
        let values = Tensor(shape: [1], values: [0])
        let adam = Adam(count: 1, settings: .mapping)
        adam.update(values: values, gradients: Tensor(shape: [1], values: [5]))
        adam.update(values: values, gradients: Tensor(shape: [1], values: [-1]))
        adam.reset()
        XCTAssertEqual(adam.step, 0)
        XCTAssertEqual(adam.m.array, [0])
        XCTAssertEqual(adam.v.array, [0])
        values[0] = 0
        adam.update(values: values, gradients: Tensor(shape: [1], values: [3]))
        XCTAssertEqual(values[0], -0.01, accuracy: 1e-7)  // a fresh first step: −lr·sign(g)
    }

    func testUpdatesAParameterSetThroughItsFlatBuffers() {
        let set = ParameterSet([ParameterSpec(name: "a.weight", shape: [2, 2]), ParameterSpec(name: "a.bias", shape: [1])])
        set.value("a.weight").assign(from: Tensor(shape: [4], values: [1, 2, 3, 4]))
        set.gradient("a.bias")[0] = -1
        set.gradient("a.weight")[3] = 2
        let adam = Adam(count: set.count, settings: .dcgan)
        adam.update(values: set.values, gradients: set.gradients)
        let w = set.value("a.weight").array
        XCTAssertEqual(Array(w.prefix(3)), [1, 2, 3])  // zero gradient: untouched
        XCTAssertEqual(w[3], 4 - 2e-4, accuracy: 1e-6)
        XCTAssertEqual(set.value("a.bias")[0], 2e-4, accuracy: 1e-9)
        set.zeroGradients()
        XCTAssertEqual(set.gradients.array, [0, 0, 0, 0, 0])
    }

    /// Sets two threads so that large loops split in parts; returns the count to restore.
    private func twoThreads() -> Int {
        let before = Threads.count
        Threads.set(2)
        return before
    }

    /// Values whose count is not a multiple of 16 and large enough to be split over two threads.
    private func varied(_ count: Int, _ salt: Int) -> [Float] {
        (0..<count).map { Float(($0 &* 7919 &+ salt &* 104_729) % 2001 - 1000) / 1000 }
    }

    func testLargeUpdateEqualsTheScalarRuleBitForBit() {
        // The update runs 16 lanes at a time in parts per thread; every value must still get exactly
        // PyTorch's scalar rule, computed here one value at a time in the same order of operations.
        let threads = twoThreads()
        defer { Threads.set(threads) }
        let n = 3 * (1 << 16) + 13
        let settings = AdamSettings(learningRate: 0.01, beta1: 0.5, beta2: 0.999, epsilon: 1e-8)
        let values = Tensor(shape: [n], values: varied(n, 1))
        let adam = Adam(count: n, settings: settings)
        var p = values.array, m = [Float](repeating: 0, count: n), v = m
        for step in 1...3 {
            let g = varied(n, step + 1)
            adam.update(values: values, gradients: Tensor(shape: [n], values: g))
            let c1 = 1 - pow(settings.beta1, Float(step)), c2 = 1 - pow(settings.beta2, Float(step))
            let stepSize = settings.learningRate / c1, c2Root = c2.squareRoot()
            for i in 0..<n {
                m[i] = settings.beta1 * m[i] + (1 - settings.beta1) * g[i]
                v[i] = settings.beta2 * v[i] + (1 - settings.beta2) * g[i] * g[i]
                p[i] -= stepSize * m[i] / (v[i].squareRoot() / c2Root + settings.epsilon)
            }
        }
        XCTAssertEqual(values.array.firstIndex { $0.isNaN }, nil)
        XCTAssertEqual(zip(values.array, p).filter { $0 != $1 }.count, 0, "values that differ from the scalar rule")
        XCTAssertEqual(adam.m.array, m)
        XCTAssertEqual(adam.v.array, v)
    }

    func testMovingAverageOfManyValuesEqualsTheScalarRule() {
        let threads = twoThreads()
        defer { Threads.set(threads) }
        let n = 2 * (1 << 16) + 5
        let a = varied(n, 3), b = varied(n, 4)
        let average = Tensor(shape: [n], values: a)
        average.moveAverage(toward: Tensor(shape: [n], values: b), decay: 0.999)
        let expected = (0..<n).map { Float(0.999) * a[$0] + (1 - Float(0.999)) * b[$0] }
        XCTAssertEqual(zip(average.array, expected).filter { $0 != $1 }.count, 0, "values that differ from the scalar rule")
    }

    func testParallelPartsCoverEveryIndexOnce() {
        let threads = twoThreads()
        defer { Threads.set(threads) }
        for (total, minimumPart, expectedParts) in [(0, 4, 0), (7, 4, 1), (8, 4, 2), (1001, 4, 2), (1001, 2000, 1)] {
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(total, 1))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0)
            let starts = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(total, 1))
            defer { starts.deallocate() }
            starts.initialize(repeating: 0)
            // Each index is written by the one part that owns it, so the writes do not race.
            Threads.forEachPart(of: total, minimumPart: minimumPart) { range in
                starts[range.lowerBound] = 1
                for i in range { hits[i] += 1 }
            }
            XCTAssertEqual(Array(hits.prefix(total)), [Int](repeating: 1, count: total), "total \(total)")
            XCTAssertEqual(starts.prefix(total).reduce(0, +), expectedParts, "parts of \(total) with at least \(minimumPart) each")
        }
    }
}
