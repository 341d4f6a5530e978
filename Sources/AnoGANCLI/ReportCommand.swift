// `anogan report`: evaluate score runs and write the self-contained HTML
// report (Table 1, Fig. 4 a–d, Fig. 3, Fig. 2 b, the models' training health
// from health.json beside their checkpoints, and scans' whole B-scans) with
// metrics.json beside it.

import ArgumentParser
import Foundation
import Records
import Evaluation
import Report
import Workflows

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the HTML report (and metrics.json beside it) for score runs.",
        discussion: """
        --config FILE (JSON or YAML) holds any of {report: {evaluation: {bootstrapReplicates, confidenceLevel, seed}, \
        tsne: {perplexity, iterations, ...}, tsnePoints, figure3Columns, histogramBins}}; flags override it.
        """)

    /// The settings file of `anogan report`.
    struct Config: Codable { var report = ReportSettings() }
    private static let defaults = ReportSettings()

    @OptionGroup var options: RunOptions
    @OptionGroup var configFile: ConfigOption

    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var out: String = "report.html"

    @Option(name: .customLong("tsne-points"), help: "At most this many labelled images in the t-SNE of Fig. 2(b) (default \(defaults.tsnePoints)).")
    var tsnePoints: Int?

    @Option(name: .customLong("tsne-iterations"), help: "t-SNE iterations (default \(defaults.tsne.iterations)).")
    var tsneIterations: Int?

    @Option(name: .customLong("tsne-seed"), help: "Seed of the t-SNE initialisation and subset (default \(defaults.tsne.seed)).")
    var tsneSeed: UInt64?

    @Option(name: .customLong("examples"), help: "Example images per block of Fig. 3 (default \(defaults.figure3Columns)).")
    var examples: Int?

    @Option(name: .customLong("scan"),
            help: ArgumentHelp("An `anogan scan` output directory: its whole B-scans (volumes, evaluation against masks, en-face maps, "
                               + "overlays, marker candidates and their t-SNE) become a section of the report, pictures embedded. Repeatable.",
                               valueName: "dir"))
    var scans: [String] = []

    func validate() throws {
        try requireRange(tsnePoints, 3...100_000, "--tsne-points")
        try requireRange(tsneIterations, 1...1_000_000, "--tsne-iterations")
        try requireRange(examples, 1...1000, "--examples")
        guard out.hasSuffix(".html") || out.hasSuffix(".htm") else { throw ValidationError("--out must name an .html file") }
    }

    func run() throws {
        var settings = try configFile.load(Config()).value.report
        settings.evaluation = options.evaluationSettings(over: settings.evaluation)
        if let tsnePoints { settings.tsnePoints = tsnePoints }
        if let tsneIterations {
            settings.tsne.iterations = tsneIterations
            settings.tsne.exaggerationIterations = min(settings.tsne.exaggerationIterations, tsneIterations / 4)
        }
        if let tsneSeed { settings.tsne.seed = tsneSeed }
        if let examples { settings.figure3Columns = examples }
        try translatingSettingNames(["report.evaluation.bootstrapReplicates": "--bootstrap", "report.tsnePoints": "--tsne-points",
                                     "report.tsne.iterations": "--tsne-iterations", "report.figure3Columns": "--examples"],
                                    config: configFile) { try settings.validate() }
        try RunDirectory.create(URL(fileURLWithPath: out).deletingLastPathComponent())
        let (runs, training) = try options.load(.all, trainingParts: .all)
        let sections = try scans.map { try ScanReport.reportSection(of: URL(fileURLWithPath: $0)) }
        let url = URL(fileURLWithPath: out)
        let result = try HTMLReport.write(runs: runs, training: training, settings: settings, sections: sections, to: url)
        printNotes(result.notes)
        // The models' training health, as `train` printed it: warnings where they cannot be missed.
        var ignored: [String] = []
        for h in RunHealth.find(for: runs, notes: &ignored) {
            if h.health.warnings.isEmpty {
                print("training health of run \(h.run) (\(h.file.path)): OK")
            } else {
                for w in h.health.warnings { print("WARNING: training health of run \(h.run) (\(h.file.path)): \(w.message)") }
            }
        }
        print("wrote \(url.path) and \(url.deletingLastPathComponent().appendingPathComponent("metrics.json").path)")
    }
}
