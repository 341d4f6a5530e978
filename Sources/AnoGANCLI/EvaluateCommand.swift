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
        "A score run directory, optionally named: DIR (the AnoGAN run, named anogan) or NAME=DIR (use acae=DIR for the aCAE run). Repeatable.",
        valueName: "[name=]dir"))
    var runs: [String] = []

    @Option(name: .customLong("train-scores"), help: ArgumentHelp("Score run of normal training images (Fig. 4 c, d; Fig. 3 first block).", valueName: "dir"))
    var trainScores: String?

    @Option(name: .customLong("patches"), help: ArgumentHelp(
        "The patch set a run scored, when summary.json does not name it: DIR (for the anogan run) or NAME=DIR. Repeatable.",
        valueName: "[name=]dir"))
    var patches: [String] = []

    @Option(help: "Seed of the bootstrap resamples (default \(EvaluationSettings().seed)).")
    var seed: UInt64?

    @Option(help: "Bootstrap resamples per AUC confidence interval (default \(EvaluationSettings().bootstrapReplicates)).")
    var bootstrap: Int?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one --run DIR") }
        if let bootstrap, !(1...Limits.bootstrapReplicates).contains(bootstrap) {
            throw ValidationError("--bootstrap must be in 1…\(Limits.bootstrapReplicates), got \(bootstrap)")
        }
        let names = try runs.map { try Self.split($0).name }
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw ValidationError("--run name \(dup) is used twice")
        }
        for p in patches where !names.contains(try Self.split(p).name) {
            throw ValidationError("--patches \(p) names no --run")
        }
    }

    static func split(_ spec: String) throws -> (name: String, path: String) {
        guard let eq = spec.firstIndex(of: "=") else { return (ScoreReference.mainRun, spec) }
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
        let loaded = try runs.map { spec -> NamedScoreRun in
            let (name, path) = try Self.split(spec)
            return try NamedScoreRun.load(name: name, directory: URL(fileURLWithPath: path), patches: overrides[name], parts: parts)
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
