// The DCGAN generator G: z ∈ [-1,1]^100 → 64×64 image in [-1,1] (paper §2).
// Linear projection → 4×4×8w, then four 5×5 stride-2 transposed convolutions
// 8w→4w→2w→w→C with BatchNorm+ReLU between (fused) and tanh at the end (fused).
// Hidden activations stay in oneDNN's blocked layout; only z and the image are plain.

import NeuralNet
import Records

/// The DCGAN generator. Parameter names and shapes match PyTorch (sizes from DCGANConfig).
public final class Generator {
    public let config: DCGANConfig
    /// Trainable: project.weight, bn{0..3}.{weight,bias}, deconv{1..4}.weight, deconv4.bias.
    public let parameters: ParameterSet
    /// BatchNorm running statistics: bn{0..3}.{running_mean,running_var}.
    public let statistics: ParameterSet

    let project: Linear
    let norms: [BatchNorm2d]
    let deconvs: [ConvTranspose2d]
    private let toBlocked = LayoutConverter(.blocked)
    private let toPlain = LayoutConverter(.plain)
    private let inputs = TensorWrapper()
    private let gradients = TensorWrapper()

    public init(config: DCGANConfig) {
        precondition((try? config.validate()) != nil, "invalid DCGAN config \(config)")
        self.config = config
        let w = config.width, s = config.baseSize, c = config.channels
        let hidden = [8 * w, 4 * w, 2 * w, w]
        var specs = [ParameterSpec(name: "project.weight", shape: [8 * w * s * s, config.latentDimension])]
        var stats: [ParameterSpec] = []
        for i in 0..<4 {
            specs += [ParameterSpec(name: "bn\(i).weight", shape: [hidden[i]]), ParameterSpec(name: "bn\(i).bias", shape: [hidden[i]])]
            stats += [ParameterSpec(name: "bn\(i).running_mean", shape: [hidden[i]]), ParameterSpec(name: "bn\(i).running_var", shape: [hidden[i]])]
            let out = i < 3 ? hidden[i + 1] : c
            specs.append(ParameterSpec(name: "deconv\(i + 1).weight", shape: [hidden[i], out, 5, 5]))
            if i == 3 { specs.append(ParameterSpec(name: "deconv4.bias", shape: [c])) }
        }
        let p = ParameterSet(specs)
        parameters = p
        let st = ParameterSet(stats)
        statistics = st
        resetStatistics(st)
        project = Linear(inputFeatures: config.latentDimension, outputFeatures: 8 * w * s * s,
                         weight: p.value("project.weight"), weightGradient: p.gradient("project.weight"))
        norms = (0..<4).map { i in
            BatchNorm2d(channels: hidden[i], weight: p.value("bn\(i).weight"), bias: p.value("bn\(i).bias"),
                        runningMean: st.value("bn\(i).running_mean"), runningVariance: st.value("bn\(i).running_var"),
                        weightGradient: p.gradient("bn\(i).weight"), biasGradient: p.gradient("bn\(i).bias"), fusedReLU: true)
        }
        deconvs = (0..<4).map { i in
            let last = i == 3
            let name = "deconv\(i + 1)"
            return ConvTranspose2d(inputChannels: hidden[i], outputChannels: last ? c : hidden[i + 1], kernelSize: 5, stride: 2, padding: 2,
                                   outputPadding: 1, weight: p.value("\(name).weight"), bias: last ? p.value("deconv4.bias") : nil,
                                   weightGradient: p.gradient("\(name).weight"), biasGradient: last ? p.gradient("deconv4.bias") : nil,
                                   activation: last ? .tanh : nil, plainOutput: last)
        }
    }

    /// DCGAN initialisation: W ~ N(0, 0.02), BN γ ~ N(1, 0.02), β = 0, biases 0; running stats reset.
    public func initialize(using rng: inout SeededGenerator) {
        dcganInitialize(parameters, using: &rng)
        resetStatistics(statistics)
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
        let n = z.dims[0], w = config.width, s = config.baseSize
        let projected = project.forward(z, weightsUnchanged: weightsUnchanged).reinterpreted(as: [n, 8 * w, s, s])
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
