// The DCGAN architecture's size parameters (paper: latent 100, 64×64, width 64)
// and the DCGAN initialisation shared by the generator and discriminator.

import NeuralNet
import Records

/// Sizes of the DCGAN generator and discriminator.
public struct DCGANConfig: Codable, Equatable, Sendable {
    /// Length of z; z ∈ [-1, 1]^latentDimension.
    public var latentDimension: Int = 100
    /// Image side in pixels; a multiple of 16 (32 for 28×28 data padded to 32).
    public var imageSize: Int = 64
    /// Channels of D's first conv = G's last hidden layer; the paper's 64 gives 512-256-128-64.
    public var width: Int = 64
    /// Image channels (1 for OCT).
    public var channels: Int = 1

    public init(latentDimension: Int = 100, imageSize: Int = 64, width: Int = 64, channels: Int = 1) {
        self.latentDimension = latentDimension
        self.imageSize = imageSize
        self.width = width
        self.channels = channels
    }

    /// The paper's model: z ∈ ℝ¹⁰⁰, 64×64 images with one channel, 512-256-128-64 channels.
    public static let paper = DCGANConfig()

    /// Side of the smallest feature map (imageSize / 16).
    public var baseSize: Int { imageSize / 16 }

    /// Throws a readable error for sizes the architecture cannot have.
    public func validate() throws {
        guard latentDimension >= 1 else { throw DCGANConfigError("latent dimension must be ≥ 1, got \(latentDimension)") }
        guard imageSize >= 16, imageSize % 16 == 0 else { throw DCGANConfigError("image size must be a positive multiple of 16, got \(imageSize)") }
        guard width >= 1 else { throw DCGANConfigError("width must be ≥ 1, got \(width)") }
        guard channels >= 1 else { throw DCGANConfigError("channels must be ≥ 1, got \(channels)") }
    }
}

/// An impossible DCGAN configuration.
public struct DCGANConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// DCGAN initialisation (Radford et al.): weights of convolutions and linear layers from N(0, 0.02),
/// BatchNorm γ from N(1, 0.02), β and biases 0. Draws in `parameters.specs` order.
func dcganInitialize(_ parameters: ParameterSet, using rng: inout SeededGenerator) {
    for spec in parameters.specs {
        let t = parameters.value(spec.name)
        if spec.name.hasPrefix("bn") && spec.name.hasSuffix(".weight") {
            for i in 0..<t.count { t.data[i] = rng.normal(mean: 1, std: 0.02) }
        } else if spec.name.hasSuffix(".weight") {
            for i in 0..<t.count { t.data[i] = rng.normal(mean: 0, std: 0.02) }
        } else {
            t.fill(0)
        }
    }
}

/// running_mean 0 and running_var 1, as PyTorch's BatchNorm starts.
func resetStatistics(_ statistics: ParameterSet) {
    for spec in statistics.specs {
        statistics.value(spec.name).fill(spec.name.hasSuffix("running_var") ? 1 : 0)
    }
}
