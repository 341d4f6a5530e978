// The DCGAN generator G: z ∈ [-1,1]^100 → 64×64 image in [-1,1] (paper §2).
// Linear projection → 4×4×8w, then four 5×5 stride-2 transposed convolutions
// 8w→4w→2w→w→C with BatchNorm+ReLU between (fused) and tanh at the end (fused).
// Hidden activations stay in oneDNN's blocked layout; only z and the image are plain.

import NeuralNet
import Records

/// The DCGAN generator. Parameter names and shapes match PyTorch (sizes from DCGANConfig).
public final class Generator: Network {
    public let config: DCGANConfig
    /// Trainable: project.weight, bn{0..3}.{weight,bias}, deconv{1..4}.weight, deconv4.bias.
    public let parameters: ParameterSet
    /// BatchNorm running statistics: bn{0..3}.{running_mean,running_var}.
    public let statistics: ParameterSet
    /// Precision of the transposed convolutions (the last, the projection and BatchNorm stay f32).
    public let precision: Precision

    let project: Linear
    let norms: [BatchNorm2d]
    let deconvs: [ConvTranspose2d]
    private let toBlocked = LayoutConverter(.blocked)
    private let toPlain = LayoutConverter(.plain)
    private let inputs = TensorWrapper()
    private let gradients = TensorWrapper()

    public init(config: DCGANConfig, precision: Precision = .default) {
        precondition((try? config.validate()) != nil, "invalid DCGAN config \(config)")
        self.config = config
        self.precision = precision
        let hidden = Array(config.ladder.reversed()), s = config.baseSize
        var specs = NetworkSpecs()
        specs.parameter("project.weight", [hidden[0] * s * s, config.latentDimension])
        for i in 0..<4 {
            specs.batchNorm("bn\(i)", channels: hidden[i])
            specs.parameter("deconv\(i + 1).weight", [hidden[i], i < 3 ? hidden[i + 1] : config.channels, 5, 5])
        }
        specs.parameter("deconv4.bias", [config.channels])
        (parameters, statistics) = specs.makeSets()
        let p = parameters, st = statistics
        project = Linear("project", in: p)
        norms = (0..<4).map { BatchNorm2d("bn\($0)", in: p, statistics: st, fusedReLU: true) }
        deconvs = (1...4).map { i in
            ConvTranspose2d("deconv\(i)", in: p, stride: 2, padding: 2, outputPadding: 1,
                            activation: i == 4 ? .tanh : nil, plainOutput: i == 4,
                            precision: precision.forLayer(touchingImages: i == 4))
        }
    }

    /// z: N×latentDimension → images N×channels×imageSize×imageSize in [-1, 1] (tanh), a new tensor.
    /// training=true: BN batch statistics, running stats updated; false: running stats.
    public func forward(_ z: Tensor, training: Bool) -> Tensor {
        lastInput = z  // the backward pass reads it
        return forward(inputs.wrap(z), training: training).plainCopy()
    }
    private var lastInput: Tensor?

    /// Gradient of the loss w.r.t. the last forward's output (N×C×S×S) → gradient w.r.t. z (N×latent).
    /// Accumulates (+=) into parameters.gradients only when weightGradients is true.
    public func backward(_ gradOutput: Tensor, weightGradients: Bool) -> Tensor {
        backward(gradients.wrap(gradOutput), weightGradients: weightGradients).plainCopy()
    }

    /// Memory-level forward: z plain N×latent → image memory (plain NCHW), owned by G and
    /// overwritten by the next forward. `weightsUnchanged` skips re-laying out weights that did not change.
    func forward(_ z: DNNLMemory, training: Bool, weightsUnchanged: Bool = false) -> DNNLMemory {
        precondition(z.dims.count == 2 && z.dims[1] == config.latentDimension, "generator input must be N×\(config.latentDimension), got \(z.dims)")
        let n = z.dims[0], s = config.baseSize
        let projected = project.forward(z, weightsUnchanged: weightsUnchanged).reinterpreted(as: [n, norms[0].channels, s, s])
        var h = norms[0].forward(toBlocked.convert(projected), training: training)
        for i in 0..<3 {
            h = norms[i + 1].forward(deconvs[i].forward(h, weightsUnchanged: weightsUnchanged), training: training)
        }
        return deconvs[3].forward(h, weightsUnchanged: weightsUnchanged)
    }

    /// Memory-level backward of the last forward: dL/d(image) (plain NCHW) → dL/dz (plain N×latent, owned by G).
    func backward(_ gradOutput: DNNLMemory, weightGradients: Bool, weightsUnchanged: Bool = false) -> DNNLMemory {
        var g = deconvs[3].backward(gradOutput, weightGradients: weightGradients, weightsUnchanged: weightsUnchanged)!
        for i in stride(from: 2, through: 0, by: -1) {
            g = norms[i + 1].backward(g, weightGradients: weightGradients)
            g = deconvs[i].backward(g, weightGradients: weightGradients, weightsUnchanged: weightsUnchanged)!
        }
        g = norms[0].backward(g, weightGradients: weightGradients)
        let flat = toPlain.convert(g).reinterpreted(as: [g.dims[0], g.dims.dropFirst().reduce(1, *)])
        return project.backward(flat, weightGradients: weightGradients, weightsUnchanged: weightsUnchanged)!
    }
}
