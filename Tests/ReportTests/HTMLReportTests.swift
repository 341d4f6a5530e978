// HTMLReport.swift end to end on a tiny synthetic run (TestSupport's
// SyntheticRun): the report and metrics.json are written, contain every figure
// and Table 1, the numbers agree with independent computations (the pairwise
// AUC), every SVG is well-formed XML.

import XCTest
import Records
import Imaging
import Evaluation
import TestSupport
@testable import Report
#if canImport(FoundationXML)
import FoundationXML
#endif

final class HTMLReportTests: TemporaryDirectoryTestCase {
    func testEndToEndReport() throws {
        let root: URL = dir
        let main = try SyntheticRun.make(in: root, name: "anogan", count: 24, size: 16, seed: 1)
        let acae = try SyntheticRun.make(in: root, name: "acae", count: 24, size: 16, seed: 2)
        let train = try SyntheticRun.make(in: root, name: "train", count: 10, size: 16, seed: 3, labelled: false)
        let runs = [try NamedScoreRun.load(name: "anogan", directory: main.directory),
                    try NamedScoreRun.load(name: "acae", directory: acae.directory)]
        let training = try NamedScoreRun.load(name: "training", directory: train.directory)
        XCTAssertNotNil(runs[0].patches, "summary.json names the patch set")
        var settings = ReportSettings()
        settings.evaluation.bootstrapReplicates = 50
        settings.tsne.iterations = 150
        settings.tsne.exaggerationIterations = 50
        settings.figure3Columns = 3
        let out = root.appendingPathComponent("out/report.html")
        let result = try HTMLReport.write(runs: runs, training: training, settings: settings, to: out)

        // Numbers agree with independent computations.
        let labels = main.table.labels.map { $0 == 1 }
        XCTAssertEqual(result.score(run: "anogan", column: "R")!.auc, pairwiseAUC(main.table.column("R")!, labels), accuracy: 1e-12)
        XCTAssertEqual(result.score(run: "acae", column: "A")!.auc, pairwiseAUC(acae.table.column("A")!, labels), accuracy: 1e-12)
        XCTAssertEqual(result.score(run: "anogan", column: "P_D")!.auc, pairwiseAUC(main.table.column("P_D")!.map { -$0 }, labels), accuracy: 1e-12)
        XCTAssertEqual(result.rawPixelAUROCByRun["anogan"]!, pairwiseAUC(main.residuals.map(Double.init), main.masks.map { $0 != 0 }), accuracy: 1e-12)
        let maps = AnomalyMap.smoothed(Tensor(shape: [main.residuals.count / 256, 1, 16, 16], values: main.residuals),
                                       sigma: settings.evaluation.anomalyMapSigma)
        XCTAssertEqual(result.pixelAUROC!, pairwiseAUC(maps.array.map(Double.init), main.masks.map { $0 != 0 }), accuracy: 1e-12)
        XCTAssertEqual(result.table1.map(\.model), ["aCAE", "P_D", "GAN_R", "AnoGAN"])
        XCTAssertEqual(result.distributions.filter { $0.column == "R" }.map(\.count), [10, 12, 12])

        // metrics.json and roc.csv are beside the report and read back.
        let metrics = try EvaluationResult.decode(json: readFile(root.appendingPathComponent("out/metrics.json")))
        XCTAssertEqual(metrics, result)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("out/roc.csv").path))

        // The HTML holds every figure and the table.
        let html = String(decoding: try readFile(out), as: UTF8.self)
        for needle in ["Table 1", "AnoGAN <small>", "GAN_R <small>", "P_D <small>", "aCAE <small>",
                       "(a) Model comparison", "(b) Anomaly score components", "(c) Distribution of R(x)", "(d) Distribution of D(x)",
                       "Fig. 3", "normal, training set", "normal, test set", "anomalous, test set",
                       "t-SNE of f(x)", "Pixel level", String(format: "%.4f", result.pixelAUROC!), "lambda", "bootstrapReplicates"] {
            XCTAssertTrue(html.contains(needle), "report lacks \(needle)")
        }
        // Self-contained: no external resources.
        XCTAssertFalse(html.contains("src=\"http"))
        XCTAssertFalse(html.contains("href=\"http"))
        // Fig. 3: 3 blocks × 3 columns × 4 rows of PNG cells, each a valid PNG of the patch size.
        let pngs = html.components(separatedBy: "href=\"data:image/png;base64,").dropFirst()
        XCTAssertEqual(pngs.count, 36)
        let first = Data(base64Encoded: String(pngs.first!.prefix { $0 != "\"" }))!
        let decoded = try PNG.decode(first, path: "cell")
        XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [16, 16, 3])
        // t-SNE: one point per labelled test image.
        let tsne = html.components(separatedBy: "t-SNE of f(x)")[1].components(separatedBy: "</svg>")[0]
        XCTAssertEqual(tsne.components(separatedBy: "<circle").count - 1, 24)
        // Every SVG is well-formed XML.
        var svgCount = 0
        for chunk in html.components(separatedBy: "<svg ").dropFirst() {
            let svg = "<svg " + chunk.components(separatedBy: "</svg>")[0] + "</svg>"
            let parser = XMLParser(data: Data(svg.utf8))
            XCTAssertTrue(parser.parse(), "malformed SVG: \(parser.parserError.map { "\($0)" } ?? "")")
            svgCount += 1
        }
        XCTAssertEqual(svgCount, 6, "4 panels of Fig. 4, Fig. 3, Fig. 2(b)")
    }

    func testSpreadPicksEvenlySpacedItems() {
        XCTAssertEqual(HTMLReport.spread([10, 11, 12, 13, 14, 15, 16], 3), [10, 13, 16])
    }

    /// health.json beside a run's checkpoint (here the summary's relative "synthetic.safetensors",
    /// found in the run directory) is shown first, its warnings in the warning box; the runs line
    /// says how each run scored.
    func testTrainingHealthAndStartAreShown() throws {
        let root: URL = dir
        let main = try SyntheticRun.make(in: root, name: "anogan", count: 12, size: 16, seed: 1)
        let health = TrainingHealth(iteration: 321,
                                    reconstruction: .init(start: "prior", steps: 50, validation: 0.1, training: 0.1, ratio: 1, meanImage: 0.5),
                                    diversity: .init(samples: 0.03, data: 0.3, ratio: 0.1), trend: nil, warnings: [])
        var sick = health
        sick.warnings = TrainingHealth.verdicts(sick)
        XCTAssertEqual(sick.warnings.map(\.issue), [.collapsed])
        try sick.write(to: main.directory.appendingPathComponent("health.json"))
        let runs = [try NamedScoreRun.load(name: "anogan", directory: main.directory)]
        var notes: [String] = []
        let found = RunHealth.find(for: runs, notes: &notes)
        XCTAssertEqual(found.map(\.health), [sick])
        XCTAssertEqual(notes, [])
        // Two runs of one model (one health.json) share one entry.
        let twice = RunHealth.find(for: runs + [try NamedScoreRun.load(name: "again", directory: main.directory)], notes: &notes)
        XCTAssertEqual(twice.map(\.run), ["anogan, again"])
        var settings = ReportSettings()
        settings.evaluation.bootstrapReplicates = 10
        settings.tsne.iterations = 20
        settings.tsne.exaggerationIterations = 5
        let out = root.appendingPathComponent("out/report.html")
        try HTMLReport.write(runs: runs, training: nil, settings: settings, to: out)
        let html = String(decoding: try readFile(out), as: UTF8.self)
        let box = html.range(of: "<div class=\"warning\">")
        XCTAssertNotNil(box, "the warning box")
        XCTAssertTrue(html.contains("generator collapsed: samples are 10 % as diverse"), "the warning's text")
        XCTAssertLessThan(box!.lowerBound, html.range(of: "Table 1")!.lowerBound, "warnings come before the results")
        XCTAssertTrue(html.contains("start prior (seed 1), Γ = 5, variant both"), "how the run scored")
        // A healthy model: no warning box, a one-line OK.
        try health.write(to: main.directory.appendingPathComponent("health.json"))
        try HTMLReport.write(runs: runs, training: nil, settings: settings, to: out)
        let healthy = String(decoding: try readFile(out), as: UTF8.self)
        XCTAssertFalse(healthy.contains("<div class=\"warning\">"))
        XCTAssertTrue(healthy.contains("found no problem (after 321 iterations)"))
    }
}
