// The evaluation stage as one pure function: score tables in, a typed
// `EvaluationResult` out (every ROC, AUC with bootstrap CI, Youden operating
// point, Table 1, score distributions). `anogan evaluate` writes it as
// metrics.json; `anogan report` draws it; benchmarks call it from code.

import Foundation
import Records

/// A score table with the name of the run it came from ("anogan", "acae", …).
public struct NamedScoreTable: Sendable {
    public var name: String
    public var table: ScoreTable
    public init(name: String, table: ScoreTable) { self.name = name; self.table = table }
}

/// One curve of the paper: a display label and the (run, column) it reads.
public struct ScoreReference: Codable, Equatable, Sendable {
    public var label: String
    public var run: String
    public var column: String
    public init(label: String, run: String, column: String) { self.label = label; self.run = run; self.column = column }

    /// The run name a bare `--run DIR` gets: the AnoGAN score run.
    public static let mainRun = "anogan"
    /// The run name of the adversarial convolutional autoencoder's score table.
    public static let acaeRun = "acae"
    /// The run name of AnoGAN's mapping started from the izi_f encoder, z₁ = E(x) (f-AnoGAN).
    public static let encoderStartRun = "anogan-encoder"
    /// The run name of the encoder score alone: G(E(x)) in one pass, no mapping steps (Γ = 0).
    public static let encoderOnlyRun = "izif"

    /// The name a run given without one gets, from what its summary says it scored, so that its
    /// rows carry its model's label: the aCAE's one pass → acae; z₁ = E(x) with Γ = 0 → izif,
    /// with mapping steps → anogan-encoder; the prior start, or a run without a summary → anogan.
    public static func runName(of summary: ScoreRun.Summary?) -> String {
        guard let summary else { return mainRun }
        if summary.reconstructionsFrom == ScoreRun.Summary.encoderPass { return acaeRun }
        guard summary.settings.start == .encoder else { return mainRun }
        return summary.settings.mapping.steps == 0 ? encoderOnlyRun : encoderStartRun
    }

    /// Fig. 4(a) and Table 1: aCAE (A of the aCAE run), P_D, GAN_R (Â), AnoGAN (A), and, when
    /// those runs exist, AnoGAN started from the encoder and the encoder score alone. Rows whose
    /// run is absent are left out.
    public static let modelComparison = [
        ScoreReference(label: "aCAE", run: acaeRun, column: "A"),
        ScoreReference(label: "P_D", run: mainRun, column: "P_D"),
        ScoreReference(label: "GAN_R", run: mainRun, column: "A_hat"),
        ScoreReference(label: "AnoGAN", run: mainRun, column: "A"),
        ScoreReference(label: "AnoGAN (E start)", run: encoderStartRun, column: "A"),
        ScoreReference(label: "izi_f (E only)", run: encoderOnlyRun, column: "A"),
    ]
    /// Fig. 4(b): the components R(x), D(x) and the reference D̂(x).
    public static let scoreComponents = [
        ScoreReference(label: "R(x)", run: mainRun, column: "R"),
        ScoreReference(label: "D(x)", run: mainRun, column: "D"),
        ScoreReference(label: "D̂(x)", run: mainRun, column: "D_hat"),
    ]
}

public struct EvaluationSettings: Codable, Equatable, Sendable {
    /// Bootstrap resamples per AUC.
    public var bootstrapReplicates: Int = 1000
    /// Coverage of the AUC confidence interval.
    public var confidenceLevel: Double = 0.95
    /// Seeds every bootstrap; every score uses the same seed, so scores of one
    /// table are resampled identically (paired comparison).
    public var seed: UInt64 = 0
    /// σ in pixels of the Gaussian that turns residuals into anomaly maps for the pixel-level
    /// AUROC (AnomalyMap.smoothed); 0 scores the raw residual |x − x̂|.
    public var anomalyMapSigma: Double = 4
    public init() {}

    /// Bounds of every field (Records' Limits); the error names `prefix.field`.
    public func validate(_ prefix: String = "evaluation") throws {
        try Limits.check("\(prefix).bootstrapReplicates", bootstrapReplicates, in: 1...Limits.bootstrapReplicates)
        guard confidenceLevel > 0, confidenceLevel < 1 else { throw SettingsError("\(prefix).confidenceLevel must lie in (0, 1), got \(confidenceLevel)") }
    }
}

/// Image-level evaluation of one score column of one run.
public struct ScoreEvaluation: Codable, Equatable, Sendable {
    public var run: String
    public var column: String
    public var orientation: Orientation
    public var positives: Int
    public var negatives: Int
    public var auc: Double
    public var confidenceInterval: ConfidenceInterval
    /// Operating point at Youden's index.
    public var youden: OperatingPoint
    public var roc: ROCCurve
    /// Labelled rows left out because this score is NaN (absent) for them.
    public var excludedIDs: [String]
}

/// A Table 1 row: a model's statistics at its Youden cut-off.
public struct ModelRow: Codable, Equatable, Sendable {
    public var model: String
    public var run: String
    public var column: String
    public var youden: OperatingPoint
    public var auc: Double
    public var confidenceInterval: ConfidenceInterval
}

/// Summary of one score over one group of images (Fig. 4 c, d in numbers).
public struct ScoreDistribution: Codable, Equatable, Sendable {
    public enum Group: String, Codable, Sendable, CaseIterable {
        case trainingNormal = "training, normal"
        case testNormal = "test, normal"
        case testAnomalous = "test, anomalous"
    }
    public var column: String
    public var group: Group
    public var count: Int
    public var mean: Double
    public var standardDeviation: Double
    public var minimum: Double
    public var median: Double
    public var maximum: Double
}

public struct EvaluationResult: Codable, Equatable, Sendable {
    public var settings: EvaluationSettings
    /// Every (run, column) with both classes present, in run then column order.
    public var scores: [ScoreEvaluation]
    /// Table 1: `ScoreReference.modelComparison` rows that are available.
    public var table1: [ModelRow]
    /// R and D of the main run, by group (training group only when training scores were given).
    public var distributions: [ScoreDistribution]
    /// Pixel-level AUROC of the main run's anomaly maps (residuals smoothed with
    /// `settings.anomalyMapSigma`) against masks, when computed.
    public var pixelAUROC: Double?
    /// The same for every run with residuals and masks, by run name; and of the raw residuals.
    public var pixelAUROCByRun: [String: Double] = [:]
    public var rawPixelAUROCByRun: [String: Double] = [:]
    /// Human-readable notes: columns not computed, rows excluded, runs without labels.
    public var notes: [String]

    public func score(run: String, column: String) -> ScoreEvaluation? {
        scores.first { $0.run == run && $0.column == column }
    }
}

/// Evaluates every labelled score column of every run.
/// - Parameters:
///   - runs: test-set score tables; names must be unique. The AnoGAN run is named
///     `ScoreReference.mainRun`, the aCAE run `ScoreReference.acaeRun`.
///   - training: scores of normal training images (optional; distributions only).
/// Throws when no column of any run can be evaluated (no labels, one class only).
public func evaluate(runs: [NamedScoreTable], training: ScoreTable? = nil,
                     settings: EvaluationSettings = EvaluationSettings()) throws -> EvaluationResult {
    guard !runs.isEmpty else { throw EvaluationError("no score runs to evaluate") }
    let names = runs.map(\.name)
    if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
        throw EvaluationError("run name \(dup) is used twice")
    }
    var scores = [ScoreEvaluation](), notes = [String]()
    for run in runs {
        let known = run.table.labels.compactMap { $0 }
        if known.isEmpty { notes.append("run \(run.name): no labels; not evaluated"); continue }
        for column in run.table.columns {
            guard let (s, l, excluded) = run.table.labelledScores(column) else {
                notes.append("run \(run.name): column \(column) not computed (all values absent)")
                continue
            }
            if !excluded.isEmpty {
                notes.append("run \(run.name): column \(column): \(excluded.count) labelled row(s) without a value left out (first: \(excluded[0]))")
            }
            guard l.contains(true), l.contains(false) else {
                notes.append("run \(run.name): column \(column): only one class among labelled rows; not evaluated")
                continue
            }
            let orientation = Orientation.forColumn(column)
            let roc = try ROCCurve(scores: s, labels: l, orientation: orientation)
            let ci = try AUC.bootstrap(scores: s, labels: l, orientation: orientation,
                                       replicates: settings.bootstrapReplicates,
                                       level: settings.confidenceLevel, seed: settings.seed)
            scores.append(ScoreEvaluation(run: run.name, column: column, orientation: orientation,
                                          positives: roc.positives, negatives: roc.negatives, auc: roc.auc,
                                          confidenceInterval: ci, youden: roc.youden, roc: roc, excludedIDs: excluded))
        }
    }
    guard !scores.isEmpty else {
        throw EvaluationError("nothing to evaluate: no run has a score column with both normal and anomalous labelled images")
    }
    let table1 = ScoreReference.modelComparison.compactMap { ref -> ModelRow? in
        guard let e = scores.first(where: { $0.run == ref.run && $0.column == ref.column }) else { return nil }
        return ModelRow(model: ref.label, run: ref.run, column: ref.column, youden: e.youden,
                        auc: e.auc, confidenceInterval: e.confidenceInterval)
    }
    var distributions = [ScoreDistribution]()
    if let main = runs.first(where: { $0.name == ScoreReference.mainRun }) ?? runs.first {
        for column in ["R", "D"] {
            for group in ScoreDistribution.Group.allCases {
                let values = groupValues(column: column, group: group, test: main.table, training: training)
                if let d = ScoreDistribution(column: column, group: group, values: values) { distributions.append(d) }
            }
        }
    }
    return EvaluationResult(settings: settings, scores: scores, table1: table1, distributions: distributions,
                            pixelAUROC: nil, notes: notes)
}

/// The finite values of a column for one group of images: training rows (any
/// label but 1), or test rows labelled 0 / 1.
public func groupValues(column: String, group: ScoreDistribution.Group, test: ScoreTable, training: ScoreTable?) -> [Double] {
    let table: ScoreTable
    let keep: (Int?) -> Bool
    switch group {
    case .trainingNormal:
        guard let t = training else { return [] }
        table = t; keep = { $0 != 1 }
    case .testNormal: table = test; keep = { $0 == 0 }
    case .testAnomalous: table = test; keep = { $0 == 1 }
    }
    guard let values = table.column(column) else { return [] }
    return zip(values, table.labels).compactMap { v, l in keep(l) && v.isFinite ? v : nil }
}

extension ScoreDistribution {
    /// nil for an empty group.
    public init?(column: String, group: Group, values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count - 1, 1))
        self.init(column: column, group: group, count: values.count, mean: mean,
                  standardDeviation: variance.squareRoot(), minimum: sorted[0],
                  median: quantile(sorted: sorted, 0.5), maximum: sorted[sorted.count - 1])
    }
}

extension EvaluationResult {
    /// metrics.json: pretty, sorted keys; the infinite first ROC threshold is written as "Infinity".
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(self)
    }

    public static func decode(json data: Data) throws -> EvaluationResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(EvaluationResult.self, from: data)
    }

    /// ROC points of every score as CSV: run,column,threshold,fpr,tpr.
    public func rocCSV() -> String {
        var out = "run,column,threshold,false_positive_rate,true_positive_rate\n"
        for s in scores {
            for p in s.roc.points {
                out += "\(s.run),\(s.column),\(p.threshold),\(p.falsePositiveRate),\(p.truePositiveRate)\n"
            }
        }
        return out
    }
}
