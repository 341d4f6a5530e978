// EvaluationResult.swift: the evaluation stage (`evaluate`) end to end on small tables: Table 1 rows, NaN rows
// reported, distributions, JSON round trip.

import XCTest
import Records
@testable import Evaluation

final class EvaluationResultTests: XCTestCase {
    func mainTable() -> ScoreTable {
        // 4 normal (0), 3 anomalous (1), one unlabelled, one NaN in D.
        let labels: [Int?] = [0, 0, 0, 0, 1, 1, 1, nil]
        let r: [Double] = [1, 2, 3, 4, 3.5, 5, 6, 9]
        let d: [Double] = [0.1, 0.5, 0.2, 0.3, 0.4, .nan, 0.9, 1]
        let pd: [Double] = [0.9, 0.8, 0.7, 0.95, 0.2, 0.5, 0.72, 0.1]
        let values = (0..<8).map { (i: Int) -> [Double] in
            let a: Double = 0.9 * r[i] + 0.1 * d[i]
            return [r[i], d[i], a, Double.nan, pd[i]]
        }
        return ScoreTable(columns: ["R", "D", "A", "A_hat", "P_D"], ids: (0..<8).map { "img\($0)" },
                          labels: labels, values: values)
    }

    func testEvaluateBuildsTable1AndNotes() throws {
        var settings = EvaluationSettings()
        settings.bootstrapReplicates = 100
        let acae = ScoreTable(columns: ["A"], ids: ["a", "b", "c"], labels: [0, 1, 1], values: [[1], [0.5], [2]])
        let training = ScoreTable(columns: ["R", "D"], ids: ["t1", "t2"], labels: [nil, 0], values: [[0.5, 0.1], [1.5, 0.2]])
        let result = try evaluate(runs: [NamedScoreTable(name: "anogan", table: mainTable()),
                                         NamedScoreTable(name: "acae", table: acae)],
                                  training: training, settings: settings)
        // R: anomalous 3.5, 5, 6 vs normal 1..4: 3.5 beats 3 of 4, others beat all → 11/12.
        XCTAssertEqual(result.score(run: "anogan", column: "R")!.auc, 11.0 / 12.0, accuracy: 1e-15)
        // D leaves out img5 (NaN) and says so.
        let d = result.score(run: "anogan", column: "D")!
        XCTAssertEqual(d.excludedIDs, ["img5"])
        XCTAssertEqual(d.positives, 2)
        XCTAssertTrue(result.notes.contains { $0.contains("column D") && $0.contains("img5") })
        XCTAssertTrue(result.notes.contains { $0.contains("A_hat not computed") })
        // P_D is ranked low-is-anomalous: anomalous 0.2, 0.5, 0.72 vs normal 0.7, 0.8, 0.9, 0.95:
        // 0.2 and 0.5 are below all four, 0.72 below three → 11/12.
        let pd = result.score(run: "anogan", column: "P_D")!
        XCTAssertEqual(pd.orientation, .lowerIsAnomalous)
        XCTAssertEqual(pd.auc, 11.0 / 12.0, accuracy: 1e-15)
        XCTAssertEqual(result.table1.map(\.model), ["aCAE", "P_D", "AnoGAN"], "GAN_R's Â was not computed")
        XCTAssertEqual(result.table1.first!.auc, 0.5)
        XCTAssertEqual(result.table1.last!.youden, result.score(run: "anogan", column: "A")!.youden)
        // Distributions: R over training (2), test normal (4), test anomalous (3).
        let rDist = result.distributions.filter { $0.column == "R" }
        XCTAssertEqual(rDist.map(\.count), [2, 4, 3])
        XCTAssertEqual(rDist[1].mean, 2.5)
        XCTAssertEqual(rDist[2].median, 5)
        // metrics.json round trip, including the infinite first ROC threshold.
        let back = try EvaluationResult.decode(json: result.json())
        XCTAssertEqual(back, result)
        XCTAssertTrue(String(decoding: try result.json(), as: UTF8.self).contains("\"Infinity\""))
    }

    func testARunWithoutANameIsNamedByWhatItScored() {
        func summary(start: LatentStart, steps: Int, from: String = "feature-matching") -> ScoreRun.Summary {
            let table = ScoreTable(columns: ["A"], ids: ["a"], labels: [0], values: [[1]])
            return ScoreRun.Summary(checkpoint: "c", patches: "p", architecture: DCGANConfig(latentDimension: 4, imageSize: 16, width: 2),
                                    settings: ScoringSettings(mapping: MappingSettings(steps: steps), start: start), scores: table,
                                    seconds: 1, mappings: 1, threads: 1, reconstructionsFrom: from)
        }
        XCTAssertEqual(ScoreReference.runName(of: summary(start: .prior, steps: 500)), "anogan")
        XCTAssertEqual(ScoreReference.runName(of: summary(start: .encoder, steps: 0)), "izif")
        XCTAssertEqual(ScoreReference.runName(of: summary(start: .encoder, steps: 20)), "anogan-encoder")
        // The aCAE's runs record the prior start and Γ = 0 (no mapping): its reconstructions tell it apart.
        XCTAssertEqual(ScoreReference.runName(of: summary(start: .prior, steps: 0, from: ScoreRun.Summary.encoderPass)), "acae")
        XCTAssertEqual(ScoreReference.runName(of: nil), "anogan")
    }

    func testNothingToEvaluateIsAnError() {
        let unlabeled = ScoreTable(columns: ["R"], ids: ["a"], labels: [nil], values: [[1]])
        XCTAssertThrowsError(try evaluate(runs: [NamedScoreTable(name: "anogan", table: unlabeled)]))
        XCTAssertThrowsError(try evaluate(runs: []))
        let t = mainTable()
        XCTAssertThrowsError(try evaluate(runs: [NamedScoreTable(name: "x", table: t), NamedScoreTable(name: "x", table: t)]))
    }
}
