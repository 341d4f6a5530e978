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
            let losses = self.losses(of: x, features: loss == .featureMatching ? queryFeatures(x) : nil, at: image, loss: loss)
            var total = 0.0
            for k in 0..<range.count {
                residual[start + k] = losses.residual[k]
                discrimination[start + k] = losses.discrimination[k]
                total += losses.total(k, lambda: settings.lambda)
            }
            onProgress(MappingProgress(imagesDone: start, batchCount: range.count, step: 0, steps: 0, meanLoss: total / Double(range.count)))
            start = range.upperBound
        }
        return MappingResult(loss: loss, initialZ: z.copy(), z: z.copy(), reconstructions: reconstructions,
                             residualLoss: residual, discriminationLoss: discrimination, meanLossTrace: [],
                             stepsTaken: Array(repeating: 0, count: n))
    }

    /// z₁ of each image from the prior: the candidate of lowest mapping loss L = (1−λ)·R + λ·D
    /// (with `loss`) among `settings.priorCandidates` draws (one draw, the paper's, when nil or 1).
    /// Candidate c of image i is the c-th run of `latentDimension` draws of
    /// `SeededGenerator(seed: seed, stream: ids[i])`, so candidate 0 is `initialLatents(ids:seed:)`
    /// and the choice depends only on the seed, the image and its id, never on its batch.
    /// A tie keeps the earlier candidate. Each candidate costs one forward pass of G and D.
    /// `onProgress` gets the images chosen so far before each batch.
    public func priorStart(_ queries: Tensor, ids: [String], seed: UInt64, loss: DiscriminationLoss,
                           onProgress: (_ imagesDone: Int) -> Void = { _ in }) throws -> Tensor {
        let candidates = settings.priorCandidates ?? 1
        guard candidates > 1 else { return initialLatents(ids: ids, seed: seed) }
        try check(queries: queries)
        let n = queries.shape[0], latent = config.latentDimension
        guard ids.count == n else { throw MappingError.invalidSettings("\(ids.count) ids for \(n) queries") }
        let best = Tensor(shape: [n, latent])
        var start = 0
        while start < n {
            let range = start..<min(n, start + settings.batchSize)
            onProgress(start)
            let x = queries.items(range)
            let features = loss == .featureMatching ? queryFeatures(x) : nil
            var streams = range.map { SeededGenerator(seed: seed, stream: ids[$0]) }
            var bestLoss = [Double](repeating: .infinity, count: range.count)
            let z = Tensor(shape: [range.count, latent])
            for _ in 0..<candidates {
                for k in 0..<range.count {
                    for j in 0..<latent { z.data[k * latent + j] = streams[k].uniform(-1, 1) }
                }
                let image = generator.forward(z, training: false)
                let losses = self.losses(of: x, features: features, at: image, loss: loss)
                for k in 0..<range.count {
                    let total = losses.total(k, lambda: settings.lambda)
                    guard total < bestLoss[k] else { continue }
                    bestLoss[k] = total
                    (best.data + (start + k) * latent).update(from: z.data + k * latent, count: latent)
                }
            }
            start = range.upperBound
        }
        return best
    }

    /// f(x), D's last feature map of the queries (inference mode).
    private func queryFeatures(_ x: Tensor) -> Tensor { discriminator.forward(x, training: false).features }

    /// R = Σ|x − G(z)| and D (Σ|f(x) − f(G(z))|, or BCE(σ(D(G(z))), 1)) of each image of a batch,
    /// from G(z) and, for feature matching, f(x).
    private func losses(of x: Tensor, features fx: Tensor?, at image: Tensor, loss: DiscriminationLoss) -> BatchLosses {
        let count = x.shape[0], pixels = x.itemCount
        var out = BatchLosses(residual: [Double](repeating: 0, count: count), discrimination: [Double](repeating: 0, count: count))
        for k in 0..<count {
            var r = 0.0
            for j in (k * pixels)..<((k + 1) * pixels) { r += Double(abs(x.data[j] - image.data[j])) }
            out.residual[k] = r
        }
        switch loss {
        case .featureMatching:
            guard let fx else { preconditionFailure("feature matching needs f(x)") }
            let fg = discriminator.forward(image, training: false).features
            let f = fx.itemCount
            for k in 0..<count {
                var d = 0.0
                for j in (k * f)..<((k + 1) * f) { d += Double(abs(fx.data[j] - fg.data[j])) }
                out.discrimination[k] = d
            }
        case .reference:
            let logits = discriminator.forward(image, training: false).logits
            for k in 0..<count {
                // BCE(σ(l), 1) = softplus(−l).
                out.discrimination[k] = Double(Loss.binaryCrossEntropyWithLogits(logits.data + k, count: 1, target: 1))
            }
        }
        return out
    }
}

/// Per-image losses of one batch at fixed z.
private struct BatchLosses {
    var residual: [Double]
    var discrimination: [Double]

    func total(_ k: Int, lambda: Float) -> Double { (1 - Double(lambda)) * residual[k] + Double(lambda) * discrimination[k] }
}
