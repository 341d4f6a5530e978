// The DCGAN discriminator D: image → logit, plus the feature map f(x) the
// paper's discrimination loss reads (output of the last conv block, after its
// activation). The ConvolutionalTrunk (four 5×5 stride-2 conv blocks
// C→w→2w→4w→8w) computes f(x); a linear classifier reads it in its blocked layout.

import NeuralNet
import Records

/// D's outputs for a batch.
public struct DiscriminatorOutput {
    /// N×1 logits (σ(logit) = probability of "real").
    public let logits: Tensor
    /// f(x): N×8w×S/16×S/16, plain NCHW.
    public let features: Tensor
}

/// The DCGAN discriminator. Parameter names and shapes match PyTorch (sizes from DCGANConfig).
public final class Discriminator: Network {
    public let config: DCGANConfig
    /// Trainable: conv1.{weight,bias}, conv{2,3,4}.weight, bn{2,3,4}.{weight,bias}, classify.{weight,bias}.
    public let parameters: ParameterSet
    /// bn{2,3,4}.{running_mean,running_var}.
    public let statistics: ParameterSet
    /// Precision of the trunk's convolutions (the classifier and BatchNorm stay f32).
    public let precision: Precision

    let trunk: ConvolutionalTrunk
    let classify: Linear
    private let inputs = TensorWrapper()
    private var featureGradientSum: DNNLMemory?
    private var lastFeatures: DNNLMemory?
    private var lastInput: Tensor?

    public init(config: DCGANConfig, precision: Precision = .default) {
        self.config = config
        self.precision = precision
        var specs = NetworkSpecs()
        ConvolutionalTrunk.declare(config, into: &specs)
        let features = ConvolutionalTrunk.featureCount(config)
        specs.parameter("classify.weight", [1, features])
        specs.parameter("classify.bias", [1])
        (parameters, statistics) = specs.makeSets()
        trunk = ConvolutionalTrunk(parameters: parameters, statistics: statistics, precision: precision)
        classify = Linear("classify", in: parameters)
    }

    /// x: N×C×S×S (plain) → logits N×1 and features f(x) N×8w×S/16×S/16 (new tensors).
    public func forward(_ x: Tensor, training: Bool) -> DiscriminatorOutput {
        precondition(x.shape.count == 4 && Array(x.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
                     "discriminator input must be N×\(config.channels)×\(config.imageSize)×\(config.imageSize), got \(x.shape)")
        lastInput = x  // the backward pass reads it
        let (logits, features) = forward(inputs.wrap(x), training: training, logits: true)
        return DiscriminatorOutput(logits: logits!.plainCopy(), features: features.plainCopy())
    }

    /// Either gradient may be nil (treated as zero). Returns the gradient w.r.t. x (N×C×S×S).
    /// Accumulates (+=) into parameters.gradients only when weightGradients is true.
    public func backward(gradLogits: Tensor?, gradFeatures: Tensor?, weightGradients: Bool) -> Tensor {
        guard let features = lastFeatures else { preconditionFailure("Discriminator.backward before forward") }
        let gf = gradFeatures.map { features.converting(DNNLMemory(plain: $0)) }
        return backward(gradLogits: gradLogits.map { DNNLMemory(plain: $0) }, gradFeatures: gf,
                        weightGradients: weightGradients, inputGradient: true)!.plainCopy()
    }

    /// Memory-level forward. x: plain N×C×S×S. Returns the logits (plain N×1; nil unless `logits`)
    /// and f(x) in D's internal (blocked) layout; both owned by D until the next forward.
    /// `segments` > 1: x is that many equal consecutive batches that BatchNorm normalises separately
    /// (one pass over real and fake images with the statistics of separate passes).
    func forward(_ x: DNNLMemory, training: Bool, logits wantLogits: Bool, weightsUnchanged: Bool = false,
                 segments: Int = 1) -> (logits: DNNLMemory?, features: DNNLMemory) {
        let h = trunk.forward(x, training: training, weightsUnchanged: weightsUnchanged, segments: segments)
        lastFeatures = h
        return (wantLogits ? classify.forward(h, weightsUnchanged: weightsUnchanged) : nil, h)
    }

    /// Memory-level backward of the last forward. `gradLogits` plain N×1; `gradFeatures` in the layout of
    /// the features the forward returned. Returns dL/dx (plain) when `inputGradient`.
    @discardableResult
    func backward(gradLogits: DNNLMemory?, gradFeatures: DNNLMemory?, weightGradients: Bool, inputGradient: Bool,
                  weightsUnchanged: Bool = false) -> DNNLMemory? {
        guard let features = lastFeatures else { preconditionFailure("Discriminator.backward before forward") }
        var g: DNNLMemory
        switch (gradLogits, gradFeatures) {
        case (nil, nil):
            g = zeroGradient(like: features)
        case (nil, let f?):
            g = f
        case (let l?, let f):
            g = classify.backward(l, weightGradients: weightGradients, weightsUnchanged: weightsUnchanged)!
            if let f {
                precondition(f.hasSameLayout(as: g), "feature gradient must have the features' layout")
                let sum = sumBuffer(like: g)
                let a = g.data, b = f.data, out = sum.data
                for i in 0..<sum.physicalCount { out[i] = a[i] + b[i] }
                g = sum
            }
        }
        return trunk.backward(g, weightGradients: weightGradients, inputGradient: inputGradient, weightsUnchanged: weightsUnchanged)
    }

    private func sumBuffer(like m: DNNLMemory) -> DNNLMemory {
        if let s = featureGradientSum, s.hasSameLayout(as: m) { return s }
        let s = DNNLMemory(desc: m.desc)
        featureGradientSum = s
        return s
    }

    private func zeroGradient(like m: DNNLMemory) -> DNNLMemory {
        let s = sumBuffer(like: m)
        s.data.update(repeating: 0, count: s.physicalCount)
        return s
    }
}
