// Tests of the adversarial convolutional autoencoder: the encoder's hand-written
// backward against central finite differences (input and weights, training and
// inference mode), the encoder→decoder composition likewise, and that training
// on tiny synthetic images lowers the reconstruction error.

import XCTest
import Foundation
import NeuralNet
import Records
@testable import AnoGAN

final class ACAETests: XCTestCase {
    private func tinyConfig(size: Int = 16) -> DCGANConfig { DCGANConfig(latentDimension: 3, imageSize: size, width: 2, channels: 1) }

    /// Σ c·y for fixed random weights c: a scalar loss with dL/dy = c.
    private func weightedSum(_ y: Tensor, _ c: Tensor) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(c.data[i]) }
        return s
    }

    /// Relative agreement of an analytic and a finite-difference derivative.
    private func assertClose(_ analytic: Double, _ numeric: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let tolerance = 3e-2 * max(1, abs(numeric), abs(analytic))
        XCTAssertEqual(analytic, numeric, accuracy: tolerance, what, file: file, line: line)
    }

    /// Compares `gradient[i]` with the central difference of `loss` over `value[i]` for each index.
    private func checkGradient(_ value: Tensor, _ gradient: Tensor, at indices: [Int], eps: Float, _ what: String,
                               loss: () -> Double, file: StaticString = #filePath, line: UInt = #line) {
        for index in indices {
            let old = value.data[index]
            value.data[index] = old + eps; let plus = loss()
            value.data[index] = old - eps; let minus = loss()
            value.data[index] = old
            assertClose(Double(gradient.data[index]), (plus - minus) / Double(2 * eps), "\(what)[\(index)]", file: file, line: line)
        }
    }

    func testEncoderGradientsMatchFiniteDifferences() {
        for training in [true, false] {
            var rng = SeededGenerator(seed: 7)
            let config = tinyConfig(size: 32)
            let encoder = Encoder(config: config)
            encoder.initialize(using: &rng)
            // Larger weights than DCGAN's 0.02 so every layer matters, yet tanh is not saturated.
            for i in 0..<encoder.parameters.count { encoder.parameters.values.data[i] *= 4 }
            let codeWeight = encoder.parameters.value("code.weight")
            for i in 0..<codeWeight.count { codeWeight.data[i] *= 0.3 }
            if !training {  // non-trivial running statistics
                for i in 0..<encoder.statistics.count { encoder.statistics.values.data[i] = encoder.statistics.values.data[i] == 0 ? 0.01 : 0.4 }
            }
            // Batch 4 at 32×32 so training-mode BatchNorm of the last block normalises over 4·2·2 values, not 2.
            let x = Tensor.uniform(shape: [4, 1, 32, 32], low: -1, high: 1, using: &rng)
            let codes = encoder.forward(x, training: training)
            XCTAssertEqual(codes.shape, [4, 3])
            XCTAssertTrue(codes.array.allSatisfy { abs($0) < 0.99 } && codes.array.contains { abs($0) > 0.05 }, "tanh code in (-1, 1), away from 0 and ±1: \(codes.array)")
            let c = Tensor.uniform(shape: codes.shape, low: -1, high: 1, using: &rng)
            encoder.parameters.zeroGradients()
            let gradX = encoder.backward(c, weightGradients: true)
            let stats = encoder.statistics.values.copy()
            func loss() -> Double {
                let y = encoder.forward(x, training: training)
                encoder.statistics.values.assign(from: stats)  // training-mode forwards must not drift the running stats
                return weightedSum(y, c)
            }
            // LeakyReLU kinks bias wide differences (a bias step moves every position of a channel), so the
            // step is small; the tolerance covers Float32 rounding of the loss divided by 2·eps.
            let eps: Float = 2e-4
            checkGradient(x, gradX, at: [0, 37, 130, 555, 1300, 4095], eps: eps, "dL/dx training=\(training)", loss: loss)
            for name in ["conv1.weight", "conv1.bias", "conv3.weight", "bn2.weight", "bn4.bias", "code.weight", "code.bias"] {
                let value = encoder.parameters.value(name)
                checkGradient(value, encoder.parameters.gradient(name), at: Array(Set([0, value.count / 2, value.count - 1])).sorted(),
                              eps: eps, "\(name) training=\(training)", loss: loss)
            }
        }
    }

    /// The autoencoder path x → enc → dec → x̂ backpropagated by hand (decoder.backward feeding encoder.backward).
    func testAutoencoderCompositionGradient() {
        var rng = SeededGenerator(seed: 3)
        let config = tinyConfig()
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings())
        model.initialize(using: &rng)
        for set in [model.encoder.parameters, model.decoder.parameters] {
            for i in 0..<set.count { set.values.data[i] *= 10 }
        }
        let x = Tensor.uniform(shape: [2, 1, 16, 16], low: -1, high: 1, using: &rng)
        let xhat = model.reconstruct(x, training: false).reconstructions
        let c = Tensor.uniform(shape: xhat.shape, low: -1, high: 1, using: &rng)
        model.encoder.parameters.zeroGradients()
        model.decoder.parameters.zeroGradients()
        let gradCodes = model.decoder.backward(c, weightGradients: true)
        let gradX = model.encoder.backward(gradCodes, weightGradients: true)
        func loss() -> Double { weightedSum(model.reconstruct(x, training: false).reconstructions, c) }
        let eps: Float = 1e-2
        checkGradient(x, gradX, at: [5, 100, 400], eps: eps, "dL/dx", loss: loss)
        for (set, name) in [(model.encoder.parameters, "conv2.weight"), (model.encoder.parameters, "code.weight"),
                            (model.decoder.parameters, "project.weight"), (model.decoder.parameters, "deconv2.weight")] {
            let value = set.value(name)
            checkGradient(value, set.gradient(name), at: [1, value.count / 3], eps: eps, name, loss: loss)
        }
    }

    func testTrainingReducesReconstructionError() {
        var rng = SeededGenerator(seed: 11)
        let config = Synthetic.config(width: 16)
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings(batchSize: 32, seed: 11, adam: AdamSettings(learningRate: 2e-3, beta1: 0.5)))
        model.initialize(using: &rng)
        let images = Synthetic.bars(32, using: &rng)
        var losses: [Double] = []
        for _ in 0..<80 {
            let l = model.step(real: images)
            XCTAssertTrue(l.reconstruction.isFinite && l.adversarial.isFinite && l.discriminator.isFinite)
            losses.append(l.reconstruction)
        }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.5 * first, "reconstruction MSE \(first) → \(last)")
        // And in inference mode on held-out bars, the reconstruction beats the trivial all-background guess.
        let heldOut = Synthetic.bars(16, using: &rng)
        let xhat = model.reconstruct(heldOut, training: false).reconstructions
        var err = 0.0, trivial = 0.0
        for i in 0..<heldOut.count {
            err += Double(abs(xhat.data[i] - heldOut.data[i]))
            trivial += Double(abs(-1 - heldOut.data[i]))
        }
        XCTAssertLessThan(err, trivial, "held-out L1 \(err) vs all-background \(trivial)")
    }
}

/// Scoring and the score run directory of the aCAE, against values recomputed from the networks.
final class ACAEScoringTests: XCTestCase {
    func testScoresMatchDefinitionAndRunDirectoryHasContractFiles() throws {
        var rng = SeededGenerator(seed: 5)
        let config = DCGANConfig(latentDimension: 4, imageSize: 16, width: 2, channels: 1)
        let model = AdversarialAutoencoder(config: config, settings: ACAESettings(batchSize: 4))
        model.initialize(using: &rng)
        let images = Synthetic.concatenate(Synthetic.bars(3, using: &rng), Synthetic.blobs(2, using: &rng))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("acae-score-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = ImageInput(images: images, labels: [0, 0, 0, 1, 1], source: dir.appendingPathComponent("queries.npy"))
        let result = try model.score(input, lambda: 0.1, batchSize: 2)   // batches 2+2+1: batching must not matter

        XCTAssertEqual(result.scoreTable().columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(result.rows.map(\.label), [0, 0, 0, 1, 1])
        XCTAssertEqual(result.queryFeatures.shape, [5, 16 * 1 * 1])
        // Independent recomputation with the whole batch at once.
        let xhat = model.reconstruct(images, training: false).reconstructions
        let real = model.discriminator.forward(images, training: false), fake = model.discriminator.forward(xhat, training: false)
        for i in 0..<5 {
            var r = 0.0, d = 0.0
            for j in 0..<256 { r += Double(abs(images.data[i * 256 + j] - xhat.data[i * 256 + j])) }
            for j in 0..<16 { d += Double(abs(real.features.data[i * 16 + j] - fake.features.data[i * 16 + j])) }
            let row = result.rows[i]
            XCTAssertEqual(row.residual!, r, accuracy: 1e-3 * r)
            XCTAssertEqual(row.discrimination!, d, accuracy: 1e-3 * max(d, 1e-3))
            XCTAssertEqual(row.anomaly!, 0.9 * row.residual! + 0.1 * row.discrimination!, accuracy: 1e-6 * row.anomaly!)  // λ is a Float
            XCTAssertEqual(row.discriminatorProbability, 1 / (1 + exp(-Double(real.logits[i]))), accuracy: 1e-5)
            XCTAssertNil(row.referenceAnomaly)
        }
        let checkpoint = dir.appendingPathComponent("acae.safetensors")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try model.save(to: checkpoint)
        let run = dir.appendingPathComponent("run")
        let scorer = AutoencoderScorer(model: model, lambda: 0.1, batchSize: 2)
        try result.write(input: input, checkpoint: checkpoint, config: config, settings: scorer.recordedSettings,
                         triplets: 2, trace: true, threads: 1, to: run)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("trace.csv").path), "no search, no trace")
        for file in ["scores.csv", "summary.json", "reconstructions.npy", "residuals.npy", "features.npy", "triplets/0001.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), file)
        }
        let table = try ScoreTable.read(run.appendingPathComponent("scores.csv"))
        XCTAssertEqual(table.columns, ["R", "D", "A", "P_D"])
        XCTAssertEqual(table.column("A")!, result.rows.map { $0.anomaly! })
        XCTAssertEqual(try NPY.read(run.appendingPathComponent("reconstructions.npy")).shape, [5, 1, 16, 16])

        // The checkpoint round-trips: the reloaded model scores identically.
        let reloaded = try AdversarialAutoencoder.load(from: checkpoint)
        XCTAssertEqual(try reloaded.score(input).rows, result.rows)
    }

    func testCheckpointOfAnotherKindIsRefusedWithItsName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("acae-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("other.safetensors")
        try Safetensors.write([("x", Tensor(shape: [1]))], metadata: ["format": "something-else"], to: url)
        XCTAssertThrowsError(try AdversarialAutoencoder.load(from: url)) { error in
            XCTAssertTrue("\(error)".contains("other.safetensors") && "\(error)".contains("not an aCAE checkpoint"), "\(error)")
        }
    }
}
