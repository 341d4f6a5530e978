// End-to-end test of the demo pipeline at its --quick size: every stage writes
// what the next one and the report read, the score tables have the columns of
// ScoreRow.columns, the AUCs agree with a plain pairwise count on the written
// scores, and a second run skips every stage and reproduces the evaluation.

import Evaluation
import Imaging
import Foundation
import NeuralNet
import Records
import TestSupport
import XCTest
@testable import Workflows

final class DemoTests: TemporaryDirectoryTestCase {
    /// The demo's output directory: not there before the test, so a refused run can be seen to write nothing.
    private var demo: URL { dir.appendingPathComponent("demo") }

    /// P(anomalous score > normal score), ties ½; `negate` for P_D (low = anomalous).
    private func pairwiseAUC(_ table: ScoreTable, _ column: String, negate: Bool = false) -> Double {
        let values = table.column(column)!.map { negate ? -$0 : $0 }
        var pos: [Double] = [], neg: [Double] = []
        for (v, l) in zip(values, table.labels) { if l == 1 { pos.append(v) } else if l == 0 { neg.append(v) } }
        var wins = 0.0
        for p in pos { for n in neg { wins += p > n ? 1 : (p == n ? 0.5 : 0) } }
        return wins / Double(pos.count * neg.count)
    }

    func testQuickDemoRunsEndToEndAndResumes() throws {
        var lines: [String] = []
        let first = try Demo.run(settings: .quick, directory: demo) { lines.append($0) }
        XCTAssertTrue(lines.first!.contains(first.layout.report.path), "first line names the report: \(lines.first!)")
        XCTAssertEqual(first.skipped, [])
        let layout = first.layout
        for url in [layout.report, layout.metrics, layout.anoganTraining.checkpoint, layout.acaeCheckpoint,
                    layout.phantoms.appendingPathComponent("diseased_test_000_mask.mha")] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path)
        }
        let anogan = try ScoreTable.read(layout.anoganScores.appendingPathComponent("scores.csv"))
        let acae = try ScoreTable.read(layout.acaeScores.appendingPathComponent("scores.csv"))
        let training = try ScoreTable.read(layout.trainingScores.appendingPathComponent("scores.csv"))
        XCTAssertEqual(anogan.columns, ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"])
        XCTAssertEqual(acae.columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(training.columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(training.count, DemoSettings.quick.trainingScoreCount)
        XCTAssertEqual(anogan.labels, acae.labels)
        XCTAssertTrue(anogan.labels.contains(1) && anogan.labels.contains(0))

        // Table 1 of the report: the four models, each AUC equal to a pairwise count over the CSV.
        let rows = Dictionary(uniqueKeysWithValues: first.evaluation.table1.map { ($0.model, $0.auc) })
        XCTAssertEqual(Set(rows.keys), ["aCAE", "P_D", "GAN_R", "AnoGAN", "AnoGAN (E start)", "izi_f (E only)"])
        let encoderStart = try ScoreTable.read(layout.encoderStartScores.appendingPathComponent("scores.csv"))
        let encoderOnly = try ScoreTable.read(layout.encoderOnlyScores.appendingPathComponent("scores.csv"))
        XCTAssertEqual(rows["AnoGAN (E start)"]!, pairwiseAUC(encoderStart, "A"), accuracy: 1e-9)
        XCTAssertEqual(rows["izi_f (E only)"]!, pairwiseAUC(encoderOnly, "A"), accuracy: 1e-9)
        XCTAssertEqual(encoderOnly.labels, anogan.labels)
        XCTAssertEqual(rows["AnoGAN"]!, pairwiseAUC(anogan, "A"), accuracy: 1e-9)
        XCTAssertEqual(rows["GAN_R"]!, pairwiseAUC(anogan, "A_hat"), accuracy: 1e-9)
        XCTAssertEqual(rows["aCAE"]!, pairwiseAUC(acae, "A"), accuracy: 1e-9)
        XCTAssertEqual(rows["P_D"]!, pairwiseAUC(anogan, "P_D", negate: true), accuracy: 1e-9)
        let html = String(decoding: try Data(contentsOf: layout.report), as: UTF8.self)
        XCTAssertTrue(html.contains("aCAE") && html.contains("GAN_R"))

        // Second run: everything is there, so only the report is redone, with the same numbers.
        let second = try Demo.run(settings: .quick, directory: demo) { _ in }
        XCTAssertEqual(second.skipped, ["patches", "anogan-training", "encoder-training", "acae-training", "anogan-scores",
                                        "encoder-scores", "acae-scores"])
        XCTAssertEqual(second.evaluation.table1, first.evaluation.table1)

        // More mapping steps: only AnoGAN's scoring is redone.
        var changed = DemoSettings.quick
        changed.mappingSteps += 1
        let third = try Demo.run(settings: changed, directory: demo) { _ in }
        XCTAssertEqual(third.skipped, ["patches", "anogan-training", "encoder-training", "acae-training", "encoder-scores", "acae-scores"])
        // A deleted product is remade, and what reads it too.
        try FileManager.default.removeItem(at: layout.acaeCheckpoint)
        let fourth = try Demo.run(settings: changed, directory: demo) { _ in }
        XCTAssertEqual(fourth.skipped, ["patches", "anogan-training", "encoder-training", "anogan-scores", "encoder-scores"])
    }

    func testImpossibleSettingsAreRefusedBeforeAnyWork() {
        var s = DemoSettings.quick
        s.imageSize = 40
        XCTAssertThrowsError(try Demo.run(settings: s, directory: demo) { _ in })
        XCTAssertFalse(FileManager.default.fileExists(atPath: demo.path), "nothing written for refused settings")
        s = DemoSettings.quick
        s.trainingVolumes = 0
        XCTAssertThrowsError(try Demo.run(settings: s, directory: demo) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("trainingVolumes"), "names the setting: \(error)")
        }
    }

    func testTestSetKeepsEveryAnomalousPatchAndCapsNormalOnes() {
        let labels = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
        let images = Tensor(shape: [10, 1, 1, 2], values: (0..<20).map(Float.init))
        let masks = Tensor(shape: [10, 1, 1, 2], values: labels.flatMap { [Float($0), 0] })
        let set = PatchSet(images: images, labels: labels, masks: masks,
                           sources: (0..<10).map { PatchSource(volume: "v", bscan: $0, x: 0, y: 0) }, settings: [:])
        var rng = SeededGenerator(seed: 4)
        let kept = Demo.limitNormals(set, to: 3, using: &rng)
        XCTAssertEqual(kept.labels!.filter { $0 == 1 }.count, 3)
        XCTAssertEqual(kept.labels!.filter { $0 == 0 }.count, 3)
        let order = kept.sources!.map(\.bscan)
        XCTAssertEqual(order, order.sorted(), "original order kept")
        for (k, i) in order.enumerated() {   // images, labels and masks travel together
            XCTAssertEqual(kept.images.items(k..<(k + 1)).array, [Float(2 * i), Float(2 * i + 1)])
            XCTAssertEqual(kept.labels![k], labels[i])
            XCTAssertEqual(kept.masks!.items(k..<(k + 1)).array[0], Float(labels[i]))
        }
        XCTAssertEqual(Demo.limitNormals(set, to: 7, using: &rng).count, 10, "under the cap nothing is dropped")
    }
}
