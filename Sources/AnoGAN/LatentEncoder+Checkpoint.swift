// Encoder checkpoints: one safetensors file with E's parameters and BatchNorm
// statistics (encoder.*), its Adam state (optim.encoder.{m,v}) and, in the
// metadata, the architecture, settings, seed, position and the GAN it belongs
// to (path and a fingerprint of G's and D's weights), so a resume continues
// bit-for-bit and a resume against another GAN is refused.

import Foundation
import NeuralNet
import Records

/// Where encoder training stands; stored in checkpoint metadata.
public struct EncoderPosition: Codable, Equatable, Sendable {
    /// Iterations completed.
    public var iteration: Int
    /// Adam update count (bias correction depends on it).
    public var adamSteps: Int
}

extension LatentEncoder {
    public static let checkpointFormat = "anogan-encoder-checkpoint"
    public static let checkpointVersion = 1

    public var position: EncoderPosition { EncoderPosition(iteration: completedIterations, adamSteps: adam.step) }

    /// FNV-1a (64 bit) over the bytes of G's and D's parameters and statistics, as 16 hex digits:
    /// identifies the frozen GAN an encoder was trained against.
    public static func fingerprint(generator: Generator, discriminator: Discriminator) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in [generator.parameters.values, generator.statistics.values, discriminator.parameters.values, discriminator.statistics.values] {
            let bytes = UnsafeRawBufferPointer(start: t.data, count: t.count * MemoryLayout<Float>.stride)
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return String(format: "%016llx", h)
    }

    /// Writes E, its Adam state and the position atomically.
    public func save(to url: URL) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        for set in [encoder.parameters, encoder.statistics] {
            for spec in set.specs { tensors.append(("encoder." + spec.name, set.value(spec.name))) }
        }
        tensors.append(("optim.encoder.m", adam.m))
        tensors.append(("optim.encoder.v", adam.v))
        try Safetensors.write(tensors, metadata: [
            "format": Self.checkpointFormat,
            "version": String(Self.checkpointVersion),
            "architecture": try jsonString(config),
            "settings": try jsonString(settings),
            "position": try jsonString(position),
            "seed": String(settings.seed),
            "iteration": String(completedIterations),
            "gan.checkpoint": ganCheckpoint,
            "gan.fingerprint": Self.fingerprint(generator: generator, discriminator: discriminator),
        ], to: url)
    }

    /// Reads an encoder checkpoint for `generator` and `discriminator` (the GAN it was trained
    /// against: architecture and weight fingerprint must match), restoring E, Adam and the position.
    /// `iterations` replaces the stored budget (to train further); everything else is the checkpoint's.
    public convenience init(resuming url: URL, generator: Generator, discriminator: Discriminator, iterations: Int? = nil) throws {
        let file = try Safetensors.read(url)
        let meta = file.metadata
        guard meta["format"] == Self.checkpointFormat else {
            throw FileError(url, "not an encoder checkpoint (metadata \"format\" is \(meta["format"].map { "\"\($0)\"" } ?? "missing"))")
        }
        guard let v = meta["version"].flatMap(Int.init), v <= Self.checkpointVersion else {
            throw FileError(url, "encoder checkpoint version \(meta["version"] ?? "missing") is not supported (this build reads ≤ \(Self.checkpointVersion))")
        }
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let text = meta[key] else { throw FileError(url, "encoder checkpoint metadata lacks \"\(key)\"") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw FileError(url, "encoder checkpoint metadata \"\(key)\" is not valid: \(text)")
            }
        }
        let config = try decode("architecture", DCGANConfig.self)
        guard config == generator.config else {
            throw FileError(url, "encoder was trained for a model with \(Checkpoint.describe(config)), the given GAN has \(Checkpoint.describe(generator.config))")
        }
        let stored = meta["gan.fingerprint"] ?? ""
        let actual = Self.fingerprint(generator: generator, discriminator: discriminator)
        guard stored == actual else {
            throw FileError(url, "encoder was trained against other GAN weights (\(meta["gan.checkpoint"].map { $0.isEmpty ? "" : "from \($0), " } ?? "")fingerprint \(stored), the given GAN has \(actual))")
        }
        var settings = try decode("settings", EncoderTrainingSettings.self)
        if let iterations { settings.iterations = iterations }
        let position = try decode("position", EncoderPosition.self)
        try self.init(generator: generator, discriminator: discriminator, settings: settings, ganCheckpoint: meta["gan.checkpoint"] ?? "")
        for set in [encoder.parameters, encoder.statistics] {
            for spec in set.specs {
                let key = "encoder." + spec.name
                guard let t = file.tensors[key] else { throw FileError(url, "encoder checkpoint lacks tensor \(key)") }
                guard t.shape == spec.shape else { throw FileError(url, "tensor \(key) has shape \(t.shape), expected \(spec.shape)") }
                guard t.isFinite else { throw FileError(url, "tensor \(key) holds NaN or Inf") }
                set.value(spec.name).assign(from: t)
            }
        }
        for (name, target) in [("m", adam.m), ("v", adam.v)] {
            let key = "optim.encoder.\(name)"
            guard let t = file.tensors[key], t.count == target.count else {
                throw FileError(url, "encoder checkpoint lacks \(key) or it has the wrong size")
            }
            target.assign(from: t)
        }
        adam.step = position.adamSteps
        completedIterations = position.iteration
    }
}
