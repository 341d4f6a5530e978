// Checkpoints: everything a resume needs survives the file; a checkpoint of
// another architecture or with a mangled tensor is refused with a message
// naming the file and the difference.

import Foundation
import XCTest
import NeuralNet
import Records
@testable import AnoGAN

final class CheckpointTests: XCTestCase {
    private var url: URL!

    override func setUp() {
        Threads.set(1)
        url = FileManager.default.temporaryDirectory.appendingPathComponent("anogan-ckpt-\(UUID().uuidString).safetensors")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: url) }

    private func trainer(width: Int = 4) throws -> Trainer {
        var rng = SeededGenerator(seed: 1)
        let settings = TrainingSettings(epochs: 1, batchSize: 8, seed: UInt64.max - 5, sampleCount: 4)
        return try Trainer(config: Synthetic.config(width: width), settings: settings, images: Synthetic.bars(16, using: &rng))
    }

    func testCheckpointRoundTripsEverythingAResumeNeeds() throws {
        let t = try trainer()
        _ = try t.trainEpoch()
        try t.saveCheckpoint(to: url)
        let c = try Checkpoint.read(url)
        XCTAssertEqual(c.config, t.config)
        XCTAssertEqual(c.settings, t.settings)
        XCTAssertEqual(c.settings.seed, UInt64.max - 5, "a seed above 2^53 survives the JSON metadata")
        XCTAssertEqual(c.position, t.position)
        XCTAssertEqual(c.position.generatorAdamSteps, 2)
        XCTAssertEqual(c.metadata.settings.seed, UInt64.max - 5)
        // The header keeps the keys of the first checkpoints, so they still load.
        let header = try Safetensors.read(url).metadata
        XCTAssertEqual(Set(header.keys), ["format", "version", "architecture", "settings", "position", "seed", "epoch",
                                          "iteration", "dataset.count", "dataset.path"])
        XCTAssertEqual(header["seed"], String(UInt64.max - 5))
        XCTAssertEqual(header["format"], "anogan-checkpoint")
        XCTAssertEqual(try CheckpointMetadata(safetensorsMetadata: header, of: url), c.metadata)
        XCTAssertEqual(c.datasetCount, 16)
        // Tensor names of Checkpoint, with values equal to the live networks.
        XCTAssertEqual(c.tensors["generator.deconv1.weight"]?.shape, [32, 16, 5, 5])
        XCTAssertEqual(c.tensors["discriminator.bn4.running_var"]?.array, t.discriminator.statistics.value("bn4.running_var").array)
        XCTAssertEqual(c.tensors["optim.discriminator.v"]?.array, t.step.adamD.v.array)
        let (g, d) = try c.makeNetworks()
        XCTAssertEqual(g.parameters.values.array, t.generator.parameters.values.array)
        XCTAssertEqual(d.statistics.values.array, t.discriminator.statistics.values.array)
    }

    func testCheckpointOfAnotherArchitectureIsRefused() throws {
        try trainer(width: 4).saveCheckpoint(to: url)
        let c = try Checkpoint.read(url)
        XCTAssertNoThrow(try c.check(matches: Synthetic.config(width: 4)))
        XCTAssertThrowsError(try c.check(matches: Synthetic.config(width: 8))) { error in
            XCTAssertEqual("\(error)", "\(url.path): checkpoint holds a model with image size 16, width 4, 1 channel(s), latent dimension 100, but image size 16, width 8, 1 channel(s), latent dimension 100 was requested")
        }
        XCTAssertThrowsError(try c.check(matches: Synthetic.config(width: 4, imageSize: 32))) { error in
            XCTAssertTrue("\(error)".contains("image size 32"), "\(error)")
        }
    }

    /// Metadata claiming width 8 over width-4 tensors: the tensor named in the message.
    func testCheckpointWhoseTensorsDoNotFitItsArchitectureIsRefused() throws {
        try trainer(width: 4).saveCheckpoint(to: url)
        let file = try Safetensors.read(url)
        var meta = file.metadata
        meta["architecture"] = try jsonString(Synthetic.config(width: 8))
        try Safetensors.write(file.order.map { ($0, file.tensors[$0]!) }, metadata: meta, to: url)
        // Refused by read, before any network of the declared architecture is built.
        XCTAssertThrowsError(try Checkpoint.read(url)) { error in
            XCTAssertTrue(error is FileError)
            XCTAssertTrue("\(error)".contains("generator.project.weight has shape [32, 100], the declared architecture needs [64, 100]"), "\(error)")
        }
    }

    func testFilesThatAreNotCheckpointsAreRefused() throws {
        try Safetensors.write([("x", Tensor(shape: [2]))], metadata: ["format": "something"], to: url)
        XCTAssertThrowsError(try Checkpoint.read(url)) { error in
            XCTAssertTrue("\(error)".contains("not an anogan checkpoint"), "\(error)")
        }
        try Data("garbage".utf8).write(to: url)
        XCTAssertThrowsError(try Checkpoint.read(url)) { XCTAssertTrue($0 is FileError, "\($0)") }
    }
}
