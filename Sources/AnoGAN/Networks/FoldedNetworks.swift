// Inference-mode copies of G and D for the latent mapping. With BatchNorm on
// running statistics, BN is a per-channel affine map, so it folds into the
// preceding (transposed) convolution or linear layer: W′ = W·γ/√(σ²+ε),
// b′ = β − μ·γ/√(σ²+ε). The activation then fuses into that layer as a oneDNN
// post-op, so each block is one primitive forward and two backward instead
// of three and three — the mapping runs hundreds of steps per batch.
// The folded copies hold their own weights; `refresh()` recomputes them.

import NeuralNet

/// Per-channel scale and shift of an inference-mode BatchNorm.
private func batchNormAffine(_ p: ParameterSet, _ s: ParameterSet, _ name: String, epsilon: Float = 1e-5) -> (scale: [Float], shift: [Float]) {
    let g = p.value("\(name).weight"), b = p.value("\(name).bias")
    let m = s.value("\(name).running_mean"), v = s.value("\(name).running_var")
    var scale = [Float](repeating: 0, count: g.count), shift = scale
    for c in 0..<g.count {
        scale[c] = g[c] / (v[c] + epsilon).squareRoot()
        shift[c] = b[c] - m[c] * scale[c]
    }
    return (scale, shift)
}

/// G in inference mode with every BatchNorm folded into the layer before it.
final class FoldedGenerator {
    let source: Generator
    private let weights: [Tensor]   // project, deconv1…4 (folded)
    private let biases: [Tensor]    // project, deconv1…4
    private let project: Linear
    private let projectActivation = Activation(.relu)
    private let deconvs: [ConvTranspose2d]

    init(_ g: Generator) {
        source = g
        let c = g.config, w = c.width, s = c.baseSize
        let hidden = [8 * w, 4 * w, 2 * w, w]
        weights = [Tensor(shape: [8 * w * s * s, c.latentDimension])] + (0..<4).map { i in Tensor(shape: [hidden[i], i < 3 ? hidden[i + 1] : c.channels, 5, 5]) }
        biases = [Tensor(shape: [8 * w * s * s])] + (0..<4).map { i in Tensor(shape: [i < 3 ? hidden[i + 1] : c.channels]) }
        project = Linear(inputFeatures: c.latentDimension, outputFeatures: 8 * w * s * s, weight: weights[0], bias: biases[0])
        deconvs = (0..<4).map { [weights, biases] i in
            ConvTranspose2d(inputChannels: hidden[i], outputChannels: i < 3 ? hidden[i + 1] : c.channels, kernelSize: 5, stride: 2, padding: 2,
                            outputPadding: 1, weight: weights[i + 1], bias: biases[i + 1], activation: i < 3 ? .relu : .tanh, plainOutput: i == 3)
        }
        refresh()
    }

    /// Recomputes the folded weights from G's current parameters and running statistics.
    func refresh() {
        let p = source.parameters, st = source.statistics
        // project → bn0: output row r belongs to channel r / (s·s).
        let (s0, t0) = batchNormAffine(p, st, "bn0")
        let pw = p.value("project.weight"), latent = pw.shape[1], perChannel = pw.shape[0] / s0.count
        for r in 0..<pw.shape[0] {
            let ch = r / perChannel
            for k in 0..<latent { weights[0].data[r * latent + k] = pw.data[r * latent + k] * s0[ch] }
            biases[0].data[r] = t0[ch]
        }
        // deconv_i → bn_i (i = 1…3): scale output channel o (dim 1 of IOHW).
        for i in 1...4 {
            let w = p.value("deconv\(i).weight"), out = w.shape[1], taps = 25
            let affine: (scale: [Float], shift: [Float]) = i < 4 ? batchNormAffine(p, st, "bn\(i)")
                : ([Float](repeating: 1, count: out), p.value("deconv4.bias").array)
            for ci in 0..<w.shape[0] { for o in 0..<out { for t in 0..<taps {
                let k = (ci * out + o) * taps + t
                weights[i].data[k] = w.data[k] * affine.scale[o]
            } } }
            for o in 0..<out { biases[i].data[o] = affine.shift[o] }
        }
    }

    /// z plain N×latent → image (plain NCHW), owned until the next forward.
    func forward(_ z: DNNLMemory, weightsUnchanged: Bool) -> DNNLMemory {
        let c = source.config, n = z.dims[0]
        var h = projectActivation.forward(project.forward(z, weightsUnchanged: weightsUnchanged))
            .reinterpreted(as: [n, 8 * c.width, c.baseSize, c.baseSize])
        for d in deconvs { h = d.forward(h, weightsUnchanged: weightsUnchanged) }
        return h
    }

    /// dL/d(image) (plain NCHW) → dL/dz (plain N×latent). No weight gradients.
    func backward(_ gradOutput: DNNLMemory, weightsUnchanged: Bool) -> DNNLMemory {
        var g = gradOutput
        for d in deconvs.reversed() { g = d.backward(g, weightGradients: false, weightsUnchanged: weightsUnchanged)! }
        let flat = LayoutConverter.plainFlat(g, converter: toPlain)
        return project.backward(projectActivation.backward(flat), weightGradients: false, weightsUnchanged: weightsUnchanged)!
    }

    private let toPlain = LayoutConverter(.plain)
}

/// D in inference mode with every BatchNorm folded into the convolution before it.
final class FoldedDiscriminator {
    let source: Discriminator
    private let weights: [Tensor]
    private let biases: [Tensor]
    private let convs: [Conv2d]

    init(_ d: Discriminator) {
        source = d
        let c = d.config, w = c.width
        let ch = [c.channels, w, 2 * w, 4 * w, 8 * w]
        weights = (1...4).map { Tensor(shape: [ch[$0], ch[$0 - 1], 5, 5]) }
        biases = (1...4).map { Tensor(shape: [ch[$0]]) }
        convs = (1...4).map { [weights, biases] i in
            Conv2d(inputChannels: ch[i - 1], outputChannels: ch[i], kernelSize: 5, stride: 2, padding: 2,
                   weight: weights[i - 1], bias: biases[i - 1], activation: .leakyReLU(slope: 0.2))
        }
        refresh()
    }

    /// Recomputes the folded weights from D's current parameters and running statistics.
    func refresh() {
        let p = source.parameters, st = source.statistics
        for i in 1...4 {
            let w = p.value("conv\(i).weight"), out = w.shape[0], per = w.count / out
            let affine: (scale: [Float], shift: [Float]) = i > 1 ? batchNormAffine(p, st, "bn\(i)")
                : ([Float](repeating: 1, count: out), p.value("conv1.bias").array)
            for o in 0..<out {
                for k in 0..<per { weights[i - 1].data[o * per + k] = w.data[o * per + k] * affine.scale[o] }
                biases[i - 1].data[o] = affine.shift[o]
            }
        }
    }

    /// x plain N×C×S×S → (logits plain N×1 if asked, features f(x) in D's blocked layout).
    func forward(_ x: DNNLMemory, logits: Bool, weightsUnchanged: Bool) -> (logits: DNNLMemory?, features: DNNLMemory) {
        var h = x
        for c in convs { h = c.forward(h, weightsUnchanged: weightsUnchanged) }
        return (logits ? source.classify.forward(h, weightsUnchanged: weightsUnchanged) : nil, h)
    }

    /// Gradient w.r.t. x (plain) from dL/dlogits (plain N×1) or dL/df (features' layout). No weight gradients.
    func backward(gradLogits: DNNLMemory?, gradFeatures: DNNLMemory?, weightsUnchanged: Bool) -> DNNLMemory {
        var g: DNNLMemory
        if let gl = gradLogits {
            precondition(gradFeatures == nil, "folded D takes one gradient")
            g = source.classify.backward(gl, weightGradients: false, weightsUnchanged: weightsUnchanged)!
        } else {
            g = gradFeatures!
        }
        for c in convs.reversed() { g = c.backward(g, weightGradients: false, weightsUnchanged: weightsUnchanged)! }
        return g
    }
}
