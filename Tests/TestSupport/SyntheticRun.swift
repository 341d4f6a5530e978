// A tiny synthetic score run directory (a ScoreRun) with its PatchSet:
// normal images are smooth gradients, anomalous ones carry a
// bright annotated square that the "reconstruction" leaves out. Shared by the
// Evaluation tests (loading runs) and the Report tests (drawing them).

import Foundation
import Records

public struct SyntheticRun {
    public let directory: URL
    public let patchDirectory: URL
    public let table: ScoreTable
    public let residuals: [Float]
    public let masks: [UInt8]

    /// - Parameters: n images (alternating normal / anomalous when `labelled`), side `size`;
    ///   `settings` and `reconstructionsFrom` are what summary.json says the run scored with.
    public static func make(in root: URL, name: String, count n: Int, size s: Int, seed: UInt64, labelled: Bool = true,
                     writeSummary: Bool = true, settings: ScoringSettings? = nil,
                     reconstructionsFrom: String = "feature-matching") throws -> SyntheticRun {
        var rng = SeededGenerator(seed: seed)
        let dir = root.appendingPathComponent(name), patchDir = root.appendingPathComponent(name + "-patches")
        let item = s * s
        var images = [Float](), recon = [Float](), masks = [UInt8](), labels = [Int]()
        for i in 0..<n {
            let anomalous = labelled && i % 2 == 1
            labels.append(labelled ? (anomalous ? 1 : 0) : -1)
            let x0 = rng.index(below: s / 2), y0 = rng.index(below: s / 2)
            for y in 0..<s {
                for x in 0..<s {
                    let base = Float(y) / Float(s) - 0.5 + rng.normal(std: 0.02)
                    let lesion = anomalous && x >= x0 && x < x0 + s / 4 && y >= y0 && y < y0 + s / 4
                    images.append(lesion ? 0.9 : base)
                    recon.append(base + rng.normal(std: 0.05))
                    masks.append(lesion ? 1 : 0)
                }
            }
        }
        let residuals = zip(images, recon).map { abs($0 - $1) }
        let ids = (0..<n).map { "\(name)/img\($0)" }
        let set = PatchSet(images: Tensor(shape: [n, 1, s, s], values: images), labels: labels,
                           masks: Tensor(shape: [n, 1, s, s], values: masks.map(Float.init)), ids: ids,
                           settings: ["maker": "SyntheticRun"], seed: seed)
        try set.save(to: patchDir)
        // Features: two clusters in 12-D by label, so the t-SNE has something to separate.
        var features = [Float]()
        for i in 0..<n { for d in 0..<12 { features.append(rng.normal() + (labels[i] == 1 && d < 3 ? 6 : 0)) } }
        var values = [[Double]]()
        for i in 0..<n {
            let r = Double(residuals[(i * item)..<((i + 1) * item)].reduce(0, +))
            let d = Double(rng.uniform()) + (labels[i] == 1 ? 0.5 : 0)
            let dHat = Double(rng.uniform())
            let pd = Double(rng.uniform()) * 0.5 + (labels[i] == 1 ? 0.1 : 0.4)
            values.append([r, d, 0.9 * r + 0.1 * d, r, dHat, 0.9 * r + 0.1 * dHat, pd])
        }
        let table = ScoreTable(columns: ["R", "D", "A", "R_hat", "D_hat", "A_hat", "P_D"],
                               ids: ids, labels: labels.map { $0 < 0 ? nil : $0 }, values: values)
        let summary = ScoreRun.Summary(checkpoint: "synthetic.safetensors", patches: patchDir.path,
                                       architecture: DCGANConfig(latentDimension: 4, imageSize: 16, width: 2),
                                       settings: settings ?? ScoringSettings(mapping: MappingSettings(steps: 5), variant: .both, seed: seed),
                                       scores: table, seconds: 1, mappings: 2, threads: 1, reconstructionsFrom: reconstructionsFrom)
        try ScoreRun(scores: table, summary: writeSummary ? summary : nil,
                     reconstructions: Tensor(shape: [n, 1, s, s], values: recon),
                     residuals: Tensor(shape: [n, 1, s, s], values: residuals),
                     features: Tensor(shape: [n, 12], values: features)).write(to: dir)
        return SyntheticRun(directory: dir, patchDirectory: patchDir, table: table, residuals: residuals, masks: masks)
    }

    /// Makes `directory` look like a run written before run ids (no files.json, no runID in
    /// summary.json), so that tests can tamper with single files and reach the checks of
    /// their contents rather than the run id check.
    public static func dropRunID(in directory: URL) throws {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(ScoreRun.Files.manifest))
        let url = directory.appendingPathComponent(ScoreRun.Files.summary)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        var summary = try JSONDecoder().decode(ScoreRun.Summary.self, from: Data(contentsOf: url))
        summary.runID = nil
        try summary.json().write(to: url)
    }
}
