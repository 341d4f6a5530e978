// The score run directory of contracts §7, written by `anogan score --out DIR`
// and read by evaluate and report: scores.csv, summary.json, the
// reconstructions, residuals and query features as .npy, an optional trace of
// the mapping loss and query | G(z_Γ) | residual triplets. Every file atomic.

import Foundation
import Imaging
import NeuralNet
import Records

public enum ScoreRunWriter {
    public static let format = "anogan-scores"
    public static let version = 1

    /// What summary.json holds besides the settings.
    public struct Summary: Codable {
        public var format = ScoreRunWriter.format
        public var version = ScoreRunWriter.version
        public var checkpoint: String
        public var patches: String
        public var architecture: DCGANConfig
        public var settings: ScoringSettings
        public var seed: UInt64
        public var count: Int
        public var normal: Int
        public var anomalous: Int
        public var unlabeled: Int
        public var columns: [String]
        /// Mean of each score column over all images.
        public var means: [String: Double]
        public var seconds: Double
        /// Query images per second of wall-clock time (all variants together).
        public var imagesPerSecond: Double
        /// Image mappings (images × variants run) per second.
        public var mappingsPerSecond: Double
        public var threads: Int
        /// Which mapping the reconstructions and residuals come from.
        public var reconstructionsFrom: String
    }

    /// Writes the run into `directory`. `triplets` is how many triplet PNGs to write
    /// (the first images); `trace` adds trace.csv.
    public static func write(_ result: DetectionResult, input: ImageInput, checkpoint: URL, config: DCGANConfig,
                             settings: ScoringSettings, triplets: Int, trace: Bool, threads: Int,
                             to directory: URL) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw FileError(directory, "cannot create directory: \(error.localizedDescription)")
        }
        let table = result.scoreTable()
        try table.write(to: directory.appendingPathComponent("scores.csv"))

        let residuals = result.residuals(of: input.images)
        try NPY.write(result.reconstructions, to: directory.appendingPathComponent("reconstructions.npy"))
        try NPY.write(residuals, to: directory.appendingPathComponent("residuals.npy"))
        try NPY.write(result.queryFeatures, to: directory.appendingPathComponent("features.npy"))

        if trace, let steps = result.lossTraces.first?.values.count {
            var lines = ["step" + result.lossTraces.map { "," + $0.name }.joined()]
            for s in 0..<steps {
                lines.append("\(s + 1)" + result.lossTraces.map { ",\($0.values[s])" }.joined())
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).writeAtomically(to: directory.appendingPathComponent("trace.csv"))
        }

        let size = config.imageSize
        let scale = max(1, 128 / size)
        for i in 0..<min(triplets, input.count) {
            let picture = Pictures.triplet(query: input.images, reconstruction: result.reconstructions, index: i, scale: scale)
            try PNG.write(width: picture.width, height: picture.height, channels: picture.channels, pixels8: picture.pixels,
                          to: directory.appendingPathComponent("triplets").appendingPathComponent(String(format: "%04d.png", i)))
        }

        var means: [String: Double] = [:]
        for name in table.columns {
            if let column = table.column(name) { means[name] = column.reduce(0, +) / Double(max(column.count, 1)) }
        }
        let labels = input.labels
        let summary = Summary(checkpoint: checkpoint.path, patches: input.source.path, architecture: config,
                              settings: settings, seed: settings.seed, count: input.count,
                              normal: labels.filter { $0 == 0 }.count, anomalous: labels.filter { $0 == 1 }.count,
                              unlabeled: labels.filter { $0 == nil }.count, columns: table.columns, means: means,
                              seconds: result.seconds, imagesPerSecond: Double(input.count) / max(result.seconds, 1e-9),
                              mappingsPerSecond: Double(input.count * settings.variant.losses.count) / max(result.seconds, 1e-9),
                              threads: threads, reconstructionsFrom: result.reconstructionsFrom)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(summary).writeAtomically(to: directory.appendingPathComponent("summary.json"))
    }
}
