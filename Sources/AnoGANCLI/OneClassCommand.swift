// `anogan one-class fashion-mnist --normal-class K` (formerly `benchmark`): the
// one-class protocol on a public data set, printing the AUC of every score as a
// table (and results.json). Parses flags over OneClassBenchmarkSettings (file);
// the run is Workflows.OneClassBenchmark.
import ArgumentParser
import Foundation
import Records
import Workflows

/// The settings file of `anogan one-class`.
struct OneClassConfig: Codable {
    var oneClass: OneClassBenchmarkSettings
}

struct OneClassCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "one-class",
        abstract: "One-class anomaly detection on Fashion-MNIST or MNIST: AUC of R, D, A, R_hat, D_hat, A_hat, P_D.",
        discussion: """
        Trains AnoGAN (32×32) on the training images of --normal-class, maps a test subset of --test-limit \
        images (half normal, half other classes, first in file order) with both mappings and prints the AUCs. \
        Writes into --out: patches/, anogan/, scores/ (a score run) and results.json. For P_D low means anomalous.

        --config FILE (JSON or YAML) holds any of {oneClass: {dataDirectory, normalClass, epochs, steps, testLimit, \
        trainLimit, width, batchSize, seed}}; flags override it. (Old name: benchmark, kept for one release.)
        """,
        aliases: ["benchmark"])

    private static let defaults = OneClassBenchmarkSettings(dataDirectory: "", dataName: "", normalClass: 0)

    @Argument(help: "Data set: fashion-mnist or mnist (IDX files in --data or the default directory).")
    var dataset: String

    @Option(help: "The class treated as normal (0–9); required here or in --config.")
    var normalClass: Int?

    @Option(help: ArgumentHelp("Directory with the four IDX files (default: /usr/share/datasets/<dataset>).", valueName: "dir"))
    var data: String?

    @Option(help: "Training epochs (default \(defaults.epochs)).")
    var epochs: Int?

    @Option(help: "Γ, mapping steps per test image (default \(defaults.steps); the paper: 500).")
    var steps: Int?

    @Option(help: "Test images scored, half normal, half anomalous (default \(defaults.testLimit)).")
    var testLimit: Int?

    @Option(help: "Use only the first N training images of the normal class (default: all).")
    var trainLimit: Int?

    @Option(help: "Model width, channels of D's first convolution (default \(defaults.width)).")
    var width: Int?

    @Option(help: "Batch size (default \(defaults.batchSize)).")
    var batchSize: Int?

    @Option(help: "Random seed (default \(defaults.seed)).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Output directory (default: one-class-<dataset>-<class>).", valueName: "dir"))
    var out: String?

    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard ["fashion-mnist", "mnist"].contains(dataset) else {
            throw ValidationError("unknown data set \(dataset); use fashion-mnist or mnist (or give --data DIR with IDX files)")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try configFile.load(OneClassConfig(oneClass: OneClassBenchmarkSettings(
            dataDirectory: "/usr/share/datasets/\(dataset)", dataName: dataset, normalClass: normalClass ?? 0)))
        guard normalClass != nil || loaded.sets("oneClass.normalClass") else {
            throw ValidationError("give --normal-class (or oneClass.normalClass in --config)")
        }
        var settings = loaded.value.oneClass
        settings.dataName = dataset
        if let data { settings.dataDirectory = data }
        if let normalClass { settings.normalClass = normalClass }
        if let epochs { settings.epochs = epochs }
        if let steps { settings.steps = steps }
        if let testLimit { settings.testLimit = testLimit }
        if let trainLimit { settings.trainLimit = trainLimit }
        if let width { settings.width = width }
        if let batchSize { settings.batchSize = batchSize }
        if let seed { settings.seed = seed }
        let directory = URL(fileURLWithPath: out ?? "one-class-\(dataset)-\(settings.normalClass)")
        let flags = ["normalClass": "--normal-class", "epochs": "--epochs", "steps": "--steps", "testLimit": "--test-limit",
                     "trainLimit": "--train-limit", "width": "--width", "batchSize": "--batch-size"]
        let result = try translatingSettingNames(flags, config: configFile) {
            try OneClassBenchmark.run(settings: settings, directory: directory)
        }
        print(result.table)
        print(String(format: "training %.0f s, scoring %.0f s; wrote %@", result.trainingSeconds, result.scoringSeconds,
                     directory.appendingPathComponent("results.json").path))
    }
}
