// A scoring result as a score run (Records' ScoreRun: scores.csv, summary.json,
// reconstructions, residuals, features, z₁, z_Γ, trace), plus the query |
// G(z_Γ) | residual triplet pictures that only this module draws. The score
// stage's one call is `result.write(input:checkpoint:config:settings:…, to:)`.

import Foundation
import Imaging
import NeuralNet
import Records

extension ScoringResult {
    /// The run record of this result: reconstructions, residuals and z_Γ of the
    /// primary mapping (feature matching when run), z₁ (the same for both variants);
    /// `trace` adds the mean loss per step.
    public func scoreRun(input: ImageInput, checkpoint: URL, config: DCGANConfig, settings: ScoringSettings,
                         trace: Bool, threads: Int) -> ScoreRun {
        let table = scoreTable()
        let primary = self.primary
        let summary = ScoreRun.Summary(checkpoint: checkpoint.path, patches: input.source.path, architecture: config,
                                       settings: settings, scores: table, seconds: seconds,
                                       mappings: settings.variant.losses.count, threads: threads,
                                       reconstructionsFrom: feature != nil ? MappingVariant.feature.rawValue : MappingVariant.reference.rawValue)
        // An encoder-based result (aCAE) has no latent search and no trace.
        let searched = !primary.meanLossTrace.isEmpty
        return ScoreRun(scores: table, summary: summary, reconstructions: primary.reconstructions,
                        residuals: primary.residuals(of: input.images), features: queryFeatures,
                        initialLatents: searched ? primary.initialZ : nil, latents: primary.z,
                        trace: trace && searched ? ScoreRun.Trace(feature: feature?.meanLossTrace, reference: reference?.meanLossTrace) : nil)
    }

    /// Writes the run into `directory` and the first `triplets` query | G(z_Γ) |
    /// residual pictures into its `triplets` folder. Every file atomic.
    public func write(input: ImageInput, checkpoint: URL, config: DCGANConfig, settings: ScoringSettings,
                      triplets: Int, trace: Bool, threads: Int, to directory: URL) throws {
        let run = scoreRun(input: input, checkpoint: checkpoint, config: config, settings: settings, trace: trace, threads: threads)
        let scale = max(1, 128 / config.imageSize)
        let folder = directory.appendingPathComponent(ScoreRun.Files.triplets)
        for i in 0..<min(triplets, input.count) {
            let picture = Pictures.triplet(query: input.images, reconstruction: primary.reconstructions, index: i, scale: scale)
            try PNG.write(width: picture.width, height: picture.height, channels: picture.channels, pixels8: picture.pixels,
                          to: folder.appendingPathComponent(String(format: "%04d.png", i)))
        }
        try run.write(to: directory)
    }
}
