// The one-class benchmark on tiny hand-written IDX files: the balanced test
// subset, every start's AUC of every score column against a pairwise count over
// its written scores.csv, results.json, the inverted-AUC warning on hand-made
// evaluations, the all-classes driver with a fake per-class runner, and refusal
// of impossible settings.

import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records
import TestSupport
import XCTest
@testable import Workflows

final class OneClassBenchmarkTests: TemporaryDirectoryTestCase {

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

    private func tinySettings() -> OneClassBenchmarkSettings {
        var settings = OneClassBenchmarkSettings(dataDirectory: dir.path, dataName: "bars", normalClass: 1)
        settings.iterations = 3
        settings.encoderIterations = 2
        settings.steps = 2
        settings.refinementSteps = 1
        settings.testLimit = 24
        settings.width = 16
        settings.batchSize = 16
        return settings
    }

    func testEveryStartReportsTheAUCOfEveryScoreAsAPairwiseCountOverItsScores() throws {
        try writeData(train: 120, test: 60)
        let out = dir.appendingPathComponent("run")
        let result = try OneClassBenchmark.run(settings: tinySettings(), directory: out) { _ in }
        // 40 images of class 1; 5 % (2) held out; the budget is iterations, not epochs (2 per epoch here).
        XCTAssertEqual(result.trainCount + result.validationCount, 40)
        XCTAssertEqual(result.validationCount, 2)
        XCTAssertEqual(result.trainingIterations, 3)
        XCTAssertEqual(result.testNormal, 12)
        XCTAssertEqual(result.testAnomalous, 12)
        XCTAssertNotNil(result.health)
        XCTAssertEqual(result.starts.map(\.name), ["prior", "encoder", "encoder+refine"])
        XCTAssertEqual(result.starts.map(\.steps), [2, 0, 1])
        XCTAssertEqual(result.starts.map(\.start), [.prior, .encoder, .encoder])
        for block in result.starts {
            XCTAssertEqual(block.aucs.map(\.column), ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"], block.name)
            XCTAssertEqual(block.imagesPerSecond, 24 / block.seconds, accuracy: 1e-6 * block.imagesPerSecond)
            let table = try ScoreTable.read(out.appendingPathComponent(block.scores).appendingPathComponent("scores.csv"))
            for a in block.aucs {
                let sign = a.column == "P_D" ? -1.0 : 1.0
                XCTAssertEqual(a.auc, pairwiseAUC(table.column(a.column)!.map { sign * $0 }, table.labels.map { $0 == 1 }),
                               accuracy: 1e-9, "\(block.name) \(a.column)")
                XCTAssertTrue(a.lower <= a.auc && a.auc <= a.upper, "\(a)")
            }
        }
        // E(x) alone and E(x) refined start from the same z₁ but end apart; the prior start differs from both.
        let z = { (name: String) in try ScoreTable.read(out.appendingPathComponent("scores/\(name)/scores.csv")).column("R")! }
        XCTAssertNotEqual(try z("encoder"), try z("encoder+refine"))
        XCTAssertNotEqual(try z("prior"), try z("encoder"))
        // The prior start chooses z₁ among the settings' draws; the encoder starts begin at E(x).
        let candidates = try ["prior", "encoder", "encoder+refine"].map {
            try ScoreRun.read(from: out.appendingPathComponent("scores/\($0)"), parts: []).summary?.settings.mapping.priorCandidates
        }
        XCTAssertEqual(candidates, [OneClassBenchmarkSettings(dataDirectory: "", dataName: "", normalClass: 0).priorCandidates, nil, nil])
        XCTAssertEqual(candidates[0], 16)
        let saved = try OneClassBenchmarkResult.read(out.appendingPathComponent("results.json"))
        XCTAssertEqual(saved, result)
        XCTAssertEqual(saved.warnings, OneClassBenchmark.warnings(starts: result.starts, health: result.health, settings: result.settings))
        for name in ["prior start", "Γ = 0", "refined, Γ = 1", "A_hat", "images/s"] {
            XCTAssertTrue(result.table.contains(name), name)
        }
    }

    /// bf16 reaches every stage: the GAN's and the encoder's checkpoints and every score run record it, and a run
    /// over the f32 run's directory trains anew instead of reusing its finished checkpoint (it would otherwise, as
    /// the same run). The numbers move by bf16's rounding only: the first training step's losses (same weights,
    /// same batch) agree to a few 10⁻³, the scores of the three-step GAN to a few per cent.
    func testPrecisionReachesEveryStageAndAnotherPrecisionTrainsAnew() throws {
        try XCTSkipUnless(Precision.bf16.isSupported(on: .effective), "no AVX512-BF16 here")
        try writeData(train: 120, test: 60)
        let out = dir.appendingPathComponent("run")
        func recorded(_ result: OneClassBenchmarkResult) throws -> (losses: [Float], scores: [[Double]], precisions: [Precision?]) {
            let anogan = out.appendingPathComponent("anogan")
            let gan = try Checkpoint.read(anogan.appendingPathComponent("checkpoint.safetensors"))
            let encoderMeta = try Safetensors.read(anogan.appendingPathComponent("encoder.safetensors")).metadata
            let encoder = try JSONDecoder().decode(EncoderTrainingSettings.self, from: Data(encoderMeta["settings"]!.utf8))
            var precisions: [Precision?] = [result.settings.precision, gan.settings.precision, encoder.precision]
            var scores: [[Double]] = []
            for block in result.starts {
                let run = try ScoreRun.read(from: out.appendingPathComponent(block.scores))
                precisions.append(run.summary?.settings.mapping.precision)
                scores.append(run.scores.column("R")!)
            }
            let firstRow = try String(contentsOf: anogan.appendingPathComponent("losses.csv"), encoding: .utf8).split(separator: "\n")[1]
            return (firstRow.split(separator: ",").compactMap { Float($0) }, scores, precisions)
        }
        let f32 = try recorded(try OneClassBenchmark.run(settings: tinySettings(), directory: out) { _ in })
        XCTAssertEqual(f32.precisions, Array(repeating: .f32, count: 6), "f32 (the default) is recorded explicitly")
        var settings = tinySettings()
        settings.precision = .bf16
        var lines: [String] = []
        let result = try OneClassBenchmark.run(settings: settings, directory: out) { lines.append($0) }
        let bf16 = try recorded(result)
        XCTAssertEqual(bf16.precisions, Array(repeating: .bf16, count: 6))
        XCTAssertTrue(lines.contains { $0.hasPrefix("training on") }, "trained anew, not resumed: \(lines)")
        XCTAssertEqual(try OneClassBenchmarkResult.read(out.appendingPathComponent("results.json")).settings.precision, .bf16)
        // Columns: epoch, iteration, Loss_D, Loss_G, D(x), D(G(z)), D(G(z)) after D's update.
        XCTAssertEqual(bf16.losses.count, f32.losses.count)
        for (b, f) in zip(bf16.losses.dropFirst(2), f32.losses.dropFirst(2)) {
            XCTAssertEqual(b, f, accuracy: 0.01 * max(1, abs(f)), "first step's losses")
        }
        XCTAssertNotEqual(bf16.losses, f32.losses, "bf16 rounding changes the numbers")
        for (b, f) in zip(bf16.scores, f32.scores) {
            XCTAssertNotEqual(b, f)
            let meanF = f.reduce(0, +) / Double(f.count), meanB = b.reduce(0, +) / Double(b.count)
            XCTAssertEqual(meanB, meanF, accuracy: 0.05 * meanF, "mean R")
        }
    }

    // MARK: Warnings

    private func block(_ name: String, a: Double, lower: Double, upper: Double) -> OneClassStartResult {
        OneClassStartResult(name: name, start: name == "prior" ? .prior : .encoder, steps: name == "encoder" ? 0 : 5, scores: "scores/\(name)",
                            aucs: [ColumnAUC(column: "A", auc: a, lower: lower, upper: upper, anomalousWhen: "higher"),
                                   ColumnAUC(column: "A_hat", auc: 0.2, lower: 0.1, upper: 0.3, anomalousWhen: "higher")],
                            seconds: 1, imagesPerSecond: 1)
    }

    private func health(collapsed: Bool, iteration: Int = 2000) -> TrainingHealth {
        var h = TrainingHealth(iteration: iteration, reconstruction: .init(start: "prior", steps: 50, validation: 0.2, training: 0.2, ratio: 1,
                                                                     meanImage: 0.5),
                               diversity: .init(samples: collapsed ? 0.01 : 0.4, data: 0.4, ratio: collapsed ? 0.025 : 1),
                               trend: nil, warnings: [])
        h.warnings = TrainingHealth.verdicts(h)
        return h
    }

    func testAnInvertedHeadlineAUCIsWarnedAboutWithWhatTheHealthSays() {
        let settings = tinySettings()
        let starts = [block("prior", a: 0.141, lower: 0.10, upper: 0.18), block("encoder", a: 0.62, lower: 0.55, upper: 0.69),
                      block("encoder+refine", a: 0.48, lower: 0.41, upper: 0.55)]
        let warnings = OneClassBenchmark.warnings(starts: starts, health: health(collapsed: true), settings: settings)
        // The health's collapse first, then one per start whose A is below 0.5 (A_hat alone is no headline),
        // then one line per start naming its other columns below 0.5.
        XCTAssertEqual(warnings.map(\.kind), ["collapsed", "inverted", "inverted", "below-chance", "below-chance", "below-chance"])
        let prior = warnings[1].message
        for part in ["scores are inverted", "prior start", "0.141", "lies below 0.5", "collapsed", "fewer iterations"] {
            XCTAssertTrue(prior.contains(part), "\(part) in \(prior)")
        }
        XCTAssertTrue(warnings[2].message.contains("encoder+refine") && warnings[2].message.contains("may be chance"), warnings[2].message)
        XCTAssertTrue(warnings[3].message.contains("prior start") && warnings[3].message.contains("A_hat 0.200 [0.100, 0.300]"), warnings[3].message)
        // The same diversity after 180 iterations is an untrained GAN: train longer, as its health says.
        let young = OneClassBenchmark.warnings(starts: starts, health: health(collapsed: true, iteration: 180), settings: settings)
        XCTAssertTrue(young[0].message.contains("train longer") && young[1].message.contains("more iterations"), young[1].message)
        XCTAssertFalse(young[1].message.contains("fewer iterations"), young[1].message)
        // A healthy GAN: the warning says so and suggests something else.
        let healthy = OneClassBenchmark.warnings(starts: starts, health: health(collapsed: false), settings: settings)
        XCTAssertEqual(healthy.map(\.kind), ["inverted", "inverted", "below-chance", "below-chance", "below-chance"])
        XCTAssertTrue(healthy[0].message.contains("nothing wrong"), healthy[0].message)
        // Nothing below 0.5 and a healthy GAN: no warning at all.
        var fine = block("prior", a: 0.5, lower: 0.4, upper: 0.6)
        fine.aucs = fine.aucs.filter { $0.column == "A" }
        XCTAssertEqual(OneClassBenchmark.warnings(starts: [fine], health: health(collapsed: false), settings: settings), [])
    }

    func testTheWarningsEndThePrintedTable() {
        let starts = [block("prior", a: 0.3, lower: 0.2, upper: 0.4)]
        let h = health(collapsed: true)
        let result = OneClassBenchmarkResult(settings: tinySettings(), trainCount: 38, validationCount: 2, testNormal: 12, testAnomalous: 12,
                                             trainingIterations: 3, trainingSeconds: 1, encoderSeconds: 1, health: h, starts: starts,
                                             warnings: OneClassBenchmark.warnings(starts: starts, health: h, settings: tinySettings()))
        let lines = result.table.split(separator: "\n")
        XCTAssertTrue(lines[lines.count - 3].hasPrefix("WARNING: generator collapsed"), String(lines[lines.count - 3]))
        XCTAssertTrue(lines[lines.count - 2].hasPrefix("WARNING: scores are inverted"), String(lines[lines.count - 2]))
        XCTAssertTrue(lines[lines.count - 1].hasPrefix("WARNING: below chance"), String(lines[lines.count - 1]))
    }

    // MARK: All classes

    /// A result as the protocol would write it, with A = 0.5 + c/100 from every start and P_D = 0.9.
    private func fakeResult(_ s: OneClassBenchmarkSettings) -> OneClassBenchmarkResult {
        let c = Double(s.normalClass)
        let starts = ["prior", "encoder", "encoder+refine"].enumerated().map { i, name in
            OneClassStartResult(name: name, start: i == 0 ? .prior : .encoder, steps: i == 1 ? 0 : 1, scores: "scores/\(name)",
                                aucs: [ColumnAUC(column: "A", auc: 0.5 + c / 100 + Double(i) / 1000, lower: 0, upper: 1, anomalousWhen: "higher"),
                                       ColumnAUC(column: "P_D", auc: 0.9, lower: 0, upper: 1, anomalousWhen: "lower")],
                                seconds: 1, imagesPerSecond: 1)
        }
        return OneClassBenchmarkResult(settings: s, trainCount: 1, validationCount: 0, testNormal: 1, testAnomalous: 1,
                                       trainingIterations: s.iterations, trainingSeconds: 0, encoderSeconds: 0, health: nil, starts: starts,
                                       warnings: [])
    }

    func testAllClassesSkipsClassesDoneWithTheSameSettingsAndWritesTheTable() throws {
        let settings = tinySettings(), root = dir.appendingPathComponent("all")
        // Classes 0 and 2 are done; class 1 was run with another seed.
        for (c, seed) in [(0, settings.seed), (2, settings.seed), (1, settings.seed + 1)] {
            var s = settings
            s.normalClass = c
            s.seed = seed
            let d = OneClassBenchmark.classDirectory(root, c)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try fakeResult(s).write(to: d.appendingPathComponent("results.json"))
        }
        var ran: [Int] = []
        let table = try OneClassBenchmark.runAllClasses(settings: settings, classes: Array(0..<4), directory: root, log: { _ in }) { s, d, _ in
            XCTAssertEqual(d, OneClassBenchmark.classDirectory(root, s.normalClass))
            ran.append(s.normalClass)
            let r = self.fakeResult(s)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try r.write(to: d.appendingPathComponent("results.json"))
            return r
        }
        XCTAssertEqual(ran, [1, 3])
        XCTAssertEqual(table.rows.map(\.normalClass), [0, 1, 2, 3])
        XCTAssertEqual(table.rows.map(\.ran), [false, true, false, true])
        // Mean of 0.50, 0.51, 0.52, 0.53 (prior), +0.001 (E(x)), +0.002 (refined); P_D 0.9.
        XCTAssertEqual(table.means[0], 0.515, accuracy: 1e-12)
        XCTAssertEqual(table.means[1], 0.516, accuracy: 1e-12)
        XCTAssertEqual(table.means[2], 0.517, accuracy: 1e-12)
        XCTAssertEqual(table.means[3], 0.9, accuracy: 1e-12)
        let markdown = try String(contentsOf: root.appendingPathComponent("table.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| 3 | 0.530 | 0.531 | 0.532 | 0.900 | – |"), markdown)
        XCTAssertTrue(markdown.contains("| **mean** | **0.515** | **0.516** | **0.517** | **0.900** |"), markdown)
        XCTAssertTrue(markdown.contains("GEOM") && markdown.contains("0.935") && markdown.contains("not measured here"), markdown)
        XCTAssertTrue(markdown.contains("\(settings.iterations) GAN iterations"), markdown)
        let csv = try String(contentsOf: root.appendingPathComponent("table.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv[0], "class,prior_A,encoder_A,refined_A,P_D,warnings")
        XCTAssertEqual(csv.count, 1 + 4 + 1 + 2)
        XCTAssertEqual(csv[5].split(separator: ",", omittingEmptySubsequences: false).count, 6)
        // A second run finds every class done.
        ran = []
        _ = try OneClassBenchmark.runAllClasses(settings: settings, classes: Array(0..<4), directory: root, log: { _ in }) { s, _, _ in
            ran.append(s.normalClass)
            return self.fakeResult(s)
        }
        XCTAssertEqual(ran, [])
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
