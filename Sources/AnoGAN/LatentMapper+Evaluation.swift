// The mapping losses at a given z without any step (Γ = 0): the encoder-only
// score of f-AnoGAN, where z = E(x) comes from one forward pass. The same
// definitions as the mapping's (R = Σ|x − G(z)|, D = Σ|f(x) − f(G(z))| or
// σ(D(G(z)), 1)), computed with G and D themselves in inference mode.

import NeuralNet
import Records

extension LatentMapper {
    /// R, D (and through `anomalyScores(lambda:)` A) of every query at its row of `z` (N×latent),
    /// one forward pass of G and D per batch of `settings.batchSize`, no update: the mapping's
    /// result for Γ = 0. `initialZ` and `z` of the result are `z`; `meanLossTrace` is empty.
    /// `onProgress` gets each batch when it is done (step 0 of 0, its mean total loss).
    public func evaluate(_ queries: Tensor, at z: Tensor, loss: DiscriminationLoss,
                         onProgress: (MappingProgress) -> Void = { _ in }) throws -> MappingResult {
        try check(queries: queries)
        let n = queries.shape[0], latent = config.latentDimension
        guard z.shape == [n, latent] else {
            throw MappingError.invalidSettings("z has shape \(z.shape), expected [\(n), \(latent)]")
        }
        let reconstructions = Tensor(shape: queries.shape)
        var residual = [Double](repeating: 0, count: n), discrimination = residual
        var start = 0
        while start < n {
            let range = start..<min(n, start + settings.batchSize)
            let x = queries.items(range)
            let image = generator.forward(z.items(range), training: false)
            reconstructions.setItems(from: image, at: start)
            let pixels = x.itemCount
            for k in 0..<range.count {
                var r = 0.0
                for j in (k * pixels)..<((k + 1) * pixels) { r += Double(abs(x.data[j] - image.data[j])) }
                residual[start + k] = r
            }
            switch loss {
            case .featureMatching:
                let fx = discriminator.forward(x, training: false).features
                let fg = discriminator.forward(image, training: false).features
                let f = fx.itemCount
                for k in 0..<range.count {
                    var d = 0.0
                    for j in (k * f)..<((k + 1) * f) { d += Double(abs(fx.data[j] - fg.data[j])) }
                    discrimination[start + k] = d
                }
            case .reference:
                let logits = discriminator.forward(image, training: false).logits
                for k in 0..<range.count {
                    // BCE(σ(l), 1) = softplus(−l).
                    discrimination[start + k] = Double(Loss.binaryCrossEntropyWithLogits(logits.data + k, count: 1, target: 1))
                }
            }
            var total = 0.0
            for k in range { total += (1 - Double(settings.lambda)) * residual[k] + Double(settings.lambda) * discrimination[k] }
            onProgress(MappingProgress(imagesDone: start, batchCount: range.count, step: 0, steps: 0, meanLoss: total / Double(range.count)))
            start = range.upperBound
        }
        return MappingResult(loss: loss, initialZ: z.copy(), z: z.copy(), reconstructions: reconstructions,
                             residualLoss: residual, discriminationLoss: discrimination, meanLossTrace: [],
                             stepsTaken: Array(repeating: 0, count: n))
    }
}
