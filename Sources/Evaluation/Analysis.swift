// The evaluate stage over loaded score runs (NamedScoreRun): image-level
// metrics of every run (`evaluate(runs:training:settings:)`) plus the
// pixel-level AUROC of every run's anomaly maps (smoothed residuals), and the files
// `anogan evaluate` writes.

import Foundation
import Records

public enum Analysis {
    /// The AnoGAN run: the one named `ScoreReference.mainRun`, else the first.
    public static func mainRun(_ runs: [NamedScoreRun]) -> NamedScoreRun? {
        runs.first { $0.name == ScoreReference.mainRun } ?? runs.first
    }

    /// Image-level metrics of every run, pixel AUROC of the main run when it has
    /// residual maps and the patch set has masks, and every loading note.
    public static func evaluate(runs: [NamedScoreRun], training: NamedScoreRun?, settings: EvaluationSettings) throws -> EvaluationResult {
        try settings.validate()
        var result: EvaluationResult
        do {
            result = try Evaluation.evaluate(runs: runs.map { NamedScoreTable(name: $0.name, table: $0.scores) },
                                             training: training?.scores, settings: settings)
        } catch let error as EvaluationError {
            // Name the files the problem is in.
            let files = runs.map { $0.directory.appendingPathComponent(ScoreRun.Files.scores).path }.joined(separator: ", ")
            throw EvaluationError("\(files): \(error.message)")
        }
        result.notes = runs.flatMap(\.notes) + (training?.notes ?? []) + result.notes
        for run in runs {
            guard let residuals = run.residuals, let masks = run.patches?.masks else {
                if run.name == mainRun(runs)?.name {
                    result.notes.append("run \(run.name): pixel AUROC not computed (needs residuals.npy and masks in the patch set)")
                }
                continue
            }
            // Undefined pixel metrics (all-zero masks, every pixel annotated) leave the image-level ones standing.
            do {
                let maps = AnomalyMap.smoothed(residuals, sigma: settings.anomalyMapSigma)
                result.pixelAUROCByRun[run.name] = try pixelAUROC(residuals: maps, masks: masks, labels: run.scores.labels)
                result.rawPixelAUROCByRun[run.name] = settings.anomalyMapSigma == 0 ? result.pixelAUROCByRun[run.name]
                    : try pixelAUROC(residuals: residuals, masks: masks, labels: run.scores.labels)
            } catch let error as EvaluationError {
                result.notes.append("run \(run.name): pixel AUROC undefined (\(error.message)); image-level metrics only")
            }
        }
        if let main = mainRun(runs) { result.pixelAUROC = result.pixelAUROCByRun[main.name] }
        return result
    }

    /// AUROC over every pixel of every labelled image (normal images' masks are empty).
    public static func pixelAUROC(residuals: Tensor, masks: Tensor, labels: [Int?]) throws -> Double {
        let item = residuals.itemCount
        var auroc = PixelAUROC(expectedPixels: labels.count * item)
        for i in labels.indices where labels[i] != nil {
            try auroc.add(residual: UnsafeBufferPointer(start: residuals.data + i * item, count: item),
                          mask: UnsafeBufferPointer(start: masks.data + i * item, count: item))
        }
        return try auroc.auroc()
    }

    /// Writes metrics.json and roc.csv (run, column, threshold, FPR, TPR) into `directory`.
    public static func write(_ result: EvaluationResult, to directory: URL) throws {
        try result.json().writeAtomically(to: directory.appendingPathComponent("metrics.json"))
        try Data(result.rocCSV().utf8).writeAtomically(to: directory.appendingPathComponent("roc.csv"))
    }
}
