// Checkpoints: everything a resume needs survives the file; a checkpoint of
// another architecture or with a mangled tensor is refused with a message
// naming the file and the difference.

import Foundation
import XCTest
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class CheckpointTests: TemporaryDirectoryTestCase {
    private var url: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        Threads.set(1)
        url = dir.appendingPathComponent("checkpoint.safetensors")
    }

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
        // The header keeps the keys of the first checkpoints, so they still load, plus the data's fingerprint.
        let header = try Safetensors.read(url).metadata
        XCTAssertEqual(Set(header.keys), ["format", "version", "architecture", "settings", "position", "seed", "epoch",
                                          "iteration", "dataset.count", "dataset.path", "dataset.fingerprint"])
        XCTAssertEqual(header["dataset.fingerprint"], t.images.fingerprint)
        XCTAssertEqual(c.metadata.dataset.fingerprint, t.images.fingerprint)
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

    // MARK: Hostile checkpoints (issue 10): refused by read, before any network is built

    /// Rewrites the checkpoint at `url` with `edit` applied to its tensors and header.
    private func mangle(_ edit: (inout [String: Tensor], inout [String: String]) throws -> Void) throws {
        let file = try Safetensors.read(url)
        var tensors = file.tensors, meta = file.metadata
        try edit(&tensors, &meta)
        try Safetensors.write(file.order.map { ($0, tensors[$0]!) }, metadata: meta, to: url)
    }

    private func assertRefused(_ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.read(url), file: file, line: line) { error in
            XCTAssertTrue(error is FileError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testLayoutMatchesTheNetworks() {
        for config in [Synthetic.config(width: 4), DCGANConfig.paper, DCGANConfig(latentDimension: 7, imageSize: 32, width: 3, channels: 3)] {
            let g = Generator(config: config), d = Discriminator(config: config)
            var built: [String: [Int]] = [:]
            for spec in g.parameters.specs + g.statistics.specs { built["generator." + spec.name] = spec.shape }
            for spec in d.parameters.specs + d.statistics.specs { built["discriminator." + spec.name] = spec.shape }
            let layout = CheckpointMetadata.layout(for: config)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: layout.map { ($0.name, $0.shape) }), built, "\(config)")
            XCTAssertEqual(layout.count, built.count)
        }
    }

    func testNegativeBatchNormVarianceIsRefused() throws {
        try trainer().saveCheckpoint(to: url)
        XCTAssertNoThrow(try Checkpoint.read(url))
        try mangle { t, _ in t["generator.bn2.running_var"]!.data[1] = -0.5 }
        assertRefused("generator.bn2.running_var holds the negative variance -0.5 at index 1")
    }

    func testNegativeAdamSecondMomentAndNonFiniteValuesAreRefused() throws {
        try trainer().saveCheckpoint(to: url)
        try mangle { t, _ in t["optim.discriminator.v"]!.data[0] = -1 }
        assertRefused("optim.discriminator.v holds the negative variance")
        try trainer().saveCheckpoint(to: url)
        try mangle { t, _ in t["optim.generator.m"]!.data[3] = .infinity }
        assertRefused("optim.generator.m holds NaN or Inf")
    }

    func testCountersNearIntMaxAreRefused() throws {
        for (key, field) in [("iteration", "position iteration"), ("generatorAdamSteps", "position generatorAdamSteps"),
                             ("epoch", "position epoch")] {
            try trainer().saveCheckpoint(to: url)
            try mangle { _, meta in
                var position = try JSONSerialization.jsonObject(with: Data(meta["position"]!.utf8)) as! [String: Any]
                position[key] = Int.max
                meta["position"] = String(decoding: try JSONSerialization.data(withJSONObject: position), as: UTF8.self)
            }
            assertRefused("checkpoint \(field) is \(Int.max), outside")
        }
        try trainer().saveCheckpoint(to: url)
        try mangle { _, meta in
            var settings = try JSONSerialization.jsonObject(with: Data(meta["settings"]!.utf8)) as! [String: Any]
            settings["epochs"] = Int.max
            meta["settings"] = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
        }
        assertRefused("checkpoint settings epochs is \(Int.max)")
    }

    func testHugeDeclaredWidthIsRefusedBeforeAnyAllocation() throws {
        try trainer().saveCheckpoint(to: url)
        // A small file declaring a network of ~10¹³ parameters: the budget refuses it,
        // whatever the machine (no network of that width could be built to check shapes).
        try mangle { _, meta in meta["architecture"] = try jsonString(DCGANConfig(latentDimension: 100, imageSize: 64, width: 1 << 20)) }
        try MemoryBudget.$override.withValue(16 << 30) {
            assertRefused("the declared architecture")
            assertRefused(MemoryBudget.environmentVariable)
        }
        // Within the bounds but beyond a small budget: the message names the setting.
        try trainer(width: 4).saveCheckpoint(to: url)
        try MemoryBudget.$override.withValue(1000) {
            XCTAssertThrowsError(try Checkpoint.read(url)) { XCTAssertTrue("\($0)".contains("raise it with the setting ANOGAN_MEMORY_LIMIT"), "\($0)") }
        }
    }

    func testWidthBeyondTheBoundsIsRefused() throws {
        try trainer().saveCheckpoint(to: url)
        try mangle { _, meta in meta["architecture"] = try jsonString(DCGANConfig(width: Int.max / 8)) }
        assertRefused("architecture width is \(Int.max / 8), outside")
    }

    /// Not a checkpoint, but the same class of trap (issue 10): images of side 20 used to
    /// reach Generator's precondition when the image size was taken from the data.
    func testTrainingOnImagesWhoseSideIsNotAMultipleOf16IsAnError() {
        var rng = SeededGenerator(seed: 1)
        let images = Tensor.uniform(shape: [8, 1, 20, 20], low: -1, high: 1, using: &rng)
        XCTAssertThrowsError(try Trainer(config: Synthetic.config(width: 4, imageSize: 20), settings: TrainingSettings(epochs: 1, batchSize: 4),
                                         images: images)) { error in
            XCTAssertTrue("\(error)".contains("image size must be a positive multiple of 16, got 20"), "\(error)")
        }
    }
}
