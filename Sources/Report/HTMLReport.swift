// The report: one self-contained HTML file (inline SVG plots, PNG cells as
// base64 data URIs, no external resources) holding Table 1, Fig. 4 (a–d),
// Fig. 3, Fig. 2(b), the pixel-level AUROC, every score's metrics, and the
// settings and seeds that produced them.

import Foundation
import Records
import Evaluation

public struct ReportSettings: Codable, Equatable, Sendable {
    public var evaluation = EvaluationSettings()
    /// t-SNE of D's features for Fig. 2(b); its seed also picks the subset.
    public var tsne = TSNESettings()
    /// At most this many labelled test images are embedded (exact t-SNE is O(N²)).
    public var tsnePoints = 2000
    /// Example images per block of Fig. 3.
    public var figure3Columns = 6
    /// Bins of the score histograms of Fig. 4 (c, d).
    public var histogramBins = 30
    public init() {}

    /// Bounds of every field (Records' Limits); the error names `prefix.field`.
    public func validate(_ prefix: String = "report") throws {
        try evaluation.validate("\(prefix).evaluation")
        try Limits.check("\(prefix).tsnePoints", tsnePoints, in: 3...100_000)
        try Limits.check("\(prefix).tsne.iterations", tsne.iterations, in: 1...1_000_000)
        try Limits.check("\(prefix).figure3Columns", figure3Columns, in: 1...1000)
        try Limits.check("\(prefix).histogramBins", histogramBins, in: 1...100_000)
    }
}

/// A training health report (health.json, written by `anogan train` beside its checkpoint)
/// found for a score run.
public struct RunHealth: Equatable, Sendable {
    /// The run, or the runs (comma-separated) whose models share this health.json.
    public var run: String
    public var file: URL
    public var health: TrainingHealth

    public init(run: String, file: URL, health: TrainingHealth) {
        self.run = run
        self.file = file
        self.health = health
    }

    /// health.json in the folder of each run's checkpoint (the path in summary.json as given,
    /// then relative to the run directory), for runs that have one; runs of one model (one file)
    /// share one entry. Unreadable ones become notes.
    public static func find(for runs: [NamedScoreRun], notes: inout [String]) -> [RunHealth] {
        var found: [RunHealth] = []
        for run in runs {
            guard let checkpoint = run.run.summary?.checkpoint, !checkpoint.isEmpty else { continue }
            let given = URL(fileURLWithPath: checkpoint)
            let candidates = [given] + (checkpoint.hasPrefix("/") ? [] : [run.directory.appendingPathComponent(checkpoint)])
            for c in candidates {
                let file = c.deletingLastPathComponent().appendingPathComponent("health.json")
                guard FileManager.default.fileExists(atPath: file.path) else { continue }
                if let k = found.firstIndex(where: { $0.file.standardizedFileURL == file.standardizedFileURL }) {
                    found[k].run += ", " + run.name
                    break
                }
                do { found.append(RunHealth(run: run.name, file: file, health: try TrainingHealth.read(file))) } catch {
                    notes.append("run \(run.name): \(error)")
                }
                break
            }
        }
        return found
    }
}

/// A section the caller adds to the report (e.g. a scan's whole B-scans), drawn after the
/// paper's figures: its title and its HTML, with any pictures embedded.
public struct ReportSection: Sendable {
    public var title: String
    public var html: String
    public init(title: String, html: String) { (self.title, self.html) = (title, html) }
}

public enum HTMLReport {
    // The paper's colours.
    static let modelColours = ["aCAE": "#1f77b4", "GAN_R": "#d62728", "AnoGAN": "black", "P_D": "#2ca02c",
                               "AnoGAN (E start)": "#9467bd", "izi_f (E only)": "#ff7f0e"]
    static let componentColours = ["R": "#2ca02c", "D": "black", "D_hat": "#d62728"]
    static let groupColours: [ScoreDistribution.Group: String] = [.trainingNormal: "#1f77b4", .testNormal: "#2ca02c", .testAnomalous: "#d62728"]

    /// Renders the whole report. `evaluation` is `Analysis.evaluate` of the same runs.
    /// `health`: the training health of the runs' models (`RunHealth.find`), shown first;
    /// `sections` come after the paper's figures.
    public static func render(runs: [NamedScoreRun], training: NamedScoreRun?, evaluation: EvaluationResult,
                              settings: ReportSettings, health: [RunHealth] = [], sections: [ReportSection] = []) throws -> String {
        guard let main = Analysis.mainRun(runs) else { throw EvaluationError("no score runs for the report") }
        var notes = evaluation.notes
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>AnoGAN evaluation report</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1400px; color: #222; padding: 0 16px; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        table { border-collapse: collapse; font-size: 13px; } th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
        th:first-child, td:first-child { text-align: left; } th { background: #f6f6f6; }
        .grid { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; } figcaption { font-size: 12px; color: #555; max-width: 420px; }
        h3 { font-size: 15px; margin-top: 24px; } .scan img { max-width: 520px; image-rendering: pixelated; }
        .wide { overflow-x: auto; } pre { background: #f6f6f6; padding: 8px; font-size: 11px; overflow-x: auto; max-height: 320px; }
        .notes li { color: #8a5300; font-size: 13px; }
        .warning { background: #fdecea; border: 2px solid #c62828; color: #8e0000; padding: 8px 12px; margin: 8px 0; font-size: 14px; }
        .healthy { background: #edf7ed; border: 1px solid #2e7d32; color: #1b5e20; padding: 6px 12px; margin: 8px 0; font-size: 13px; }
        </style></head><body>
        <h1>AnoGAN evaluation report</h1>
        <p>Runs: \(runs.map { "<b>\(escape($0.name))</b> (\(escape($0.directory.path)); \(escape(howScored($0))))" }.joined(separator: ", "))\(training.map { "; training scores: \(escape($0.directory.path))" } ?? "").
        Label 1 = anomalous = positive. Scores R, D, A, R̂, D̂, Â: higher is more anomalous; P_D = σ(D(x)): lower is more anomalous (ranked by −P_D).</p>

        """
        html += healthSection(health)
        html += section("Table 1 — performance at Youden's index", table1(evaluation))
        html += section("Fig. 4 — image-level detection", fig4(runs: runs, main: main, training: training, evaluation: evaluation, settings: settings))
        html += section("Fig. 3 — pixel-level identification", try fig3(main: main, training: training, evaluation: evaluation, settings: settings, notes: &notes))
        html += section("Fig. 2 (b) — t-SNE of D's last-convolution features", try fig2b(main: main, settings: settings, notes: &notes))
        html += section("Pixel level", pixelLevel(evaluation))
        html += section("Every score", allScores(evaluation))
        for extra in sections { html += section(extra.title, extra.html) }
        if !notes.isEmpty {
            html += section("Notes", "<ul class=\"notes\">" + notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        html += section("Settings and seeds", settingsBlock(runs: runs, training: training, settings: settings))
        return html + "</body></html>\n"
    }

    /// How a run scored: its start and Γ, or one encoder pass.
    static func howScored(_ run: NamedScoreRun) -> String {
        guard let summary = run.run.summary else { return "no summary.json" }
        let st = summary.settings
        if summary.reconstructionsFrom == ScoreRun.Summary.encoderPass { return "one encoder pass (aCAE), λ = \(st.mapping.lambda)" }
        let start = st.start == .encoder
            ? "start encoder (z₁ = E(x)\(summary.encoderCheckpoint.map { " of " + $0 } ?? ""))"
            : "start prior (seed \(st.seed)" + (MappingSettings.priorChoice(st.mapping.priorCandidates).map { ", " + $0 } ?? "") + ")"
        return "\(start), Γ = \(st.mapping.steps)\(st.mapping.steps == 0 ? " (the encoder score alone)" : ""), variant \(st.variant.rawValue), λ = \(st.mapping.lambda)"
    }

    /// The models' training health: warnings first and loud, then the numbers.
    static func healthSection(_ health: [RunHealth]) -> String {
        guard !health.isEmpty else { return "" }
        var body = ""
        for h in health {
            let r = h.health
            if r.warnings.isEmpty {
                body += "<div class=\"healthy\">Run <b>\(escape(h.run))</b>: the model's training health check found no problem (after \(r.iteration) iterations).</div>\n"
            } else {
                body += "<div class=\"warning\"><b>⚠ Run \(escape(h.run)): the model may be unfit — its scores may be meaningless or inverted.</b><ul>"
                    + r.warnings.map { "<li>\(escape($0.message))</li>" }.joined() + "</ul></div>\n"
            }
            let rec = r.reconstruction, d = r.diversity
            body += "<table><tr><th>\(escape(h.run)) (\(escape(h.file.path)))</th><th>value</th></tr>"
                + "<tr><td>iterations trained</td><td>\(r.iteration)</td></tr>"
                + "<tr><td>reconstruction |x − G(z)| per pixel, validation (\(rec.steps) steps from the \(escape(rec.start)))</td><td>\(fmt(rec.validation, 4))</td></tr>"
                + "<tr><td>reconstruction, training sample</td><td>\(fmt(rec.training, 4))</td></tr>"
                + "<tr><td>validation / training</td><td>\(fmt(rec.ratio, 3))</td></tr>"
                + "<tr><td>mean-image baseline</td><td>\(fmt(rec.meanImage, 4))</td></tr>"
                + "<tr><td>sample diversity / data diversity</td><td>\(fmt(d.ratio, 3))</td></tr>"
                + (r.trend.map { "<tr><td>D(x), D(G(z)) over the last \($0.iterations) iterations</td><td>\(fmt($0.dReal, 3)), \(fmt($0.dFake, 3))</td></tr>" } ?? "")
                + "</table>\n"
        }
        return section("Training health", body)
    }

    static func section(_ title: String, _ body: String) -> String { "<h2>\(escape(title))</h2>\n\(body)\n" }

    static func fmt(_ v: Double?, _ digits: Int = 4) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "—" }
    static func cutoff(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : (v > 0 ? "∞" : "−∞") }

    /// Pixel AUROC of every run's anomaly maps, smoothed and raw.
    static func pixelLevel(_ e: EvaluationResult) -> String {
        guard !e.pixelAUROCByRun.isEmpty else { return "<p>Not computed (needs residuals.npy and masks in the patch set).</p>" }
        let sigma = e.settings.anomalyMapSigma
        var s = "<p>AUROC of the anomaly maps against the annotation masks, over all pixels of all labelled test images. "
            + "The map is the residual |x − x̂| smoothed with a Gaussian of σ = \(fmt(sigma, 1)) px (evaluation setting anomalyMapSigma; 0 = raw), "
            + "because no reconstruction reproduces speckle pixel for pixel while an anomaly is a coherent region.</p>\n"
        s += "<table><tr><th>run</th><th>pixel AUROC</th><th>raw residual</th></tr>\n"
        for name in e.pixelAUROCByRun.keys.sorted() {
            s += "<tr><td>\(escape(name))</td><td>\(fmt(e.pixelAUROCByRun[name]!, 4))</td><td>\(e.rawPixelAUROCByRun[name].map { fmt($0, 4) } ?? "–")</td></tr>\n"
        }
        return s + "</table>"
    }

    static func table1(_ e: EvaluationResult) -> String {
        guard !e.table1.isEmpty else { return "<p>No model of Table 1 could be evaluated (needs columns A, A_hat, P_D of run anogan or A of run acae).</p>" }
        var s = "<table><tr><th>Model</th><th>Precision</th><th>Recall</th><th>Sensitivity</th><th>Specificity</th><th>AUC</th><th>\(Int(e.settings.confidenceLevel * 100))% CI (bootstrap)</th><th>cut-off</th><th>anomalous / normal</th></tr>\n"
        for row in e.table1 {
            let y = row.youden
            let score = "\(row.run).\(row.column)"
            let op = row.column == "P_D" ? "≤" : "≥"
            s += "<tr><td>\(escape(row.model)) <small>(\(escape(score)))</small></td><td>\(fmt(y.precision))</td><td>\(fmt(y.recall))</td><td>\(fmt(y.sensitivity))</td><td>\(fmt(y.specificity))</td><td><b>\(fmt(row.auc, 3))</b></td><td>[\(fmt(row.confidenceInterval.lower, 3)), \(fmt(row.confidenceInterval.upper, 3))]</td><td>\(op) \(cutoff(y.threshold))</td><td>\(y.truePositives + y.falseNegatives) / \(y.trueNegatives + y.falsePositives)</td></tr>\n"
        }
        return s + "</table>\n<p style=\"font-size:12px;color:#555\">Bootstrap: \(e.settings.bootstrapReplicates) stratified resamples, seed \(e.settings.seed).</p>"
    }

    static func allScores(_ e: EvaluationResult) -> String {
        var s = "<table><tr><th>run.column</th><th>AUC</th><th>CI</th><th>Youden J</th><th>cut-off</th><th>sensitivity</th><th>specificity</th><th>precision</th><th>anomalous / normal</th><th>left out (NaN)</th></tr>\n"
        for c in e.scores {
            let y = c.youden
            s += "<tr><td>\(escape(c.run)).\(escape(c.column))</td><td>\(fmt(c.auc, 4))</td><td>[\(fmt(c.confidenceInterval.lower, 3)), \(fmt(c.confidenceInterval.upper, 3))]</td><td>\(fmt(y.youdenIndex, 4))</td><td>\(c.orientation == .lowerIsAnomalous ? "≤" : "≥") \(cutoff(y.threshold))</td><td>\(fmt(y.sensitivity))</td><td>\(fmt(y.specificity))</td><td>\(fmt(y.precision))</td><td>\(c.positives) / \(c.negatives)</td><td>\(c.excludedIDs.count)</td></tr>\n"
        }
        return s + "</table>"
    }

    static func figure(_ svg: String, _ caption: String) -> String {
        "<figure>\(svg)<figcaption>\(caption)</figcaption></figure>\n"
    }

    static func fig4(runs: [NamedScoreRun], main: NamedScoreRun, training: NamedScoreRun?, evaluation e: EvaluationResult, settings: ReportSettings) -> String {
        func curves(_ refs: [ScoreReference], colours: [String: String], key: (ScoreReference) -> String) -> [PlotSeries<ROCCurve>] {
            refs.compactMap { ref in
                e.score(run: ref.run, column: ref.column).map {
                    PlotSeries(label: "\(ref.label) (AUC \(fmt($0.auc, 3)))", color: colours[key(ref)] ?? "gray", data: $0.roc)
                }
            }
        }
        let a = curves(ScoreReference.modelComparison, colours: modelColours, key: \.label)
        let components = ScoreReference.scoreComponents.map { ScoreReference(label: $0.label, run: main.name, column: $0.column) }
        let b = curves(components, colours: componentColours, key: \.column)
        var s = "<div class=\"grid\">\n"
        s += figure(SVGPlot.roc(title: "(a) Model comparison", curves: a),
                    "(a) ROC of aCAE (A of run acae), GAN<sub>R</sub> (Â), AnoGAN (A), the discriminator output P<sub>D</sub> and, when scored, AnoGAN started from the izi_f encoder and the encoder score alone." + (a.isEmpty ? " <i>No score available.</i>" : ""))
        s += figure(SVGPlot.roc(title: "(b) Anomaly score components", curves: b),
                    "(b) ROC of the residual score R(x), the discrimination score D(x) and the reference D̂(x)." + (b.isEmpty ? " <i>No score available.</i>" : ""))
        for (letter, column, name) in [("c", "R", "residual score R(x)"), ("d", "D", "discrimination score D(x)")] {
            let groups = ScoreDistribution.Group.allCases.compactMap { g -> PlotSeries<[Double]>? in
                let v = groupValues(column: column, group: g, test: main.scores, training: training?.scores)
                return v.isEmpty ? nil : PlotSeries(label: g.rawValue, color: groupColours[g]!, data: v)
            }
            let cut = e.score(run: main.name, column: column)?.youden.threshold
            let markers = cut.map { [PlotSeries(label: "Youden cut-off", color: "#555", data: $0)] } ?? []
            s += figure(SVGPlot.histogram(title: "(\(letter)) Distribution of \(column)(x)", xLabel: name, groups: groups,
                                          bins: settings.histogramBins, markers: markers),
                        "(\(letter)) Density of the \(name) for normal training images (blue\(training == nil ? ", not given" : "")), normal test images (green) and anomalous test images (red); dashed: the Youden cut-off of run \(escape(main.name)).")
        }
        return s + "</div>"
    }

    /// Up to `k` indices spread evenly over `indices`.
    static func spread(_ indices: [Int], _ k: Int) -> [Int] {
        guard indices.count > k else { return indices }
        guard k > 1 else { return Array(indices.prefix(k)) }
        return (0..<k).map { indices[($0 * (indices.count - 1)) / (k - 1)] }
    }

    static func fig3(main: NamedScoreRun, training: NamedScoreRun?, evaluation e: EvaluationResult, settings: ReportSettings, notes: inout [String]) throws -> String {
        let rCut = e.score(run: main.name, column: "R")?.youden.threshold
        let dCut = e.score(run: main.name, column: "D")?.youden.threshold
        func columns(_ run: NamedScoreRun, _ rows: [Int]) -> [Figure3Column] {
            let r = run.scores.column("R"), d = run.scores.column("D")
            return rows.map { i in
                func called(_ v: [Double]?, _ cut: Double?) -> Bool? {
                    guard let v, let cut, v[i].isFinite else { return nil }
                    return v[i] >= cut
                }
                let id = run.scores.ids[i]
                return Figure3Column(input: NamedScoreRun.item(run.patches?.images, i), reconstruction: NamedScoreRun.item(run.reconstructions, i),
                                     residual: NamedScoreRun.item(run.residuals, i), mask: NamedScoreRun.item(run.patches?.masks, i),
                                     detectedByR: called(r, rCut), detectedByD: called(d, dCut),
                                     caption: id.count > 12 ? "…" + id.suffix(11) : id)
            }
        }
        var blocks = [Figure3Block]()
        let k = settings.figure3Columns
        if let t = training, t.reconstructions != nil {
            blocks.append(Figure3Block(title: "normal, training set", columns: columns(t, spread(t.scores.labels.indices.filter { t.scores.labels[$0] != 1 }, k))))
        }
        let labels = main.scores.labels
        blocks.append(Figure3Block(title: "normal, test set", columns: columns(main, spread(labels.indices.filter { labels[$0] == 0 }, k))))
        blocks.append(Figure3Block(title: "anomalous, test set", columns: columns(main, spread(labels.indices.filter { labels[$0] == 1 }, k))))
        blocks = blocks.filter { !$0.columns.isEmpty }
        guard let size = main.residuals?.shape[3] ?? main.reconstructions?.shape[3] ?? main.patches?.size, !blocks.isEmpty else {
            notes.append("Fig. 3 not drawn: run \(main.name) has no reconstructions, residuals or labelled images")
            return "<p>Not available.</p>"
        }
        // One heat-map scale for all shown residuals (their 99th percentile) so columns compare.
        let shown = blocks.flatMap(\.columns).flatMap { $0.residual ?? [] }.sorted()
        let scale = shown.isEmpty ? 1 : max(shown[min(shown.count - 1, Int(Double(shown.count) * 0.99))], 1e-6)
        let svg = try Figure3.svg(blocks: blocks, size: size, residualScale: scale)
        return "<div class=\"wide\">\(svg)</div><p style=\"font-size:12px;color:#555\">Rows: input, G(z<sub>Γ</sub>), residual |x − G(z<sub>Γ</sub>)| as a red→yellow heat map over the input (full strength at \(String(format: "%.3g", scale)), the 99th percentile of the shown residuals), annotation (cyan). Red bar: called anomalous by R(x) ≥ \(rCut.map(cutoff) ?? "n/a"); yellow bar: by D(x) ≥ \(dCut.map(cutoff) ?? "n/a") (Youden cut-offs of run \(escape(main.name))); empty outline: not called. Columns are spread evenly over each group in file order.</p>"
    }

    static func fig2b(main: NamedScoreRun, settings: ReportSettings, notes: inout [String]) throws -> String {
        guard let features = main.features else {
            notes.append("Fig. 2(b) not drawn: run \(main.name) has no features.npy")
            return "<p>Not available (no features.npy).</p>"
        }
        var rows = main.scores.labels.indices.filter { main.scores.labels[$0] != nil }
        guard rows.count >= 3 else {
            notes.append("Fig. 2(b) not drawn: fewer than 3 labelled images")
            return "<p>Not available.</p>"
        }
        if rows.count > settings.tsnePoints {
            var rng = SeededGenerator(seed: settings.tsne.seed)
            rows.shuffle(using: &rng)
            rows = Array(rows.prefix(settings.tsnePoints)).sorted()
        }
        let f = features.itemCount
        let points = rows.map { Array(UnsafeBufferPointer(start: features.data + $0 * f, count: f)) }
        var tsne = settings.tsne
        // Small test sets: keep the perplexity below the point count.
        tsne.perplexity = min(tsne.perplexity, Double(rows.count - 1) / 3)
        let y = try TSNE.embed(points, settings: tsne)
        var normal = [(Double, Double)](), anomalous = [(Double, Double)]()
        for (k, i) in rows.enumerated() {
            if main.scores.labels[i] == 1 { anomalous.append((y[2 * k], y[2 * k + 1])) } else { normal.append((y[2 * k], y[2 * k + 1])) }
        }
        let svg = SVGPlot.scatter(title: "t-SNE of f(x)", groups: [PlotSeries(label: "normal", color: "#1f77b4", data: normal),
                                                               PlotSeries(label: "anomalous", color: "#d62728", data: anomalous)])
        return figure(svg, "t-SNE embedding of D's last-convolution features f(x) of \(rows.count) labelled test images (normal blue, anomalous red); perplexity \(fmt(tsne.perplexity, 1)), \(tsne.iterations) iterations, seed \(tsne.seed).")
    }

    static func settingsBlock(runs: [NamedScoreRun], training: NamedScoreRun?, settings: ReportSettings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let settingsText = (try? encoder.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var s = "<p>Report settings (bootstrap and t-SNE seeds included):</p><pre>\(escape(settingsText))</pre>\n"
        for run in runs + (training.map { [$0] } ?? []) {
            let title = run.name + (run.patchesDirectory.map { " — patch set \($0.path)" } ?? "")
            s += "<p>summary.json of run <b>\(escape(title))</b>:</p><pre>\(escape(run.summaryText ?? "(none)"))</pre>\n"
        }
        return s
    }
}

extension HTMLReport {
    /// Evaluates the runs, renders the report and writes it atomically, with
    /// metrics.json and roc.csv beside it. Returns the evaluation.
    /// `health` nil: `RunHealth.find` for the runs (a health.json that cannot be read becomes a note).
    @discardableResult
    public static func write(runs: [NamedScoreRun], training: NamedScoreRun?, settings: ReportSettings, health: [RunHealth]? = nil,
                             sections: [ReportSection] = [], to url: URL) throws -> EvaluationResult {
        var result = try Analysis.evaluate(runs: runs, training: training, settings: settings.evaluation)
        let health = health ?? RunHealth.find(for: runs, notes: &result.notes)
        let html = try render(runs: runs, training: training, evaluation: result, settings: settings, health: health, sections: sections)
        try Analysis.write(result, to: url.deletingLastPathComponent())
        try Data(html.utf8).writeAtomically(to: url)
        return result
    }
}
