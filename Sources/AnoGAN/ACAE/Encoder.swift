// The encoder of the adversarial convolutional autoencoder (aCAE, paper §3 (3)):
// image → code in [-1,1]^latentDimension. It shares the discriminator's
// ConvolutionalTrunk (four 5×5 stride-2 conv blocks C→w→2w→4w→8w) and ends in
// a linear layer to the code with tanh, so its output lives where the
// generator's z does and the Generator can decode it.

import NeuralNet
import Records

/// The aCAE encoder. Parameter names follow the discriminator's (conv1…conv4, bn2…bn4)
/// plus `code.{weight,bias}` [latent, 8w·s·s], [latent].
public final class Encoder: Network {
    public let config: DCGANConfig
    /// Trainable: conv1.{weight,bias}, conv{2,3,4}.weight, bn{2,3,4}.{weight,bias}, code.{weight,bias}.
    public let parameters: ParameterSet
    /// bn{2,3,4}.{running_mean,running_var}.
    public let statistics: ParameterSet
    /// Precision of the trunk's convolutions (the code layer and BatchNorm stay f32).
    public let precision: Precision

    let trunk: ConvolutionalTrunk
    let code: Linear
    let squash = Activation(.tanh)
    private let inputs = TensorWrapper()
    private let gradients = TensorWrapper()

    public init(config: DCGANConfig, precision: Precision = .default) {
        self.config = config
        self.precision = precision
        var specs = NetworkSpecs()
        ConvolutionalTrunk.declare(config, into: &specs)
        let features = ConvolutionalTrunk.featureCount(config)
        specs.parameter("code.weight", [config.latentDimension, features])
        specs.parameter("code.bias", [config.latentDimension])
        (parameters, statistics) = specs.makeSets()
        trunk = ConvolutionalTrunk(parameters: parameters, statistics: statistics, precision: precision)
        code = Linear("code", in: parameters)
    }

    /// x: N×C×S×S in [-1, 1] → codes N×latentDimension in (-1, 1) (tanh), a new tensor.
    /// training=true: BN batch statistics, running stats updated; false: running stats.
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(inputs.wrap(x), training: training).plainCopy()
    }

    /// dL/d(codes) of the last forward (N×latent) → dL/dx (N×C×S×S).
    /// Accumulates (+=) into parameters.gradients only when weightGradients is true.
    public func backward(_ gradCodes: Tensor, weightGradients: Bool) -> Tensor {
        backward(gradients.wrap(gradCodes), weightGradients: weightGradients, inputGradient: true)!.plainCopy()
    }

    /// Memory-level forward: x plain N×C×S×S → codes plain N×latent, owned by the encoder until the next forward.
    func forward(_ x: DNNLMemory, training: Bool) -> DNNLMemory {
        precondition(x.dims.count == 4 && Array(x.dims.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
                     "encoder input must be N×\(config.channels)×\(config.imageSize)×\(config.imageSize), got \(x.dims)")
        return squash.forward(code.forward(trunk.forward(x, training: training)))
    }

    /// Memory-level backward of the last forward: dL/d(codes) (plain N×latent) → dL/dx (plain) when `inputGradient`.
    @discardableResult
    func backward(_ gradCodes: DNNLMemory, weightGradients: Bool, inputGradient: Bool) -> DNNLMemory? {
        let g = code.backward(squash.backward(gradCodes), weightGradients: weightGradients)!
        return trunk.backward(g, weightGradients: weightGradients, inputGradient: inputGradient)
    }
}
