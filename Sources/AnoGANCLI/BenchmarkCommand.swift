// `anogan benchmark fashion-mnist --normal-class K`: the one-class protocol on a
// public data set, printing the AUC of every score as a table (and results.json).
// Parses flags; the run is Experiments.OneClassBenchmark.
import ArgumentParser
import Experiments
import Foundation
import Records

struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "One-class anomaly detection on Fashion-MNIST or MNIST: AUC of R, D, A, R_hat, D_hat, A_hat, P_D.",
        discussion: """
        Trains AnoGAN (32×32) on the training images of --normal-class, maps a test subset of --test-limit \
        images (half normal, half other classes, first in file order) with both mappings and prints the AUCs. \
        Writes into --out: patches/, anogan/, scores/ (a score run) and results.json. For P_D low means anomalous.
        """)

    @Argument(help: "Data set: fashion-mnist or mnist (IDX files in --data or the default directory).")
    var dataset: String

    @Option(help: "The class treated as normal (0–9).")
    var normalClass: Int

    @Option(help: ArgumentHelp("Directory with the four IDX files (default: /usr/share/datasets/<dataset>).", valueName: "dir"))
    var data: String?

    @Option(help: "Training epochs.")
    var epochs: Int = 5

    @Option(help: "Γ, mapping steps per test image (the paper: 500).")
    var steps: Int = 100

    @Option(help: "Test images scored (half normal, half anomalous).")
    var testLimit: Int = 1000

    @Option(help: "Use only the first N training images of the normal class.")
    var trainLimit: Int?

    @Option(help: "Model width (channels of D's first convolution).")
    var width: Int = 32

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Output directory (default: benchmark-<dataset>-<class>).", valueName: "dir"))
    var out: String?

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard ["fashion-mnist", "mnist"].contains(dataset) else {
            throw ValidationError("unknown data set \(dataset); use fashion-mnist or mnist (or give --data DIR with IDX files)")
        }
    }

    func run() throws {
        threadOptions.apply()
        var settings = OneClassBenchmarkSettings(dataDirectory: data ?? "/usr/share/datasets/\(dataset)", dataName: dataset,
                                                 normalClass: normalClass)
        settings.epochs = epochs
        settings.steps = steps
        settings.testLimit = testLimit
        settings.trainLimit = trainLimit
        settings.width = width
        settings.seed = seed
        let directory = URL(fileURLWithPath: out ?? "benchmark-\(dataset)-\(normalClass)")
        let result = try OneClassBenchmark.run(settings: settings, directory: directory)
        print(result.table)
        print(String(format: "training %.0f s, scoring %.0f s; wrote %@", result.trainingSeconds, result.scoringSeconds,
                     directory.appendingPathComponent("results.json").path))
    }
}
