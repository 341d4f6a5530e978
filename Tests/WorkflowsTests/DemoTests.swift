// End-to-end test of the demo pipeline at its --quick size: every stage writes
// what the next one and the report read, the score tables have the columns of
// ScoreRow.columns, the AUCs agree with a plain pairwise count on the written
// scores, and a second run skips every stage and reproduces the evaluation.

import AnoGAN
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
        // The diseased test volumes' whole B-scans: the report's last section, from scan/ (its pictures embedded).
        let scan = try ScanReport.read(from: layout.scan)
        XCTAssertEqual(scan.volumes.map(\.name), (0..<DemoSettings.quick.testDiseasedVolumes).map { String(format: "diseased_test_%03d.mha", $0) })
        XCTAssertNotNil(scan.evaluation?.pixelAUROC, "the phantoms' masks are used")
        XCTAssertTrue(scan.settings.threshold.contains(layout.encoderStartScores.path), "the Youden cut-off of the E-start run: \(scan.settings.threshold)")
        XCTAssertTrue(html.contains("Whole B-scans: the scan in \(layout.scan.path)") && html.contains("data:image/png;base64,"))
        XCTAssertTrue(lines.contains { $0.contains("whole B-scans of the \(DemoSettings.quick.testDiseasedVolumes) diseased test volumes") }, "\(lines)")

        // Second run: everything is there, so only the report is redone, with the same numbers.
        let second = try Demo.run(settings: .quick, directory: demo) { _ in }
        XCTAssertEqual(second.skipped, ["patches", "anogan-training", "encoder-training", "acae-training", "anogan-scores",
                                        "encoder-scores", "acae-scores", "scan"])
        XCTAssertEqual(second.evaluation.table1, first.evaluation.table1)

        // More mapping steps: only AnoGAN's scoring is redone.
        var changed = DemoSettings.quick
        changed.mappingSteps += 1
        let third = try Demo.run(settings: changed, directory: demo) { _ in }
        XCTAssertEqual(third.skipped, ["patches", "anogan-training", "encoder-training", "acae-training", "encoder-scores", "acae-scores", "scan"])
        // A deleted product is remade, and what reads it too.
        try FileManager.default.removeItem(at: layout.acaeCheckpoint)
        let fourth = try Demo.run(settings: changed, directory: demo) { _ in }
        XCTAssertEqual(fourth.skipped, ["patches", "anogan-training", "encoder-training", "anogan-scores", "encoder-scores", "scan"])

        // The prior start's draws reach AnoGAN's score runs; changing them redoes only that scoring.
        XCTAssertEqual(try ScoreRun.read(from: layout.anoganScores, parts: []).summary?.settings.mapping.priorCandidates,
                       DemoSettings.quick.priorCandidates)
        let onlyAnoGANScores = ["patches", "anogan-training", "encoder-training", "acae-training", "encoder-scores", "acae-scores", "scan"]
        changed.priorCandidates = 1
        XCTAssertEqual(try Demo.run(settings: changed, directory: demo) { _ in }.skipped, onlyAnoGANScores)
        XCTAssertEqual(try ScoreRun.read(from: layout.anoganScores, parts: []).summary?.settings.mapping.priorCandidates, 1)
        // Markers written before the setting existed lack it: only the stage it changes is redone.
        let markers = try FileManager.default.contentsOfDirectory(at: demo.appendingPathComponent(".stages"), includingPropertiesForKeys: nil)
        XCTAssertEqual(markers.count, 8)
        for marker in markers {
            var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: marker)) as? [String: Any])
            XCTAssertNotNil(json.removeValue(forKey: "priorCandidates"), marker.lastPathComponent)
            try JSONSerialization.data(withJSONObject: json).write(to: marker)
        }
        changed.priorCandidates = DemoSettings.quick.priorCandidates
        XCTAssertEqual(try Demo.run(settings: changed, directory: demo) { _ in }.skipped, onlyAnoGANScores)
        // More refinement steps from E(x): the encoder's score runs and the scan, which maps from E(x) alike.
        changed.refinementSteps += 1
        XCTAssertEqual(try Demo.run(settings: changed, directory: demo) { _ in }.skipped,
                       ["patches", "anogan-training", "encoder-training", "acae-training", "anogan-scores", "acae-scores"])
        XCTAssertTrue(try ScanReport.read(from: layout.scan).settings.steps == changed.refinementSteps)
    }

    /// The precision reaches every model stage (the GAN's, the encoder's and the aCAE's checkpoints and every
    /// score run record it; the aCAE is rebuilt in it when loaded for scoring), and changing it redoes every
    /// stage but the patches. The aCAE's first step (same weights, same batch) agrees across precisions to bf16's rounding.
    func testPrecisionReachesEveryStageAndChangingItRedoesThemAll() throws {
        try XCTSkipUnless(Precision.bf16.isSupported(on: .effective), "no AVX512-BF16 here")
        var s = DemoSettings.quick
        s.ganIterations = 2
        s.encoderIterations = 2
        s.mappingSteps = 2
        s.refinementSteps = 1
        s.trainingScoreCount = 4
        s.precision = .bf16
        let bf16 = try Demo.run(settings: s, directory: demo) { _ in }
        let layout = bf16.layout
        func recorded() throws -> [Precision?] {
            let encoderMeta = try Safetensors.read(layout.encoderTraining.checkpoint).metadata
            let acae = try AdversarialAutoencoder.load(from: layout.acaeCheckpoint)
            XCTAssertEqual([acae.encoder.precision, acae.decoder.precision, acae.discriminator.precision],
                           Array(repeating: acae.settings.precision ?? .f32, count: 3), "the loaded aCAE computes in its recorded precision")
            return [try JSONDecoder().decode(DemoSettings.self, from: Data(contentsOf: layout.settings)).precision,
                    try Checkpoint.read(layout.anoganTraining.checkpoint).settings.precision,
                    try JSONDecoder().decode(EncoderTrainingSettings.self, from: Data(encoderMeta["settings"]!.utf8)).precision,
                    acae.settings.precision]
                + (try [layout.anoganScores, layout.trainingScores, layout.encoderOnlyScores, layout.encoderStartScores, layout.acaeScores]
                    .map { try ScoreRun.read(from: $0, parts: []).summary?.settings.mapping.precision })
        }
        let acaeFirstRow = { try String(contentsOf: layout.acaeTraining.lossLog, encoding: .utf8).split(separator: "\n")[1]
            .split(separator: ",").compactMap { Double($0) } }
        let recordedBF16 = try recorded(), bf16Losses = try acaeFirstRow()
        XCTAssertEqual(recordedBF16.prefix(4), [.bf16, .bf16, .bf16, .bf16])
        XCTAssertEqual(recordedBF16.dropFirst(4).prefix(4), [.bf16, .bf16, .bf16, .bf16], "AnoGAN's score runs")
        s.precision = nil  // f32
        let f32 = try Demo.run(settings: s, directory: demo) { _ in }
        XCTAssertEqual(f32.skipped, ["patches"])
        XCTAssertEqual(try recorded().prefix(8), [.f32, .f32, .f32, .f32, .f32, .f32, .f32, .f32])
        // Columns: epoch, iteration, reconstruction MSE, adversarial, discriminator.
        let f32Losses = try acaeFirstRow()
        XCTAssertNotEqual(bf16Losses, f32Losses)
        for (b, f) in zip(bf16Losses.dropFirst(2), f32Losses.dropFirst(2)) { XCTAssertEqual(b, f, accuracy: 0.01 * max(1, abs(f))) }
        XCTAssertEqual(try Demo.run(settings: s, directory: demo) { _ in }.skipped.count, 8, "f32 again: nothing to redo")
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
