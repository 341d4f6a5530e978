// The convolutional trunk shared by the discriminator and the aCAE encoder:
// four 5×5 stride-2 convolutions C→w→2w→4w→8w, LeakyReLU(0.2) fused into the
// first (which has a bias), BatchNorm + LeakyReLU after the other three (which
// have none, as BatchNorm's β takes that role). The trunk owns no parameters:
// its layers are views of the owning network's ParameterSets, whose names and
// order (conv1.{weight,bias}, then conv{i}.weight, bn{i}.{weight,bias} for
// i = 2…4; bn{i}.{running_mean,running_var}) checkpoints and the PyTorch
// fixtures rely on. Each network appends its own head after these specs.
// The channels are the config's ladder (DCGANConfig+Ladder.swift).

import NeuralNet
import Records

/// Four conv blocks image N×C×S×S → features N×8w×S/16×S/16 (oneDNN's blocked layout).
final class ConvolutionalTrunk {
    let convs: [Conv2d]
    let norms: [BatchNorm2d]
    let activations: [Activation]

    /// Features per image at the trunk's output: 8w·(S/16)².
    static func featureCount(_ config: DCGANConfig) -> Int { config.ladder.last! * config.baseSize * config.baseSize }

    /// Declares the trunk's tensors (before the owning network's head); each network appends its head after them.
    static func declare(_ config: DCGANConfig, into specs: inout NetworkSpecs) {
        precondition((try? config.validate()) != nil, "invalid DCGAN config \(config)")
        let ch = [config.channels] + config.ladder
        specs.parameter("conv1.weight", [ch[1], ch[0], 5, 5])
        specs.parameter("conv1.bias", [ch[1]])
        for i in 2...4 {
            specs.parameter("conv\(i).weight", [ch[i], ch[i - 1], 5, 5])
            specs.batchNorm("bn\(i)", channels: ch[i])
        }
    }

    /// Layers over views of `parameters` and `statistics` (declared by `declare`).
    init(parameters p: ParameterSet, statistics st: ParameterSet, precision: Precision) {
        convs = (1...4).map { i in
            Conv2d("conv\(i)", in: p, stride: 2, padding: 2, activation: i == 1 ? .leakyReLU(slope: 0.2) : nil,
                   precision: precision.forLayer(touchingImages: i == 1))
        }
        norms = (2...4).map { BatchNorm2d("bn\($0)", in: p, statistics: st) }
        activations = (2...4).map { _ in Activation(.leakyReLU(slope: 0.2)) }
    }

    /// x plain N×C×S×S → features in the trunk's blocked layout, owned by the trunk until the next forward.
    /// `segments` > 1: x is that many equal consecutive batches that BatchNorm normalises separately.
    func forward(_ x: DNNLMemory, training: Bool, weightsUnchanged: Bool = false, segments: Int = 1) -> DNNLMemory {
        var h = convs[0].forward(x, weightsUnchanged: weightsUnchanged)
        for i in 0..<3 {
            h = activations[i].forward(norms[i].forward(convs[i + 1].forward(h, weightsUnchanged: weightsUnchanged),
                                                        training: training, segments: segments))
        }
        return h
    }

    /// Backward of the last forward: dL/d(features) in the features' layout → dL/dx (plain) when `inputGradient`.
    /// Accumulates (+=) into the parameter gradients only when `weightGradients`.
    func backward(_ gradFeatures: DNNLMemory, weightGradients: Bool, inputGradient: Bool,
                  weightsUnchanged: Bool = false) -> DNNLMemory? {
        var g = gradFeatures
        for i in stride(from: 2, through: 0, by: -1) {
            g = activations[i].backward(g)
            g = norms[i].backward(g, weightGradients: weightGradients)
            g = convs[i + 1].backward(g, weightGradients: weightGradients, weightsUnchanged: weightsUnchanged)!
        }
        return convs[0].backward(g, weightGradients: weightGradients, inputGradient: inputGradient, weightsUnchanged: weightsUnchanged)
    }
}
