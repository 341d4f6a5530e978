// `anogan merge`: joins the shard runs of `anogan score --shard i/n` or of
// `anogan scan --shard i/n` (e.g. the tasks of a Slurm job array) into the run
// of the whole data set. Parses the run folders and calls Workflows.mergeRuns.
import ArgumentParser
import Foundation
import Records
import Workflows

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard runs of `anogan score --shard i/n` or `anogan scan --shard i/n` into the run of the whole data set.",
        discussion: """
        Give every shard run of one split (1/n … n/n, in any order), all of score or all of scan. The merged score run \
        equals one unsharded `anogan score` of the whole data set: scores.csv, the .npy arrays and the triplet pictures \
        file for file (trace.csv up to rounding); summary.json lists the shard runs in mergedFrom. The merged scan equals \
        one unsharded `anogan scan` of all volumes file for file (scores.csv, markers.csv ranked over all volumes, \
        marker_features.npy, evaluation.json with the pooled pixel AUROC and Dice, scan.html and scan.json, each volume's maps, \
        pictures, patches and runs), but for the score runs' own ids and seconds. Refused, naming the run: a folder that \
        is not a shard run, score and scan shards together, shards of different data sets, volume lists or splits, \
        a shard given twice, a missing shard, shards made with different settings.
        """)

    @Argument(help: ArgumentHelp("The shard run directories (written by `anogan score --shard i/n` or `anogan scan --shard i/n`).", valueName: "run"))
    var runs: [String]

    @Option(help: "Output directory of the merged run.")
    var out: String

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give the shard run directories to merge") }
    }

    func run() throws {
        try mergeRuns(runs.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out), log: { print($0) })
    }
}
