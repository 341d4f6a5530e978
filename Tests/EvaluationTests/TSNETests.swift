// t-SNE: calibrated perplexity, separated clusters stay separated, and the
// embedding is a pure function of the seed.

import XCTest
import Records
@testable import Evaluation

final class TSNETests: XCTestCase {
    /// Two Gaussian blobs in 10-D, 8 standard deviations apart.
    func clusters(_ perCluster: Int, seed: UInt64) -> (points: [[Float]], labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        var points = [[Float]](), labels = [Int]()
        for c in 0..<2 {
            for _ in 0..<perCluster {
                points.append((0..<10).map { d in rng.normal() + (d == 0 ? Float(8 * c) : 0) })
                labels.append(c)
            }
        }
        return (points, labels)
    }

    func nearestNeighbourAccuracy(_ y: [Double], labels: [Int]) -> Double {
        let n = labels.count
        var correct = 0
        for i in 0..<n {
            var best = -1, bestDist = Double.infinity
            for j in 0..<n where j != i {
                let d = pow(y[2 * i] - y[2 * j], 2) + pow(y[2 * i + 1] - y[2 * j + 1], 2)
                if d < bestDist { bestDist = d; best = j }
            }
            if labels[best] == labels[i] { correct += 1 }
        }
        return Double(correct) / Double(n)
    }

    func settings(seed: UInt64) -> TSNESettings {
        var s = TSNESettings()
        s.perplexity = 10
        s.iterations = 300
        s.exaggerationIterations = 100
        s.seed = seed
        return s
    }

    func testSeparatedClustersStaySeparated() throws {
        let (x, labels) = clusters(30, seed: 1)
        let y = try TSNE.embed(x, settings: settings(seed: 42))
        XCTAssertEqual(y.count, 120)
        XCTAssertTrue(y.allSatisfy(\.isFinite))
        XCTAssertEqual(nearestNeighbourAccuracy(y, labels: labels), 1)
        // The clusters are apart in the map, not just locally ordered: the gap
        // between centroids exceeds the spread within a cluster.
        func centroid(_ c: Int) -> (Double, Double) {
            let idx = labels.indices.filter { labels[$0] == c }
            return (idx.map { y[2 * $0] }.reduce(0, +) / Double(idx.count), idx.map { y[2 * $0 + 1] }.reduce(0, +) / Double(idx.count))
        }
        let (a, b) = (centroid(0), centroid(1))
        let gap = ((a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1)).squareRoot()
        let spread = labels.indices.filter { labels[$0] == 0 }
            .map { ((y[2 * $0] - a.0) * (y[2 * $0] - a.0) + (y[2 * $0 + 1] - a.1) * (y[2 * $0 + 1] - a.1)).squareRoot() }.max()!
        XCTAssertGreaterThan(gap, 2 * spread)
    }

    func testDeterministicUnderSeed() throws {
        let (x, _) = clusters(15, seed: 2)
        var s = settings(seed: 9)
        s.iterations = 120
        let a = try TSNE.embed(x, settings: s), b = try TSNE.embed(x, settings: s)
        XCTAssertEqual(a, b)
        s.seed = 10
        XCTAssertNotEqual(a, try TSNE.embed(x, settings: s))
    }

    func testPerplexityIsCalibrated() {
        let (x, _) = clusters(20, seed: 3)
        let n = x.count
        let dist = TSNE.squaredDistances(x)
        // Distances against a plain reference.
        let ref = x[0].indices.map { Double(x[3][$0] - x[17][$0]) }.map { $0 * $0 }.reduce(0, +)
        XCTAssertEqual(dist[3 * n + 17], ref, accuracy: 1e-3 * ref)
        let p = TSNE.jointProbabilities(dist, n: n, perplexity: 8)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(p[i * n + j], p[j * n + i], accuracy: 1e-15) } }
        // Each conditional row has the requested perplexity: exp(entropy) = 8.
        let cond = TSNE.conditionalProbabilities(dist, n: n, perplexity: 8)
        for i in 0..<n {
            let row = (0..<n).map { cond[i * n + $0] }
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-9)
            XCTAssertEqual(row[i], 0)
            let entropy = -row.filter { $0 > 0 }.map { $0 * log($0) }.reduce(0, +)
            XCTAssertEqual(exp(entropy), 8, accuracy: 1e-3)
        }
    }

    func testRejectsBadInput() {
        XCTAssertThrowsError(try TSNE.embed([[1], [2]]))
        XCTAssertThrowsError(try TSNE.embed([[1], [2], [3, 4]]))
        XCTAssertThrowsError(try TSNE.embed([[1], [.nan], [3]]))
        var s = TSNESettings(); s.perplexity = 5
        XCTAssertThrowsError(try TSNE.embed([[1], [2], [3]], settings: s))
    }
}
