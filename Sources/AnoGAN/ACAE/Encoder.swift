// The encoder of the adversarial convolutional autoencoder (aCAE, paper §3 (3)):
// image → code in [-1,1]^latentDimension. It mirrors the discriminator's trunk
// (four 5×5 stride-2 convolutions C→w→2w→4w→8w, LeakyReLU(0.2), BatchNorm on
// all but the first) and ends in a linear layer to the code with tanh, so its
// output lives where the generator's z does and the Generator can decode it.

import NeuralNet

/// The aCAE encoder. Parameter names follow the discriminator's (conv1…conv4, bn2…bn4)
/// plus `code.{weight,bias}` [latent, 8w·s·s], [latent].
public final class Encoder {
    public let config: DCGANConfig
    /// Trainable: conv1.{weight,bias}, conv{2,3,4}.weight, bn{2,3,4}.{weight,bias}, code.{weight,bias}.
    public let parameters: ParameterSet
    /// bn{2,3,4}.{running_mean,running_var}.
    public let statistics: ParameterSet

    let convs: [Conv2d]
    let norms: [BatchNorm2d]
    let activations: [Activation]
    let code: Linear
    let squash = Activation(.tanh)
    private let inputs = TensorWrapper()
    private let gradients = TensorWrapper()

    public init(config: DCGANConfig) {
        precondition((try? config.validate()) != nil, "invalid DCGAN config \(config)")
        self.config = config
        let w = config.width, s = config.baseSize, c = config.channels
        let channels = [c, w, 2 * w, 4 * w, 8 * w]
        var specs = [ParameterSpec(name: "conv1.weight", shape: [w, c, 5, 5]), ParameterSpec(name: "conv1.bias", shape: [w])]
        var stats: [ParameterSpec] = []
        for i in 2...4 {
            specs += [ParameterSpec(name: "conv\(i).weight", shape: [channels[i], channels[i - 1], 5, 5]),
                      ParameterSpec(name: "bn\(i).weight", shape: [channels[i]]), ParameterSpec(name: "bn\(i).bias", shape: [channels[i]])]
            stats += [ParameterSpec(name: "bn\(i).running_mean", shape: [channels[i]]), ParameterSpec(name: "bn\(i).running_var", shape: [channels[i]])]
        }
        specs += [ParameterSpec(name: "code.weight", shape: [config.latentDimension, 8 * w * s * s]),
                  ParameterSpec(name: "code.bias", shape: [config.latentDimension])]
        let p = ParameterSet(specs), st = ParameterSet(stats)
        parameters = p
        statistics = st
        resetStatistics(st)
        convs = (1...4).map { i in
            Conv2d(inputChannels: channels[i - 1], outputChannels: channels[i], kernelSize: 5, stride: 2, padding: 2,
                   weight: p.value("conv\(i).weight"), bias: i == 1 ? p.value("conv1.bias") : nil,
                   weightGradient: p.gradient("conv\(i).weight"), biasGradient: i == 1 ? p.gradient("conv1.bias") : nil,
                   activation: i == 1 ? .leakyReLU(slope: 0.2) : nil)
        }
        norms = (2...4).map { i in
            BatchNorm2d(channels: channels[i], weight: p.value("bn\(i).weight"), bias: p.value("bn\(i).bias"),
                        runningMean: st.value("bn\(i).running_mean"), runningVariance: st.value("bn\(i).running_var"),
                        weightGradient: p.gradient("bn\(i).weight"), biasGradient: p.gradient("bn\(i).bias"))
        }
        activations = (2...4).map { _ in Activation(.leakyReLU(slope: 0.2)) }
        code = Linear(inputFeatures: 8 * w * s * s, outputFeatures: config.latentDimension,
                      weight: p.value("code.weight"), bias: p.value("code.bias"),
                      weightGradient: p.gradient("code.weight"), biasGradient: p.gradient("code.bias"))
    }

    /// DCGAN initialisation: W ~ N(0, 0.02), BN γ ~ N(1, 0.02), β = 0, biases 0; running stats reset.
    public func initialize(using rng: inout SeededGenerator) {
        dcganInitialize(parameters, using: &rng)
        resetStatistics(statistics)
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
        var h = convs[0].forward(x)
        for i in 0..<3 {
            h = activations[i].forward(norms[i].forward(convs[i + 1].forward(h), training: training))
        }
        return squash.forward(code.forward(h))
    }

    /// Memory-level backward of the last forward: dL/d(codes) (plain N×latent) → dL/dx (plain) when `inputGradient`.
    @discardableResult
    func backward(_ gradCodes: DNNLMemory, weightGradients: Bool, inputGradient: Bool) -> DNNLMemory? {
        var g = code.backward(squash.backward(gradCodes), weightGradients: weightGradients)!
        for i in stride(from: 2, through: 0, by: -1) {
            g = activations[i].backward(g)
            g = norms[i].backward(g, weightGradients: weightGradients)
            g = convs[i + 1].backward(g, weightGradients: weightGradients)!
        }
        return convs[0].backward(g, weightGradients: weightGradients, inputGradient: inputGradient)
    }
}
