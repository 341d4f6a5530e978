// `anogan demo`: the whole paper on synthetic OCT in one command (phantoms,
// preprocessing, AnoGAN and aCAE training, scoring, evaluation, HTML report).
// Parses flags; the pipeline is Experiments.Demo.
import ArgumentParser
import Experiments
import Foundation
import Records

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole experiment on synthetic OCT and write an HTML report (about 10 minutes on 2 cores).",
        discussion: """
        Writes into --out: phantoms/ (MetaImage volumes), patches/ (patch sets), anogan/ (checkpoint, losses, \
        samples), acae/, scores/ (score runs of AnoGAN, the aCAE and the training patches) and report/report.html \
        with metrics.json. Rerunning with the same settings skips finished stages.
        """)

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String = "anogan-demo"

    @Option(help: "Random seed of phantoms, patches, training and mapping.")
    var seed: UInt64 = 1

    @Flag(help: "A much smaller run (about a minute): 32×32 patches, narrow models, few steps.")
    var quick = false

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        threadOptions.apply()
        var settings = quick ? DemoSettings.quick : DemoSettings.standard
        settings.seed = seed
        _ = try Demo.run(settings: settings, directory: URL(fileURLWithPath: out))
    }
}
