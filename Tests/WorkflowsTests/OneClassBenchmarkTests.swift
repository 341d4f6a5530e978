// The one-class benchmark on tiny hand-written IDX files: the balanced test
// subset, every score column's AUC against a pairwise count over the written
// scores.csv, results.json, and refusal of impossible settings.

import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records
import XCTest
@testable import Workflows

final class OneClassBenchmarkTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("OneClassBenchmarkTests-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// An uncompressed IDX file: magic (0, 0, 0x08 = ubyte, rank), big-endian dimensions, bytes.
    private func writeIDX(_ name: String, shape: [Int], bytes: [UInt8]) throws {
        var data = Data([0, 0, 0x08, UInt8(shape.count)])
        for d in shape { data.append(contentsOf: withUnsafeBytes(of: UInt32(d).bigEndian, Array.init)) }
        data.append(contentsOf: bytes)
        try data.write(to: dir.appendingPathComponent(name))
    }

    /// Class c: a bright horizontal bar at row 4 + 2c on a dark 28×28 image, with a little noise.
    private func writeData(train: Int, test: Int) throws {
        var rng = SeededGenerator(seed: 3)
        func images(_ labels: [UInt8]) -> [UInt8] {
            labels.flatMap { c -> [UInt8] in
                (0..<784).map { p in p / 28 == 4 + 2 * Int(c) ? 250 : UInt8(rng.index(below: 20)) }
            }
        }
        let trainLabels = (0..<train).map { UInt8($0 % 3) }, testLabels = (0..<test).map { UInt8(($0 * 7) % 3) }
        try writeIDX("train-images-idx3-ubyte", shape: [train, 28, 28], bytes: images(trainLabels))
        try writeIDX("train-labels-idx1-ubyte", shape: [train], bytes: trainLabels)
        try writeIDX("t10k-images-idx3-ubyte", shape: [test, 28, 28], bytes: images(testLabels))
        try writeIDX("t10k-labels-idx1-ubyte", shape: [test], bytes: testLabels)
    }

    func testBalancedSubsetKeepsFileOrderAndHalves() {
        let labels = [1, 0, 1, 1, 0, 1, 0, 0, 1]
        let images = Tensor(shape: [9, 1, 2, 2], values: (0..<36).map(Float.init))
        let set = PatchSet(images: images, labels: labels, settings: [:])
        let subset = OneClassBenchmark.balancedSubset(set, limit: 5)
        // 2 normal (indices 1, 4) and 3 anomalous (0, 2, 3), in file order.
        XCTAssertEqual(subset.labels!, [1, 0, 1, 1, 0])
        XCTAssertEqual(subset.images.items(4..<5).array, [16, 17, 18, 19])
    }

    func testBenchmarkReportsTheAUCOfEveryScore() throws {
        try writeData(train: 96, test: 60)
        var settings = OneClassBenchmarkSettings(dataDirectory: dir.path, dataName: "bars", normalClass: 1)
        settings.epochs = 1
        settings.steps = 2
        settings.testLimit = 24
        settings.width = 16
        settings.batchSize = 32
        let out = dir.appendingPathComponent("run")
        let result = try OneClassBenchmark.run(settings: settings, directory: out) { _ in }
        XCTAssertEqual(result.trainCount, 32)
        XCTAssertEqual(result.testNormal, 12)
        XCTAssertEqual(result.testAnomalous, 12)
        XCTAssertEqual(result.aucs.map(\.column), ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"])
        let table = try ScoreTable.read(out.appendingPathComponent("scores/scores.csv"))
        for a in result.aucs {
            let sign = a.column == "P_D" ? -1.0 : 1.0
            let values = table.column(a.column)!.map { sign * $0 }
            var wins = 0.0, pairs = 0.0
            for (v, l) in zip(values, table.labels) where l == 1 {
                for (w, m) in zip(values, table.labels) where m == 0 { wins += v > w ? 1 : (v == w ? 0.5 : 0); pairs += 1 }
            }
            XCTAssertEqual(a.auc, wins / pairs, accuracy: 1e-9, a.column)
            XCTAssertTrue(a.lower <= a.auc && a.auc <= a.upper, "\(a)")
        }
        let saved = try JSONDecoder().decode(OneClassBenchmarkResult.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        XCTAssertEqual(saved.aucs, result.aucs)
        XCTAssertTrue(result.table.contains("A_hat"))
    }

    func testMissingDataAndBadSettingsAreReported() {
        var settings = OneClassBenchmarkSettings(dataDirectory: dir.path, dataName: "none", normalClass: 0)
        XCTAssertThrowsError(try OneClassBenchmark.run(settings: settings, directory: dir) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("train-images-idx3-ubyte"), "\(error)")
        }
        settings.testLimit = 1
        XCTAssertThrowsError(try OneClassBenchmark.run(settings: settings, directory: dir) { _ in }) { error in
            XCTAssertTrue("\(error)".hasPrefix("testLimit must be ≥ 2"), "names the setting, not a flag: \(error)")
        }
    }
}
