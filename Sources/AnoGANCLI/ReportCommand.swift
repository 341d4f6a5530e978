// `anogan report`: evaluate score runs and write the self-contained HTML
// report (Table 1, Fig. 4 a–d, Fig. 3, Fig. 2 b) with metrics.json beside it.

import ArgumentParser
import Foundation
import Records
import Evaluation
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the HTML report (and metrics.json beside it) for score runs.")

    @OptionGroup var options: RunOptions

    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var out: String = "report.html"

    @Option(name: .customLong("tsne-points"), help: "At most this many labelled images in the t-SNE of Fig. 2(b).")
    var tsnePoints: Int = 2000

    @Option(name: .customLong("tsne-iterations"), help: "t-SNE iterations.")
    var tsneIterations: Int = 1000

    @Option(name: .customLong("tsne-seed"), help: "Seed of the t-SNE initialisation and subset.")
    var tsneSeed: UInt64 = 0

    @Option(name: .customLong("examples"), help: "Example images per block of Fig. 3.")
    var examples: Int = 6

    func validate() throws {
        guard tsnePoints >= 3 else { throw ValidationError("--tsne-points must be at least 3") }
        guard tsneIterations >= 1 else { throw ValidationError("--tsne-iterations must be at least 1") }
        guard examples >= 1 else { throw ValidationError("--examples must be at least 1") }
        guard out.hasSuffix(".html") || out.hasSuffix(".htm") else { throw ValidationError("--out must name an .html file") }
    }

    func run() throws {
        var settings = ReportSettings()
        settings.evaluation = options.evaluationSettings
        settings.tsnePoints = tsnePoints
        settings.tsne.iterations = tsneIterations
        settings.tsne.exaggerationIterations = min(settings.tsne.exaggerationIterations, tsneIterations / 4)
        settings.tsne.seed = tsneSeed
        settings.figure3Columns = examples
        let (runs, training) = try options.load(.all, trainingParts: .all)
        let url = URL(fileURLWithPath: out)
        let result = try HTMLReport.write(runs: runs, training: training, settings: settings, to: url)
        printNotes(result.notes)
        print("wrote \(url.path) and \(url.deletingLastPathComponent().appendingPathComponent("metrics.json").path)")
    }
}
