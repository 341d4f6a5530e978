// `anogan merge`: joins the shard runs of `anogan score --shard i/n` (e.g. the
// tasks of a Slurm job array) into the run of the whole data set.
// Parses the run folders and calls Workflows.mergeShardRuns.
import ArgumentParser
import Foundation
import Records
import Workflows

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard runs of `anogan score --shard i/n` into the run of the whole data set.",
        discussion: """
        Give every shard run of one split (1/n … n/n, in any order). The merged run equals one unsharded \
        `anogan score` of the whole data set: scores.csv, the .npy arrays and the triplet pictures file for file \
        (trace.csv up to rounding); summary.json lists the shard runs in mergedFrom. Refused, naming the run: \
        a folder that is not a shard run, shards of different data sets or splits, a shard given twice, \
        a missing shard, shards scored with different settings.
        """)

    @Argument(help: ArgumentHelp("The shard run directories (written by `anogan score --shard i/n`).", valueName: "run"))
    var runs: [String]

    @Option(help: "Output directory of the merged run.")
    var out: String

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give the shard run directories to merge") }
    }

    func run() throws {
        try mergeShardRuns(runs.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out), log: { print($0) })
    }
}
