// `anogan evaluate` and the run flags it shares with `anogan report`: read
// score run directories, compute every metric, write metrics.json and roc.csv.

import ArgumentParser
import Foundation
import Records
import Evaluation
import Report

/// Flags naming the score runs to evaluate (shared by evaluate and report).
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("run"), help: ArgumentHelp(
        "A score run directory, optionally named: NAME=DIR, or DIR, named by what its summary.json says it scored "
        + "(acae for the aCAE, izif for the encoder score alone, anogan-encoder for a mapping from E(x), else anogan). Repeatable.",
        valueName: "[name=]dir"))
    var runs: [String] = []

    @Option(name: .customLong("train-scores"), help: ArgumentHelp("Score run of normal training images (Fig. 4 c, d; Fig. 3 first block).", valueName: "dir"))
    var trainScores: String?

    @Option(name: .customLong("patches"), help: ArgumentHelp(
        "The patch set a run scored, when summary.json does not name it: NAME=DIR, or DIR for the one run given without a name. Repeatable.",
        valueName: "[name=]dir"))
    var patches: [String] = []

    @Option(help: "Seed of the bootstrap resamples (default \(EvaluationSettings().seed)).")
    var seed: UInt64?

    @Option(help: "Bootstrap resamples per AUC confidence interval (default \(EvaluationSettings().bootstrapReplicates)).")
    var bootstrap: Int?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one --run DIR (a score run; a scan keeps its tiles' runs in SCAN/runs/<volume>)") }
        if let bootstrap, !(1...Limits.bootstrapReplicates).contains(bootstrap) {
            throw ValidationError("--bootstrap must be in 1…\(Limits.bootstrapReplicates), got \(bootstrap)")
        }
        func firstRepeated(_ names: [String]) -> String? { names.first { n in names.filter { $0 == n }.count > 1 } }
        let specs = try runs.map(Self.split)
        let names = specs.compactMap(\.name), unnamed = specs.filter { $0.name == nil }.count
        if let dup = firstRepeated(names) { throw ValidationError("--run name \(dup) is used twice") }
        if let dup = firstRepeated(try patches.map { try Self.split($0).name ?? "" }) {
            throw ValidationError(dup.isEmpty ? "--patches without a name is given twice" : "--patches name \(dup) is used twice")
        }
        for p in patches {
            if let name = try Self.split(p).name {
                guard names.contains(name) else { throw ValidationError("--patches \(p) names no --run") }
            } else if unnamed != 1 {
                throw ValidationError("--patches \(p) has no name, so it needs exactly one --run without a name (\(unnamed) given): use NAME=DIR")
            }
        }
    }

    /// NAME=DIR, or DIR alone (name nil: `load` names the run by its summary).
    static func split(_ spec: String) throws -> (name: String?, path: String) {
        guard let eq = spec.firstIndex(of: "=") else { return (nil, spec) }
        let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
        guard !name.isEmpty, !path.isEmpty else { throw ValidationError("expected NAME=DIR, got \(spec)") }
        return (name, path)
    }

    /// `base` (defaults or a settings file) with the flags given laid over it.
    func evaluationSettings(over base: EvaluationSettings) -> EvaluationSettings {
        var s = base
        if let seed { s.seed = seed }
        if let bootstrap { s.bootstrapReplicates = bootstrap }
        return s
    }

    /// `trainingParts`: metrics need only the training run's scores.
    func load(_ parts: ScoreRun.Parts, trainingParts: ScoreRun.Parts) throws -> (runs: [NamedScoreRun], training: NamedScoreRun?) {
        let overrides = Dictionary(uniqueKeysWithValues: try patches.map { try Self.split($0) }.map { ($0.name, URL(fileURLWithPath: $0.path)) })
        var pathOfName: [String: String] = [:]
        let loaded = try runs.map { spec -> NamedScoreRun in
            let (given, path) = try Self.split(spec)
            let run = try NamedScoreRun.load(name: given, directory: URL(fileURLWithPath: path), patches: overrides[given], parts: parts)
            if let other = pathOfName[run.name] {
                throw SettingsError("--run \(other) and --run \(path) are both run \(run.name): tell them apart with NAME=DIR")
            }
            pathOfName[run.name] = path
            return run
        }
        let training = try trainScores.map { try NamedScoreRun.load(name: "training", directory: URL(fileURLWithPath: $0), parts: trainingParts) }
        return (loaded, training)
    }
}

/// Prints the notes an evaluation collected (excluded rows, missing files) to stderr.
func printNotes(_ notes: [String]) {
    for n in notes { FileHandle.standardError.write(Data("note: \(n)\n".utf8)) }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "ROC, AUC with bootstrap CI, Youden operating points and pixel AUROC of score runs → metrics.json, roc.csv.",
        discussion: """
        --config FILE (JSON or YAML) holds any of {evaluation: {bootstrapReplicates, confidenceLevel, seed}}; flags override it.
        """)

    /// The settings file of `anogan evaluate`.
    struct Config: Codable { var evaluation = EvaluationSettings() }

    @OptionGroup var options: RunOptions
    @OptionGroup var configFile: ConfigOption

    @Option(help: ArgumentHelp("Output directory for metrics.json and roc.csv.", valueName: "dir"))
    var out: String

    func run() throws {
        let (runs, training) = try options.load(.evaluation, trainingParts: [])
        let settings = options.evaluationSettings(over: try configFile.load(Config()).value.evaluation)
        try translatingSettingNames(["evaluation.bootstrapReplicates": "--bootstrap"], config: configFile) { try settings.validate() }
        try RunDirectory.create(URL(fileURLWithPath: out))
        let result = try Analysis.evaluate(runs: runs, training: training, settings: settings)
        try Analysis.write(result, to: URL(fileURLWithPath: out))
        printNotes(result.notes)
        for row in result.table1 {
            print("\(row.model) (\(row.run).\(row.column)): AUC \(String(format: "%.4f", row.auc)) [\(String(format: "%.4f", row.confidenceInterval.lower)), \(String(format: "%.4f", row.confidenceInterval.upper))]")
        }
        for (run, p) in result.pixelAUROCByRun.sorted(by: { $0.key < $1.key }) {
            print("pixel AUROC of run \(run): \(String(format: "%.4f", p)) (raw residual \(String(format: "%.4f", result.rawPixelAUROCByRun[run] ?? .nan)))")
        }
        print("wrote \(out)/metrics.json and \(out)/roc.csv")
    }
}
