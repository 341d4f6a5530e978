// The DCGAN architecture's size parameters (paper: latent 100, 64×64, width 64).
// A plain record: checkpoints and score runs store it, the networks (AnoGAN) are
// built from it. The DCGAN initialisation lives with the networks (AnoGAN/Networks/DCGANInitialization.swift).

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

    /// The channel ladder, in one place: output channels of D's four convolutions (and the aCAE
    /// encoder's), w, 2w, 4w, 8w; G's hidden layers are the same reversed (paper: 64-128-256-512).
    public var ladder: [Int] { [1, 2, 4, 8].map { $0 * width } }

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
    public init(_ message: String) { description = message }
}
