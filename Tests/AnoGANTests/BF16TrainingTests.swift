// A short GAN training run in bf16 mixed precision tracks the same run in f32:
// same initial weights, the same real batches and noise, 30 steps of
// GANTrainingStep (Adam on f32 master weights in both). GAN training amplifies
// any difference over time, so the check is on the loss curves, not the weights:
// mean |Loss_D(bf16) − Loss_D(f32)| and the same for Loss_G over the 30 steps
// must stay below 0.05, a twentieth of the spread of the f32 Loss_D curve itself
// (which must exceed 0.5, so that tracking it means something). Measured (width 8,
// 32×32, batch 8): 0.0038 for Loss_D, 0.0087 for Loss_G (0.004 and 0.012 with the
// image layers in bf16 too); the f32 Loss_D spans 1.07.

import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class BF16TrainingTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Precision.bf16.isSupported(), "this CPU has no AVX512-BF16 (oneDNN reports \(CPUISA.effective))")
    }

    /// Loss_D and Loss_G of `steps` training steps at `precision`, from seed-determined weights and data.
    private func lossCurve(_ precision: Precision, steps: Int, config c: DCGANConfig, batch n: Int) -> [GANStepLosses] {
        var rng = SeededGenerator(seed: 11)
        let g = Generator(config: c, precision: precision), d = Discriminator(config: c, precision: precision)
        g.initialize(using: &rng)
        d.initialize(using: &rng)
        let step = GANTrainingStep(generator: g, discriminator: d)
        var data = SeededGenerator(seed: 12)
        let images = Synthetic.bars(8 * n, size: c.imageSize, using: &data)
        var curve: [GANStepLosses] = []
        for k in 0..<steps {
            let real = images.items((k % 8) * n..<(k % 8 + 1) * n)
            let z = Tensor.uniform(shape: [n, c.latentDimension], low: -1, high: 1, using: &data)
            curve.append(step.step(real: real, z: z))
        }
        return curve
    }

    func testBF16LossCurveTracksF32() {
        let c = Synthetic.config(width: 8, imageSize: 32), n = 8, steps = 30
        let f32 = lossCurve(.f32, steps: steps, config: c, batch: n)
        let bf16 = lossCurve(.bf16, steps: steps, config: c, batch: n)
        let dD = zip(f32, bf16).map { abs($0.lossD - $1.lossD) }.reduce(0, +) / Float(steps)
        let dG = zip(f32, bf16).map { abs($0.lossG - $1.lossG) }.reduce(0, +) / Float(steps)
        let spreadD = f32.map(\.lossD).max()! - f32.map(\.lossD).min()!
        print("bf16 vs f32 over \(steps) steps: mean |ΔLoss_D| \(dD), mean |ΔLoss_G| \(dG); f32 Loss_D spread \(spreadD)")
        XCTAssertTrue(bf16.allSatisfy { $0.lossD.isFinite && $0.lossG.isFinite })
        XCTAssertLessThan(dD, 0.05)
        XCTAssertLessThan(dG, 0.05)
        // The curve is not flat, so tracking it means something.
        XCTAssertGreaterThan(spreadD, 0.5)
        // And bf16 really ran: the curves are not identical.
        XCTAssertGreaterThan(dD + dG, 0)
    }

    /// The convolutions at the image stay f32 in a bf16 network (Precision.forLayer): G's last, and
    /// the first of D, of D's folded copy (the mapping's) and of the encoders' trunk; the rest are bf16.
    func testImageLayersStayF32() {
        let c = Synthetic.config(width: 8, imageSize: 32)
        let g = Generator(config: c, precision: .bf16), d = Discriminator(config: c, precision: .bf16)
        XCTAssertEqual(g.deconvs.map(\.precision), [.bf16, .bf16, .bf16, .f32])
        for (name, convs) in [("D", d.trunk.convs), ("folded D", FoldedDiscriminator(d).convs),
                              ("E", Encoder(config: c, precision: .bf16).trunk.convs)] {
            XCTAssertEqual(convs.map(\.precision), [.f32, .bf16, .bf16, .bf16], name)
        }
        XCTAssertEqual(Generator(config: c, precision: .f32).deconvs.map(\.precision), [.f32, .f32, .f32, .f32])
        XCTAssertEqual(Discriminator(config: c, precision: .f32).trunk.convs.map(\.precision), [.f32, .f32, .f32, .f32])
    }
}
