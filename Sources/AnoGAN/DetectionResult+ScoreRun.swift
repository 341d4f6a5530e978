// A detection result as a score run (Records' ScoreRun: scores.csv, summary.json,
// reconstructions, residuals, features, z₁, z_Γ, trace), plus the query | x̂ |
// residual triplet pictures that only this module draws. Every detector's score
// stage makes the one call `result.write(input:checkpoint:config:settings:…, to:)`.

import Foundation
import Imaging
import NeuralNet
import Records

extension DetectionResult {
    /// The run record of this result; `trace` adds the mean loss per step of each latent search.
    /// `encoderCheckpoint` names the encoder behind z₁ = E(x) (with `settings.start` `.encoder`);
    /// `shard` is recorded in the summary of a shard run.
    public func scoreRun(input: ImageInput, checkpoint: URL, encoderCheckpoint: URL? = nil, config: DCGANConfig,
                         settings: ScoringSettings, trace: Bool, threads: Int, shard: Shard.Record? = nil) -> ScoreRun {
        let table = scoreTable()
        var summary = ScoreRun.Summary(checkpoint: checkpoint.path, patches: input.source.path, architecture: config,
                                       settings: settings, scores: table, seconds: seconds,
                                       mappings: settings.variant.losses.count, threads: threads,
                                       reconstructionsFrom: reconstructionsFrom, encoderCheckpoint: encoderCheckpoint?.path)
        summary.shard = shard
        func traced(_ name: String) -> [Double]? { lossTraces.first { $0.name == name }?.values }
        let searched = !lossTraces.isEmpty
        return ScoreRun(scores: table, summary: summary, reconstructions: reconstructions,
                        residuals: residuals(of: input.images), features: queryFeatures,
                        initialLatents: initialLatents, latents: latents,
                        trace: trace && searched ? ScoreRun.Trace(featureMatching: traced(MappingVariant.featureMatching.rawValue),
                                                                  reference: traced(MappingVariant.reference.rawValue)) : nil)
    }

    /// Writes the run as the directory `directory` (replacing an earlier score run there as a
    /// whole, `ScoreRun.write`) with the first `triplets` query | x̂ | residual pictures in its
    /// `triplets` folder. Returns the run id.
    @discardableResult
    public func write(input: ImageInput, checkpoint: URL, encoderCheckpoint: URL? = nil, config: DCGANConfig, settings: ScoringSettings,
                      triplets: Int, trace: Bool, threads: Int, shard: Shard.Record? = nil, to directory: URL) throws -> String {
        let run = scoreRun(input: input, checkpoint: checkpoint, encoderCheckpoint: encoderCheckpoint, config: config,
                           settings: settings, trace: trace, threads: threads, shard: shard)
        let scale = max(1, 128 / config.imageSize)
        return try run.write(to: directory) { temp in
            let folder = temp.appendingPathComponent(ScoreRun.Files.triplets)
            for i in 0..<min(triplets, input.count) {
                let picture = Pictures.triplet(query: input.images, reconstruction: reconstructions, index: i, scale: scale)
                try PNG.write(width: picture.width, height: picture.height, channels: picture.channels, pixels8: picture.pixels,
                              to: folder.appendingPathComponent(String(format: "%04d.png", i)))
            }
        }
    }
}
