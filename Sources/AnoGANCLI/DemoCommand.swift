// `anogan demo`: the whole paper on synthetic OCT in one command (phantoms,
// preprocessing, AnoGAN and aCAE training, scoring, evaluation, HTML report).
// Parses flags over DemoSettings (file); the pipeline is Workflows.Demo.
import ArgumentParser
import Foundation
import Records
import Workflows

/// The settings file of `anogan demo`.
struct DemoConfig: Codable {
    var demo: DemoSettings
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole experiment on synthetic OCT and write an HTML report (about 6 minutes on 2 cores).",
        discussion: """
        Writes into --out: phantoms/ (MetaImage volumes), patches/ (patch sets), anogan/ (checkpoint, losses, \
        samples, the encoder), acae/, scores/ (score runs of AnoGAN, the encoder, the aCAE and the training patches), \
        scan/ (`anogan scan` of the diseased test volumes: whole-B-scan anomaly maps and marker candidates) and \
        report/report.html with metrics.json. Rerunning with the same settings skips finished stages. The one-class protocol on \
        Fashion-MNIST is `anogan one-class`; timing is `anogan speed`.

        --config FILE (JSON or YAML) holds any of {demo: {seed, trainingVolumes, testHealthyVolumes, \
        testDiseasedVolumes, bscans, phantomWidth, phantomHeight, trainingPatchesPerBScan, testPatchesPerBScan, \
        testNormalLimit, imageSize, width, batchSize, ganIterations, generatorAverageDecay, realLabel, acaeEpochs, \
        encoderIterations, mappingSteps, refinementSteps, trainingScoreCount, precision}}, laid over the standard (or, with \
        --quick, the quick) sizes; flags override it. --precision applies to every stage (GAN, encoder and aCAE training, \
        all scoring); a rerun with another precision recomputes them.
        """)

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String = "anogan-demo"

    @Option(help: "Random seed of phantoms, patches, training and mapping (default \(DemoSettings.standard.seed)).")
    var seed: UInt64?

    @Flag(help: ArgumentHelp("Every stage at toy sizes (seconds): checks that everything runs. Its GAN trains for 6 iterations, "
                             + "too few to detect anything; the health check says so, and the AUCs mean nothing."))
    var quick = false

    @OptionGroup var configFile: ConfigOption
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var precisionOption: PrecisionOption

    func run() throws {
        threadOptions.apply()
        var settings = try configFile.load(DemoConfig(demo: quick ? .quick : .standard)).value.demo
        if let seed { settings.seed = seed }
        if let precision = precisionOption.precision { settings.precision = precision }
        if quick {
            print("note: --quick runs every stage at toy sizes to check that everything runs; its GAN is far too small to detect "
                  + "anything, so the health warnings and AUCs below are expected. Run without --quick for the experiment.")
        }
        _ = try Demo.run(settings: settings, directory: URL(fileURLWithPath: out))
    }
}
