// The izi_f encoder: its loss gradient against finite differences, an encoder
// start that beats the prior start at equal mapping steps (on the healthy spots GAN), batch-independent
// encoding, a bit-for-bit resume, and the Γ = 0 evaluation against one forward
// pass computed by hand.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class LatentEncoderTests: TemporaryDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        Threads.set(1)
    }

    /// The loss gradient w.r.t. six of E's weight tensors against central differences along
    /// each tensor's own gradient direction u = g/|g| (whose derivative is |g|: a signal above
    /// Float32 rounding, which single-weight differences drown in). κ is set so that the pixel and
    /// feature terms contribute gradients of equal norm; the gradient of either term alone must fail
    /// the same check, so a missing term or a wrong sign (negative derivative) cannot pass.
    /// The trained spots GAN is used (width 16, 16×16): an untrained G barely responds to z, so
    /// the loss would move by less than Float32 rounding.
    func testEncoderLossGradientMatchesFiniteDifferences() throws {
        let g = TrainedSpots.shared.trainer.outputGenerator, d = TrainedSpots.shared.trainer.discriminator
        var rng = SeededGenerator(seed: 5)
        let x = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        func gradient(kappa: Float) throws -> (LatentEncoder, Tensor) {
            let e = try LatentEncoder(generator: g, discriminator: d, settings: EncoderTrainingSettings(batchSize: 5, seed: 2, kappa: kappa))
            _ = e.lossAndGradients(x)
            return (e, e.encoder.parameters.gradients.copy())
        }
        let pixelOnly = try gradient(kappa: 0).1, withUnitKappa = try gradient(kappa: 1).1
        let featureUnit = Tensor(shape: pixelOnly.shape)
        for i in 0..<pixelOnly.count { featureUnit[i] = withUnitKappa[i] - pixelOnly[i] }
        func norm(_ t: Tensor) -> Double { t.array.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let kappa = Float(norm(pixelOnly) / norm(featureUnit))
        let (e, analytic) = try gradient(kappa: kappa)
        let losses = e.lossAndGradients(x)
        XCTAssertEqual(losses.total, losses.pixel + Double(kappa) * losses.feature, accuracy: 1e-9)
        let p = e.encoder.parameters
        for name in ["conv1.weight", "conv2.weight", "bn3.weight", "conv4.weight", "code.weight", "code.bias"] {
            let v = p.value(name), start = v.offset - p.values.offset
            let gv = (start..<(start + v.count)).map { Double(analytic[$0]) }
            let length = gv.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertGreaterThan(length, 0, name)
            let saved = v.array
            func loss(at t: Double) -> Double {
                for k in 0..<v.count { v[k] = saved[k] + Float(t * gv[k] / length) }
                return e.lossAndGradients(x).total
            }
            // The loss is a Float sum: a step that moves it by less than ~1e-5 drowns in its rounding
            // (bn3.weight's small gradient did, at 5 %), so small gradients get a longer step.
            let h = max(1e-3, 1e-5 / length)
            let numeric = (loss(at: h) - loss(at: -h)) / (2 * h)
            for k in 0..<v.count { v[k] = saved[k] }
            // What each term alone would claim for the same directional derivative.
            var pixel = 0.0, feature = 0.0
            for (k, gk) in gv.enumerated() {
                pixel += Double(pixelOnly[start + k]) * gk / length
                feature += Double(kappa) * Double(featureUnit[start + k]) * gk / length
            }
            print("FD \(name): analytic \(length) numeric \(numeric) pixel term \(pixel) feature term \(feature)")
            XCTAssertEqual(length, numeric, accuracy: 0.05 * length, "\(name): |g| \(length), numeric \(numeric)")
            XCTAssertGreaterThan(abs(pixel - numeric), 0.1 * length, "\(name): the pixel term alone would pass")
            XCTAssertGreaterThan(abs(feature - numeric), 0.1 * length, "\(name): the feature term alone would pass")
        }
    }

    /// On the trained spots GAN (healthy, unlike the bars one), 20 mapping steps from E(x)
    /// reconstruct held-out spots better than 20 steps from z₁ ~ U[-1,1], both with one optimizer
    /// (so only the start differs) and with each start's own rate (what `score` runs); E(x) alone
    /// (Γ = 0) also beats the prior z₁ alone.
    func testEncoderStartGivesLowerReconstructionErrorThanThePriorStart() throws {
        let model = TrainedSpots.shared
        let g = model.trainer.outputGenerator, d = model.trainer.discriminator
        // This D's features are large against the pixel error, so κ is scaled down to let both terms count.
        var settings = EncoderTrainingSettings(iterations: 300, batchSize: 32, seed: 1, kappa: 0.002)
        settings.adam.learningRate = 1e-3
        let e = try LatentEncoder(generator: g, discriminator: d, settings: settings)
        var first: EncoderLosses?, last: EncoderLosses?
        try e.train(images: model.data) { it in
            if it.iteration == 1 { first = it.losses }
            last = it.losses
        }
        XCTAssertEqual(e.completedIterations, 300)
        print("encoder loss: first \(first!), last \(last!)")
        XCTAssertLessThan(last!.total, 0.8 * first!.total)

        var rng = SeededGenerator(seed: 33)
        let queries = Synthetic.spots(16, using: &rng)
        func mapper(_ start: LatentStart) throws -> LatentMapper {
            try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 20, batchSize: 16, adam: start.defaultAdam))
        }
        let atEncoderRate = try mapper(.encoder), atPriorRate = try mapper(.prior)
        let prior = atEncoderRate.initialLatents(ids: (0..<16).map(String.init), seed: 33)
        let encoded = e.encode(queries)
        XCTAssertTrue(encoded.array.allSatisfy { $0 > -1 && $0 < 1 })
        func mean(_ r: MappingResult) -> Double { r.residualLoss.reduce(0, +) / Double(r.count) }
        let fromEncoder = mean(try atEncoderRate.map(queries, initialZ: encoded, loss: .featureMatching))
        let fromPriorSameRate = mean(try atEncoderRate.map(queries, initialZ: prior, loss: .featureMatching))
        let fromPriorOwnRate = mean(try atPriorRate.map(queries, initialZ: prior, loss: .featureMatching))
        let priorOnly = mean(try atEncoderRate.evaluate(queries, at: prior, loss: .featureMatching))
        let encoderOnly = mean(try atEncoderRate.evaluate(queries, at: encoded, loss: .featureMatching))
        print("mean R: encoder+20 \(fromEncoder), prior+20 at 0.01 \(fromPriorSameRate), prior+20 at 0.1 \(fromPriorOwnRate), "
              + "encoder+0 \(encoderOnly), prior+0 \(priorOnly)")
        XCTAssertLessThan(fromEncoder, fromPriorSameRate)
        XCTAssertLessThan(fromEncoder, fromPriorOwnRate)
        XCTAssertLessThan(encoderOnly, priorOnly)
    }

    /// E(x) in inference mode is the same whatever batch x is in and whatever the batch size.
    func testEncodingDoesNotDependOnTheBatch() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 6)
        let images = Synthetic.concatenate(Synthetic.bars(4, using: &rng), Synthetic.blobs(3, using: &rng))
        let e = try LatentEncoder(generator: g, discriminator: d, settings: EncoderTrainingSettings(iterations: 3, batchSize: 4, seed: 4))
        try e.train(images: images)   // moves the BatchNorm running statistics away from their reset values
        let all = e.encode(images, batchSize: 4)
        let pick = [6, 0, 3]
        let subset = Trainer.gather(images, pick)
        let alone = e.encode(subset, batchSize: 3)
        let single = e.encode(images.items(3..<4), batchSize: 1)
        for (k, i) in pick.enumerated() {
            for j in 0..<100 { XCTAssertEqual(alone[k * 100 + j], all[i * 100 + j], accuracy: 1e-5, "image \(i) code \(j)") }
        }
        for j in 0..<100 { XCTAssertEqual(single[j], all[300 + j], accuracy: 1e-5) }
        XCTAssertNotEqual(all.array[0..<100], all.array[100..<200])
    }

    /// k + m iterations straight equal k, checkpoint, resume, m more: weights, statistics, Adam.
    /// A checkpoint is refused for a GAN with other weights.
    func testResumeContinuesBitForBit() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 7)
        let images = Synthetic.bars(40, using: &rng)   // 5 batches of 8 per pass
        let settings = EncoderTrainingSettings(iterations: 13, batchSize: 8, seed: 11, checkpointInterval: 100)
        let straight = try LatentEncoder(generator: g, discriminator: d, settings: settings)
        try straight.train(images: images)

        var firstLeg = settings
        firstLeg.iterations = 7   // stops mid-pass
        let url = dir.appendingPathComponent("encoder.safetensors")
        let stopped = try LatentEncoder(generator: g, discriminator: d, settings: firstLeg, ganCheckpoint: "/runs/gan/checkpoint.safetensors")
        var written: [Int] = []
        try stopped.train(images: images, checkpoint: url) { if $0.checkpoint != nil { written.append($0.iteration) } }
        XCTAssertEqual(written, [7])
        let resumed = try LatentEncoder(resuming: url, generator: g, discriminator: d, iterations: 13)
        XCTAssertEqual(resumed.completedIterations, 7)
        XCTAssertEqual(resumed.ganCheckpoint, "/runs/gan/checkpoint.safetensors")
        try resumed.train(images: images)

        XCTAssertEqual(resumed.position, straight.position)
        XCTAssertEqual(resumed.position, EncoderPosition(iteration: 13, adamSteps: 13))
        let pairs: [(String, Tensor, Tensor)] = [
            ("E", straight.encoder.parameters.values, resumed.encoder.parameters.values),
            ("E stats", straight.encoder.statistics.values, resumed.encoder.statistics.values),
            ("Adam m", straight.adam.m, resumed.adam.m), ("Adam v", straight.adam.v, resumed.adam.v),
        ]
        for (name, a, b) in pairs { XCTAssertEqual(a.array, b.array, "\(name) differs after resume") }
        let fresh = try LatentEncoder(generator: g, discriminator: d, settings: settings)
        XCTAssertNotEqual(fresh.encoder.parameters.values.array, straight.encoder.parameters.values.array)

        let (otherG, otherD) = Synthetic.networks(seed: 10)
        XCTAssertThrowsError(try LatentEncoder(resuming: url, generator: otherG, discriminator: otherD)) { error in
            XCTAssertTrue("\(error)".contains("trained against other GAN weights"), "\(error)")
            XCTAssertTrue("\(error)".contains("/runs/gan/checkpoint.safetensors"), "\(error)")
        }
    }

    /// evaluate(at: z) (Γ = 0) is R = Σ|x − G(z)| and D = Σ|f(x) − f(G(z))| (or softplus(−D(G(z))))
    /// computed by hand one image at a time from G and D, and equals the losses a one-step
    /// mapping reports at its z₁ (through the folded D).
    func testEvaluationAtZEqualsOneForwardPassByHand() throws {
        let (g, d) = Synthetic.networks()
        var rng = SeededGenerator(seed: 8)
        let queries = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        let z = Tensor.uniform(shape: [5, 100], low: -1, high: 1, using: &rng)
        let mapper = try LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 1, batchSize: 2))
        for loss in [DiscriminationLoss.featureMatching, .reference] {
            let result = try mapper.evaluate(queries, at: z, loss: loss)
            let oneStep = try mapper.map(queries, initialZ: z, loss: loss)
            XCTAssertEqual(result.z.array, z.array)
            XCTAssertTrue(result.meanLossTrace.isEmpty)
            let a = result.anomalyScores(lambda: 0.1)
            for i in 0..<5 {
                let x = queries.items(i..<(i + 1)), image = g.forward(z.items(i..<(i + 1)), training: false)
                var r = 0.0
                for k in 0..<256 { r += Double(abs(x[k] - image[k])) }
                var dl = 0.0
                if loss == .featureMatching {
                    let fx = d.forward(x, training: false).features, fg = d.forward(image, training: false).features
                    for k in 0..<fx.count { dl += Double(abs(fx[k] - fg[k])) }
                } else {
                    let l = Double(d.forward(image, training: false).logits[0])
                    dl = log(1 + exp(-l))
                }
                XCTAssertEqual(result.residualLoss[i], r, accuracy: 1e-4 * r, "\(loss) R image \(i)")
                XCTAssertEqual(result.discriminationLoss[i], dl, accuracy: 1e-4 * max(dl, 1e-3), "\(loss) D image \(i)")
                XCTAssertEqual(a[i], 0.9 * r + 0.1 * dl, accuracy: 1e-4 * r)
                for k in 0..<256 { XCTAssertEqual(result.reconstructions[i * 256 + k], image[k], accuracy: 1e-5) }
                XCTAssertEqual(oneStep.residualLoss[i], r, accuracy: 1e-3 * r, "\(loss) one-step R image \(i)")
                XCTAssertEqual(oneStep.discriminationLoss[i], dl, accuracy: 1e-3 * max(dl, 1e-2), "\(loss) one-step D image \(i)")
            }
        }
    }
}
