// Analysis.swift: the evaluate stage over loaded runs — which run is the main
// one, the pixel AUROC over labelled images only, notes carried over, and
// errors naming the runs' scores.csv. Pixel AUROCs are worked out by hand.

import XCTest
import Records
@testable import Evaluation

final class AnalysisTests: XCTestCase {
    /// Three 2×2 images: anomalous (label 1), normal (0), unlabelled.
    private let residuals = Tensor(shape: [3, 1, 2, 2], values: [0.9, 0.1, 0.2, 0.3,
                                                                0.95, 0.2, 0.4, 0.1,
                                                                5, 0.3, 0.05, 0.05])
    private let masks = Tensor(shape: [3, 1, 2, 2], values: [1, 0, 0, 0,
                                                            0, 0, 0, 0,
                                                            0, 1, 0, 0])

    private func run(_ name: String, labels: [Int?] = [1, 0, nil], residuals: Tensor? = nil, masks: Tensor? = nil,
                     notes: [String] = []) -> NamedScoreRun {
        let scores = ScoreTable(columns: ["R"], ids: ["a", "b", "c"], labels: labels, values: [[3], [1], [2]])
        let patches = masks.map { PatchSet(images: Tensor(shape: [3, 1, 2, 2]), labels: labels.map { $0 ?? -1 }, masks: $0, ids: ["a", "b", "c"]) }
        return NamedScoreRun(name: name, directory: URL(fileURLWithPath: "/runs/\(name)"),
                             run: ScoreRun(scores: scores, residuals: residuals), patches: patches, notes: notes)
    }

    func testMainRunIsTheOneNamedAnoganElseTheFirst() {
        XCTAssertEqual(Analysis.mainRun([run("acae"), run("anogan")])?.name, "anogan")
        XCTAssertEqual(Analysis.mainRun([run("x"), run("y")])?.name, "x")
        XCTAssertNil(Analysis.mainRun([]))
    }

    func testPixelAUROCLeavesOutUnlabelledImages() throws {
        // Labelled pixels: annotated {0.9}; clean {0.1, 0.2, 0.3, 0.95, 0.2, 0.4, 0.1}: 0.9 ranks above 6 of 7.
        // (With the unlabelled image it would be {0.9, 0.3} against ten clean pixels: (8 + 6.5)/20.)
        XCTAssertEqual(try Analysis.pixelAUROC(residuals: residuals, masks: masks, labels: [1, 0, nil]), 6.0 / 7.0, accuracy: 1e-15)
        XCTAssertEqual(try Analysis.pixelAUROC(residuals: residuals, masks: masks, labels: [1, 0, 0]), 14.5 / 20.0, accuracy: 1e-15)
        XCTAssertThrowsError(try Analysis.pixelAUROC(residuals: residuals, masks: masks, labels: [nil, 0, nil]), "no annotated pixel")
    }

    func testEvaluateAddsPixelAUROCOfTheMainRunAndTheRunsNotes() throws {
        var settings = EvaluationSettings()
        settings.bootstrapReplicates = 10
        settings.anomalyMapSigma = 0  // the raw residuals, as worked out above
        let main = run("anogan", residuals: residuals, masks: masks, notes: ["run anogan: no features.npy"])
        let training = run("training", labels: [nil, nil, nil], notes: ["run training: no summary.json"])
        let result = try Analysis.evaluate(runs: [run("acae"), main], training: training, settings: settings)
        XCTAssertEqual(result.pixelAUROC!, 6.0 / 7.0, accuracy: 1e-15)
        XCTAssertEqual(result.pixelAUROCByRun, ["anogan": 6.0 / 7.0], "acae has no residuals")
        XCTAssertEqual(result.score(run: "anogan", column: "R")!.auc, 1)  // anomalous 3 vs normal 1
        XCTAssertEqual(Array(result.notes.prefix(2)), ["run anogan: no features.npy", "run training: no summary.json"])
        XCTAssertFalse(result.notes.contains { $0.contains("pixel AUROC not computed") })

        // Without masks the main run gets a note instead.
        let bare = try Analysis.evaluate(runs: [run("anogan", residuals: residuals)], training: nil, settings: settings)
        XCTAssertNil(bare.pixelAUROC)
        XCTAssertTrue(bare.notes.contains("run anogan: pixel AUROC not computed (needs residuals.npy and masks in the patch set)"), "\(bare.notes)")
    }

    /// With σ > 0 the AUROC is that of the smoothed maps, every run with residuals and masks gets
    /// one, and the raw value stays beside it.
    func testPixelAUROCOfEveryRunIsComputedOnSmoothedMaps() throws {
        var settings = EvaluationSettings()
        settings.bootstrapReplicates = 10
        settings.anomalyMapSigma = 0.5
        let result = try Analysis.evaluate(runs: [run("anogan", residuals: residuals, masks: masks),
                                                  run("izif", residuals: residuals, masks: masks)], training: nil, settings: settings)
        let smoothed = AnomalyMap.smoothed(residuals, sigma: 0.5)
        let expected = try Analysis.pixelAUROC(residuals: smoothed, masks: masks, labels: [1, 0, nil])
        XCTAssertEqual(result.pixelAUROCByRun, ["anogan": expected, "izif": expected])
        XCTAssertEqual(result.rawPixelAUROCByRun["izif"]!, 6.0 / 7.0, accuracy: 1e-15)
        XCTAssertEqual(result.pixelAUROC, expected)
    }

    func testEvaluationErrorsNameTheScoreFiles() {
        let unlabelled = [run("anogan", labels: [nil, nil, nil]), run("acae", labels: [nil, nil, nil])]
        XCTAssertThrowsError(try Analysis.evaluate(runs: unlabelled, training: nil, settings: EvaluationSettings())) { error in
            XCTAssertTrue("\(error)".hasPrefix("/runs/anogan/\(ScoreRun.Files.scores), /runs/acae/\(ScoreRun.Files.scores): nothing to evaluate"), "\(error)")
        }
    }
}
