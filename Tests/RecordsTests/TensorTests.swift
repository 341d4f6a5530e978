// Tensor views and copies, and the seeded random generator (determinism and
// distribution moments).

@testable import Records
import XCTest


final class TensorTests: XCTestCase {
    func testReshapeAndViewsAliasStorage() {
        let t = Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
        let r = t.reshaped([3, 2])
        r[5] = 50
        XCTAssertEqual(t[5], 50)
        let v = Tensor(viewing: t.storage, offset: 2, shape: [2, 2])
        XCTAssertEqual(v.array, [2, 3, 4, 50])
        v.fill(-1)
        XCTAssertEqual(t.array, [0, 1, -1, -1, -1, -1])
        XCTAssertEqual(v.reshaped([4]).offset, 2)
    }

    func testCopyAndItemsDoNotAlias() {
        let t = Tensor(shape: [3, 1, 1, 2], values: [0, 1, 2, 3, 4, 5])
        let c = t.copy()
        c[0] = 9
        XCTAssertEqual(t[0], 0)
        let items = t.items(1..<3)
        XCTAssertEqual(items.shape, [2, 1, 1, 2])
        XCTAssertEqual(items.array, [2, 3, 4, 5])
        items[0] = 7
        XCTAssertEqual(t[2], 2)
        XCTAssertEqual(t.batch, 3)
        XCTAssertEqual(t.itemCount, 2)
    }

    func testNCHWIndexing() {
        let t = Tensor(shape: [2, 3, 4, 5])
        for i in 0..<t.count { t[i] = Float(i) }
        // Row-major: ((n·C + c)·H + h)·W + w
        XCTAssertEqual(t[1, 2, 3, 4], Float(((1 * 3 + 2) * 4 + 3) * 5 + 4))
        XCTAssertEqual(t[0, 1, 0, 2], 22)
        t[1, 0, 2, 1] = -3
        XCTAssertEqual(t[((1 * 3 + 0) * 4 + 2) * 5 + 1], -3)
    }

    func testAssignFillAndFiniteness() {
        let t = Tensor(shape: [2, 2], value: 3)
        XCTAssertEqual(t.array, [3, 3, 3, 3])
        XCTAssertTrue(t.isFinite)
        t.assign(from: Tensor(shape: [4], values: [1, .nan, 2, 3]))
        XCTAssertFalse(t.isFinite)
        t[1] = .infinity
        XCTAssertFalse(t.isFinite)
        t[1] = 0
        XCTAssertTrue(t.isFinite)
        XCTAssertEqual(Tensor(shape: [0, 5]).count, 0)
    }

    func testStorageIs64ByteAligned() {
        for n in [1, 3, 17, 1000] {
            XCTAssertEqual(Int(bitPattern: Tensor(shape: [n]).data) % 64, 0)
        }
    }

    // MARK: SeededGenerator

    func testSameSeedSameSequenceDifferentSeedDifferent() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let sa = (0..<100).map { _ in a.next() }
        XCTAssertEqual(sa, (0..<100).map { _ in b.next() })
        let sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(zip(sa, sc).filter { $0 == $1 }.count, 0)
        XCTAssertEqual(Set(sa).count, 100)

        var x = SeededGenerator(seed: 1), y = SeededGenerator(seed: 1)
        XCTAssertEqual(Tensor.normal(shape: [50], using: &x).array, Tensor.normal(shape: [50], using: &y).array)
        XCTAssertEqual(Tensor.uniform(shape: [50], low: -1, high: 1, using: &x).array,
                       Tensor.uniform(shape: [50], low: -1, high: 1, using: &y).array)
    }

    func testStateRestoresTheSequence() {
        var g = SeededGenerator(seed: 9)
        for _ in 0..<10 { _ = g.next() }
        let saved = g.state
        let expected = (0..<20).map { _ in g.next() }
        var h = SeededGenerator(seed: 0)
        h.state = saved
        XCTAssertEqual((0..<20).map { _ in h.next() }, expected)
    }

    /// Mean, standard deviation, skewness and excess kurtosis of `xs`, in Double.
    private func moments(_ xs: [Float]) -> (mean: Double, std: Double, skew: Double, kurtosis: Double) {
        let n = Double(xs.count)
        let mean = xs.reduce(0.0) { $0 + Double($1) } / n
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        for x in xs {
            let d = Double(x) - mean
            m2 += d * d; m3 += d * d * d; m4 += d * d * d * d
        }
        m2 /= n; m3 /= n; m4 /= n
        return (mean, m2.squareRoot(), m3 / pow(m2, 1.5), m4 / (m2 * m2) - 3)
    }

    func testUniformMomentsAndRange() {
        // n = 200 000: the standard error of the mean is 0.577/√n ≈ 0.0013 for U(-1, 1);
        // tolerances are about 4 standard errors.
        var g = SeededGenerator(seed: 2024)
        let xs = Tensor.uniform(shape: [200_000], low: -1, high: 1, using: &g).array
        XCTAssertTrue(xs.allSatisfy { $0 >= -1 && $0 < 1 })
        let m = moments(xs)
        XCTAssertEqual(m.mean, 0, accuracy: 0.006)
        XCTAssertEqual(m.std, (1.0 / 3).squareRoot(), accuracy: 0.003)  // (b−a)/√12
        XCTAssertEqual(m.skew, 0, accuracy: 0.02)
        XCTAssertEqual(m.kurtosis, -1.2, accuracy: 0.02)
        // Each tenth of the range holds about a tenth of the draws.
        var bins = [Int](repeating: 0, count: 10)
        for x in xs { bins[min(9, Int((x + 1) * 5))] += 1 }
        for b in bins { XCTAssertEqual(Double(b) / Double(xs.count), 0.1, accuracy: 0.003) }
        var u = SeededGenerator(seed: 5)
        XCTAssertTrue((0..<10_000).allSatisfy { _ in let v = u.uniform(); return v >= 0 && v < 1 })
    }

    func testNormalMoments() {
        var g = SeededGenerator(seed: 77)
        let xs = Tensor.normal(shape: [200_000], mean: 1, std: 0.02, using: &g).array
        let m = moments(xs)
        XCTAssertEqual(m.mean, 1, accuracy: 0.0002)     // SE 0.02/√n ≈ 4.5e-5
        XCTAssertEqual(m.std, 0.02, accuracy: 0.0002)   // SE ≈ 0.02/√(2n) ≈ 3e-5
        XCTAssertEqual(m.skew, 0, accuracy: 0.03)
        XCTAssertEqual(m.kurtosis, 0, accuracy: 0.05)
        XCTAssertTrue(xs.allSatisfy(\.isFinite))
        // Two-sided tail: P(|x − μ| > 2σ) = 0.0455.
        let tail = Double(xs.filter { abs($0 - 1) > 0.04 }.count) / Double(xs.count)
        XCTAssertEqual(tail, 0.0455, accuracy: 0.003)
    }

    func testIndexBelowCoversRange() {
        var g = SeededGenerator(seed: 11)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[g.index(below: 7)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 1000, accuracy: 150) }
    }
}
