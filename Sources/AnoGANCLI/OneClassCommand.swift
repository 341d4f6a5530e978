// `anogan one-class fashion-mnist --normal-class K` (formerly `benchmark`): the
// one-class protocol on a public data set, printing the AUC of every score per
// start as a table with the run's warnings (and results.json); `--all-classes`
// runs classes 0–9 and writes the table of all of them. Parses flags over
// OneClassBenchmarkSettings (file); the runs are Workflows.OneClassBenchmark.
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
        Trains AnoGAN (32×32) on the training images of --normal-class for a fixed number of --iterations \
        (whatever the set's size; 5 % held out for the training health check), then the izi_f encoder E, and \
        scores a test subset of --test-limit images (half normal, half other classes, first in file order) from \
        three starts: the prior (Γ = --steps, both mappings), E(x) alone (Γ = 0) and E(x) refined for \
        --refinement-steps. Prints each start's AUCs and images/s, then the training health's warnings and a \
        warning for every A below 0.5. Writes into --out: patches/, anogan/ (with health.json and the encoder), \
        scores/<start>/ (score runs) and results.json. For P_D low means anomalous.

        --all-classes runs classes 0–9 in sequence into --out/class-<c>/, skipping a class whose results.json \
        holds the same settings, and writes --out/table.md and table.csv (A per start and P_D per class, the \
        mean, and published means for comparison).

        --config FILE (JSON or YAML) holds any of {oneClass: {dataDirectory, normalClass, iterations, \
        validationFraction, encoderIterations, steps, priorCandidates, refinementSteps, testLimit, trainLimit, width, batchSize, \
        seed, generatorAverageDecay, precision}}; flags override it. --precision applies to every stage (GAN and encoder \
        training, all three scorings); a run over a checkpoint of another precision trains anew. (Old name: benchmark, kept for one release.)
        """,
        aliases: ["benchmark"])

    private static let defaults = OneClassBenchmarkSettings(dataDirectory: "", dataName: "", normalClass: 0)

    @Argument(help: "Data set: fashion-mnist or mnist (IDX files in --data or the default directory).")
    var dataset: String

    @Option(help: "The class treated as normal (0–9); required here or in --config, unless --all-classes.")
    var normalClass: Int?

    @Flag(help: "Run classes 0–9 in sequence (each skipped when done) and write table.md and table.csv.")
    var allClasses = false

    @Option(help: ArgumentHelp("Directory with the four IDX files (default: /usr/share/datasets/<dataset>).", valueName: "dir"))
    var data: String?

    @Option(help: "GAN training iterations, whatever the set's size (default \(defaults.iterations)).")
    var iterations: Int?

    @Option(help: "Fraction of the training images held out for the health check (default \(defaults.validationFraction)).")
    var validationFraction: Double?

    @Option(help: ArgumentHelp("Moving average of G's weights with this decay, e.g. 0.999 (default: \(defaults.generatorAverageDecay.map { "\($0)" } ?? "none")).", valueName: "decay"))
    var generatorAverage: Double?

    @Option(help: "Encoder (izi_f) training iterations (default \(defaults.encoderIterations)).")
    var encoderIterations: Int?

    @Option(help: "Γ of the prior start, mapping steps per test image (default \(defaults.steps); the paper: 500).")
    var steps: Int?

    @Option(help: ArgumentHelp("The prior start's z₁ is the draw of lowest mapping loss among K (default \(defaults.priorCandidates ?? 1); 1: the paper's single draw).", valueName: "K"))
    var priorCandidates: Int?

    @Option(help: "Γ of the mapping refined from E(x) (default \(defaults.refinementSteps)).")
    var refinementSteps: Int?

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

    @Option(help: ArgumentHelp("Output directory (default: one-class-<dataset>-<class>, or one-class-<dataset> with --all-classes).", valueName: "dir"))
    var out: String?

    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        guard ["fashion-mnist", "mnist"].contains(dataset) else {
            throw ValidationError("unknown data set \(dataset); use fashion-mnist or mnist (or give --data DIR with IDX files)")
        }
        if allClasses, normalClass != nil { throw ValidationError("give --normal-class or --all-classes, not both") }
        if let generatorAverage, !(generatorAverage > 0 && generatorAverage < 1) {
            throw ValidationError("--generator-average must lie in (0, 1), got \(generatorAverage)")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try configFile.load(OneClassConfig(oneClass: OneClassBenchmarkSettings(
            dataDirectory: "/usr/share/datasets/\(dataset)", dataName: dataset, normalClass: normalClass ?? 0)))
        guard allClasses || normalClass != nil || loaded.sets("oneClass.normalClass") else {
            throw ValidationError("give --normal-class (or oneClass.normalClass in --config), or --all-classes")
        }
        var settings = loaded.value.oneClass
        settings.dataName = dataset
        if let data { settings.dataDirectory = data }
        if let normalClass { settings.normalClass = normalClass }
        if let iterations { settings.iterations = iterations }
        if let validationFraction { settings.validationFraction = validationFraction }
        if let encoderIterations { settings.encoderIterations = encoderIterations }
        if let generatorAverage { settings.generatorAverageDecay = generatorAverage }
        if let steps { settings.steps = steps }
        if let refinementSteps { settings.refinementSteps = refinementSteps }
        if let priorCandidates { settings.priorCandidates = priorCandidates }
        if let testLimit { settings.testLimit = testLimit }
        if let trainLimit { settings.trainLimit = trainLimit }
        if let width { settings.width = width }
        if let batchSize { settings.batchSize = batchSize }
        if let seed { settings.seed = seed }
        if let precision = precisionOption.precision { settings.precision = precision }
        let flags = ["normalClass": "--normal-class", "iterations": "--iterations", "validationFraction": "--validation-fraction",
                     "encoderIterations": "--encoder-iterations", "steps": "--steps", "refinementSteps": "--refinement-steps", "priorCandidates": "--prior-candidates",
                     "testLimit": "--test-limit", "trainLimit": "--train-limit", "width": "--width", "batchSize": "--batch-size"]
        if allClasses {
            let directory = URL(fileURLWithPath: out ?? "one-class-\(dataset)")
            let table = try translatingSettingNames(flags, config: configFile) {
                try OneClassBenchmark.runAllClasses(settings: settings, directory: directory,
                                                    published: dataset == "fashion-mnist" ? PublishedOneClassMean.fashionMNIST : [])
            }
            print(table.markdown)
            print("wrote \(directory.appendingPathComponent(OneClassTable.markdownFileName).path) and "
                  + directory.appendingPathComponent(OneClassTable.csvFileName).path)
            return
        }
        let directory = URL(fileURLWithPath: out ?? "one-class-\(dataset)-\(settings.normalClass)")
        let result = try translatingSettingNames(flags, config: configFile) {
            try OneClassBenchmark.run(settings: settings, directory: directory)
        }
        print(result.table)
        print(String(format: "GAN training %.0f s (%d iterations), encoder %.0f s; wrote %@", result.trainingSeconds,
                     result.trainingIterations, result.encoderSeconds,
                     directory.appendingPathComponent(OneClassBenchmark.resultsFileName).path))
    }
}
